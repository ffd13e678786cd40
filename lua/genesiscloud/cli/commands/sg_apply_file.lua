--- Reads the file of `sg apply`: the desired security groups, as JSON
-- (`{"security_groups": [...]}` or a bare array) or as a Lua file that
-- returns such a table. Rules are rule tables or text ("ingress tcp 443").
-- Every group is checked before anything is sent; a mistake raises a usage
-- error naming the file, the group and the field.
-- @module genesiscloud.cli.commands.sg_apply_file
local json = require "genesiscloud.json"
local fail = require "genesiscloud.cli.fail"

local apply_file = {}

--- Fields a group may have; anything else is a typo to report.
apply_file.FIELDS = { name = true, description = true, rules = true }

local function read_all(path, label)
  local f = io.stdin
  if path ~= "-" then
    local err
    f, err = io.open(path, "r")
    if not f then fail.usage("sg apply: cannot read " .. tostring(err)) end
  end
  local text, read_err = f:read("a")
  if f ~= io.stdin then f:close() end
  if not text then fail.usage(("sg apply: cannot read %s: %s"):format(label, tostring(read_err))) end
  return text
end

local function decode_json(path, label)
  -- The library's decoder: null -> absent, whole numbers -> integers.
  local data, err = json.decode(read_all(path, label))
  if err then fail.usage(("%s: not valid JSON: %s"):format(label, tostring(err))) end
  return data
end

-- Any value raised, as one line (a table whose __tostring raises too).
local function describe(value)
  if type(value) == "string" or type(value) == "number" then return tostring(value) end
  local ok, text = pcall(tostring, value)
  if ok and type(text) == "string" then return text end
  return "an error value of type " .. type(value)
end

local MAX_DEPTH = 20

-- A plain copy of what a Lua file returned: raw fields only (no __index,
-- no __pairs: what is checked is what is sent), no cycles, not too deep.
local function plain(value, depth, seen)
  if type(value) ~= "table" then return value end
  if seen[value] then error("a table refers to itself", 0) end
  if depth > MAX_DEPTH then error("tables nested more than " .. MAX_DEPTH .. " deep", 0) end
  seen[value] = true
  local copy = {}
  for k, v in next, value do copy[k] = plain(v, depth + 1, seen) end
  seen[value] = nil
  return copy
end

-- A Lua file runs with `rules` (genesiscloud.rules) in reach, over the
-- normal globals, and must return the table. Whatever goes wrong in it
-- (a syntax error, an error raised, a table that raises when read) is
-- the user's: a usage error naming the file.
local function load_lua(path, label, rules)
  -- Lua's messages already start with "path:line:"; others get the label.
  local function bad(err)
    local line = describe(err):match("^[^\n]*")
    if line:sub(1, #path + 1) ~= path .. ":" then line = label .. ": " .. line end
    fail.usage(line)
  end
  local f, why = io.open(path, "r")
  if not f then fail.usage("sg apply: cannot read " .. tostring(why)) end
  local _, read_err = f:read(0)
  f:close()
  if read_err then fail.usage(("sg apply: cannot read %s: %s"):format(label, tostring(read_err))) end
  local env = setmetatable({ rules = rules }, { __index = _G })
  local chunk, err = loadfile(path, "t", env)
  if not chunk then bad(err) end
  local ok, result = pcall(chunk)
  if not ok then bad(result) end
  local copied, data = pcall(plain, result, 1, {})
  if not copied then bad(data) end
  return data
end

local function is_array(t)
  return type(t) == "table" and json.is_list(t)
end

-- One group from the file -> the spec for ensure.
local function read_group(genesiscloud, group, where)
  local function bad(message) fail.usage(where .. ": " .. message) end
  if type(group) ~= "table" or (next(group) ~= nil and is_array(group)) then
    bad("expected an object with name, description and rules")
  end
  local spec = {}
  for k, v in pairs(group) do
    if not apply_file.FIELDS[k] then
      bad(("unknown field %q (a group has name, description and rules)"):format(tostring(k)))
    end
    spec[k] = v
  end
  if not is_array(group.rules) then bad("rules must be a list of rules") end
  local list = {}
  for i, rule in ipairs(group.rules) do
    if type(rule) == "string" then
      local parsed, err = genesiscloud.rules.parse(rule)
      if not parsed then bad(("rules[%d]: %s"):format(i, err.message)) end
      list[i] = parsed
    elseif type(rule) == "table" then
      list[i] = rule
    else
      bad(("rules[%d] must be a rule object or text such as \"ingress tcp 22\", got %s"):format(i, type(rule)))
    end
  end
  spec.rules = list
  local ok, err = genesiscloud.validate_security_group(spec)
  if not ok then bad(err.message) end
  return spec
end

--- -> list of specs, in file order. `genesiscloud` is the library.
function apply_file.load(path, genesiscloud)
  local label = path == "-" and "standard input" or path
  local data
  if path:match("%.lua$") then
    data = load_lua(path, label, genesiscloud.rules)
  else
    data = decode_json(path, label)
  end
  local groups = data
  if type(data) == "table" and not is_array(data) then
    for k in pairs(data) do
      if k ~= "security_groups" then
        fail.usage(("%s: unknown top-level key %q (expected security_groups)"):format(label, tostring(k)))
      end
    end
    groups = data.security_groups
  end
  if not is_array(groups) then
    fail.usage(label .. ": expected {\"security_groups\": [...]} or a list of security groups")
  end
  local specs, by_name = {}, {}
  for i, group in ipairs(groups) do
    local name = type(group) == "table" and group.name
    local where = ("%s: security_groups[%d]%s"):format(label, i,
      type(name) == "string" and (" (" .. ("%q"):format(name) .. ")") or "")
    local spec = read_group(genesiscloud, group, where)
    if by_name[spec.name] then
      fail.usage(("%s: security_groups[%d] and [%d] are both named %q; names must be unique")
        :format(label, by_name[spec.name], i, spec.name))
    end
    by_name[spec.name] = i
    specs[i] = spec
  end
  return specs
end

return apply_file
