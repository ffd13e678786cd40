--- Checks of an instance spec, run before anything is sent: the create
-- body (name, hostname, type, image, region; `ssh_keys` or `password`;
-- `metadata`) and the PATCH body (name, `is_protected`, `disk_size`,
-- `reservation_id`, security groups and volumes as a full list or as
-- `{ attach = id }` / `{ detach = id }`). Rules from the 2023-07 contract
-- and the API since (docs/resources.md, "Instances").
-- @module genesiscloud.resources.instances.instance_checks
local generic = require "genesiscloud.validate"

local validate = {}
local fail, describe = generic.fail, generic.describe

--- The largest `metadata.startup_script`, in bytes (64 KiB).
validate.STARTUP_SCRIPT_MAX = 64 * 1024
validate.PASSWORD_MIN, validate.PASSWORD_MAX = 8, 72
--- The longest hostname (RFC 1123: 253 characters, labels of 1..63).
validate.HOSTNAME_MAX, validate.LABEL_MAX = 253, 63

-- Every key a create body may hold, and the checker of each (all optional
-- here; required ones are checked first).
local function string_field(value, field) return generic.string(value, field, { optional = true, non_empty = true }) end
local function boolean_field(value, field)
  if value == nil or type(value) == "boolean" then return true end
  return fail(field, value, ("%s must be true or false, got %s"):format(field, describe(value)))
end
local function size_field(value, field) return generic.integer(value, field, { optional = true, min = 1 }) end

--- One hostname: labels of letters, digits and hyphens, 1..63 characters
-- each, not starting or ending with a hyphen, joined by dots, at most 253
-- characters (RFC 1123 section 2.1, RFC 952). -> true | nil, err
function validate.hostname(value, field)
  field = field or "hostname"
  local ok, err = generic.string(value, field, { non_empty = true })
  if not ok then return nil, err end
  local function bad(why)
    return fail(field, value, ("%s %s is not a valid hostname: %s"):format(field, describe(value), why))
  end
  if #value > validate.HOSTNAME_MAX then return bad("longer than 253 characters") end
  for label in (value .. "."):gmatch("([^.]*)%.") do
    if label == "" then return bad("it has an empty label (two dots, or a dot at either end)") end
    if #label > validate.LABEL_MAX then return bad(("the label %q is longer than 63 characters"):format(label)) end
    if label:find("[^%w%-]") then
      return bad(("the label %q holds a character other than a letter, digit or '-'"):format(label))
    end
    if label:sub(1, 1) == "-" or label:sub(-1) == "-" then
      return bad(("the label %q starts or ends with '-'"):format(label))
    end
  end
  return true
end

