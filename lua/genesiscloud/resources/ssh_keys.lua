--- SSH keys: bare objects (no envelope), no status (so no waits), found by
-- name. Update changes the name only.
-- @module genesiscloud.resources.ssh_keys
return {
  name = "ssh_key",
  plural = "ssh_keys",
  cli = "ssh-keys",
  path = "/ssh-keys",
  list_key = "ssh_keys",
  envelope = false,
  operations = { list = {}, get = {}, create = {}, update = {}, delete = {} },
  -- PUT per the 2023-07 contract; a 405 switches SSH keys (only) to PATCH.
  update_method = "auto",
  identity = "name",
  fields = {
    name = { type = "string", required = true, max = 255, doc = "Human-readable name" },
    value = { type = "string", required = true, create_only = true, doc = "SSH public key" },
  },
}
