--- Quotas (since 2025-02): read only, one list answered whole (not
-- paginated), so a walk makes one request.
-- @module genesiscloud.resources.quotas
return {
  name = "quota",
  plural = "quotas",
  cli = "quotas",
  path = "/quotas",
  list_key = "quotas",
  envelope = false,
  operations = { list = { paginated = false } },
}
