--- Availability of instance types in one region: one object under
-- `availability`, addressed by a path parameter, not paginated.
-- @module genesiscloud.resources.availability
return {
  name = "availability",
  plural = "availability",
  cli = "availability",
  path = "/availability",
  envelope = "availability",
  operations = {
    get = { path = "/availability/{region}/instances", params = { "region" } },
  },
}
