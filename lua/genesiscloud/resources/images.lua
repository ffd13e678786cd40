--- Images: read-only, listed only (there is no single-image endpoint).
-- @module genesiscloud.resources.images
return {
  name = "image",
  plural = "images",
  cli = "images",
  path = "/images",
  list_key = "images",
  envelope = false,
  operations = { list = {} },
  query = {
    type = { type = "string", enum = { "base-os", "preconfigured", "snapshot", "cloud-image" },
      doc = "Only images of this type" },
  },
}