--- A password: 8..72 characters mixing upper and lower case letters and
-- digits (the API's rule). -> true | nil, err
function validate.password(value, field)
  field = field or "password"
  if type(value) ~= "string" then
    return fail(field, nil, ("%s must be a string, got %s"):format(field, type(value)))
  end
  -- The value itself never goes into a message or an error object.
  local n = #value
  if n < validate.PASSWORD_MIN or n > validate.PASSWORD_MAX then
    return fail(field, nil, ("%s must be 8 to 72 characters long, got %d"):format(field, n))
  end
  if not (value:find("%u") and value:find("%l") and value:find("%d")) then
    return fail(field, nil, field .. " must mix upper case letters, lower case letters and digits")
  end
  return true
end

--- A list of ids (strings, none empty); `non_empty` when the API wants one.
function validate.ids(value, field, opts)
  local ok, err = generic.array(value, field, opts)
  if not ok or value == nil then return ok, err end
  for i, id in ipairs(value) do
    ok, err = generic.string(id, ("%s[%d]"):format(field, i), { non_empty = true })
    if not ok then return nil, err end
  end
  return true
end

-- `metadata`: an object with at least one of `startup_script` (<= 64 KiB)
-- and `user_data` (a list of { type, content, filename? }).
local function metadata(value, field)
  if value == nil then return true end
  if type(value) ~= "table" or (next(value) ~= nil and value[1] ~= nil) then
    return fail(field, value, ("%s must be an object, got %s"):format(field, describe(value)))
  end
  local ok, err = generic.known_keys(value, field, { "startup_script", "user_data" })
  if not ok then return nil, err end
  if next(value) == nil then
    return fail(field, value, field .. " must hold at least one key (startup_script, user_data)")
  end
  local script = value.startup_script
  ok, err = generic.string(script, field .. ".startup_script", { optional = true })
  if not ok then return nil, err end
  if script and #script > validate.STARTUP_SCRIPT_MAX then
    return fail(field .. ".startup_script", nil, ("%s.startup_script must be at most 64 KiB (%d bytes), got %d bytes")
      :format(field, validate.STARTUP_SCRIPT_MAX, #script))
  end
  ok, err = generic.array(value.user_data, field .. ".user_data", { optional = true })
  if not ok then return nil, err end
  for i, part in ipairs(value.user_data or {}) do
    local at = ("%s.user_data[%d]"):format(field, i)
    if type(part) ~= "table" then return fail(at, part, at .. " must be an object, got " .. describe(part)) end
    ok, err = generic.known_keys(part, at, { "content", "filename", "type" })
    if ok then ok, err = generic.string(part.type, at .. ".type", { non_empty = true }) end
    if ok then ok, err = generic.string(part.content, at .. ".content") end
    if ok then ok, err = generic.string(part.filename, at .. ".filename", { optional = true }) end
    if not ok then return nil, err end
  end
  return true
end

validate.CREATE = {
  name = string_field, hostname = function(v, f) if v == nil then return true end return validate.hostname(v, f) end,
  type = string_field, image = string_field, region = string_field,
  ssh_keys = function(v, f) return validate.ids(v, f, { optional = true, non_empty = true }) end,
  password = function(v, f) if v == nil then return true end return validate.password(v, f) end,
  security_groups = function(v, f) return validate.ids(v, f, { optional = true, non_empty = true }) end,
  volumes = function(v, f) return validate.ids(v, f, { optional = true }) end,
  is_protected = boolean_field, placement_option = string_field, public_ip_type = string_field,
  metadata = metadata, billing_type = string_field, reuse_long_term_subscription = string_field,
  destroy_on_shutdown = boolean_field, disk_size = size_field, floating_ip = string_field,
  public_ipv6 = boolean_field, reservation_id = string_field,
}
--- What a create must hold. `region` is required: the API wants it since
-- 2023-09 and the 2023-07 default region (ARC-IS-HAF-1) no longer exists.
validate.REQUIRED = { "name", "hostname", "type", "image", "region" }

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- Checks `body` against `checkers` (name -> fn(value, field)), unknown
-- keys refused. -> true | nil, err
local function check_all(body, checkers)
  local names = sorted_keys(checkers)
  local ok, err = generic.known_keys(body, nil, names)
  if not ok then return nil, err end
  for _, name in ipairs(names) do
    ok, err = checkers[name](body[name], name)
    if not ok then return nil, err end
  end
  return true
end

--- A create body. -> true | nil, err (kind "validation", `field`)
function validate.create(body)
  for _, name in ipairs(validate.REQUIRED) do
    if body[name] == nil then return fail(name, nil, name .. " is required to create an instance") end
  end
  local ok, err = check_all(body, validate.CREATE)
  if not ok then return nil, err end
  if body.ssh_keys ~= nil and body.password ~= nil then
    return fail("password", nil, "give ssh_keys or password, not both: the API takes one way to log in")
  end
  return true
end

--- An attachment change: a full list of ids, or `{ attach = id }`, or
-- `{ detach = id }` (one id, one key).
function validate.attachment(value, field, opts)
  if value == nil then return true end
  if type(value) == "table" and (value.attach ~= nil or value.detach ~= nil) then
    local ok, err = generic.known_keys(value, field, { "attach", "detach" })
    if not ok then return nil, err end
    if value.attach ~= nil and value.detach ~= nil then
      return fail(field, value, field .. " takes { attach = id } or { detach = id }, not both at once")
    end
    local key = value.attach ~= nil and "attach" or "detach"
    return generic.string(value[key], field .. "." .. key, { non_empty = true })
  end
  local ok, err = validate.ids(value, field, opts)
  if ok then return true end
  err.message = err.message .. " (or { attach = id } / { detach = id })"
  return nil, err
end

validate.UPDATE = {
  name = string_field, is_protected = boolean_field, disk_size = size_field, reservation_id = string_field,
  security_groups = function(v, f) return validate.attachment(v, f, { non_empty = true }) end,
  volumes = function(v, f) return validate.attachment(v, f) end,
}

--- A PATCH body: every field optional, none unknown. -> true | nil, err
function validate.update(body)
  return check_all(body, validate.UPDATE)
end

return validate
