--- The resize of volumes and filesystems (`client.volumes:resize(id, size)`):
-- the API only grows them (`PATCH /volumes/{id}` with `size` >= the current
-- size, since 2024-10), so the object is read first and a smaller size is
-- refused before anything is sent.
-- @module genesiscloud.resources.grow_only
local errors = require "genesiscloud.errors"
local validate = require "genesiscloud.validate"

local grow_only = {}

--- The `before` hook of a resize call: reads object `id` through the
-- collection `svc` and refuses a `body.size` below its size.
-- -> true | nil, err (the read's error, or kind "validation", field "size")
function grow_only.check(svc, id, body)
  local object, err = svc:get(id)
  if not object then return nil, err end
  local current, what = object.size, svc.def.name:gsub("_", " ")
  if type(current) ~= "number" then
    return nil, errors.new{ kind = "decode", method = "GET", path = svc.def.path .. "/" .. id,
      message = ("%s %s in the response has no size (got %s): cannot tell whether %d GiB grows it")
        :format(what, id, validate.describe(current), body.size) }
  end
  if body.size < current then
    return validate.fail("size", body.size, ("size can only grow: %s %s is %d GiB, %d GiB would shrink it"
      .. " (nothing was sent)"):format(what, id, current, body.size))
  end
  return true
end

return grow_only
