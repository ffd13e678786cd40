-- Deletes the security groups whose name matches a Lua pattern, e.g.
-- "^ci%-" for every group starting with "ci-". Without --yes it only
-- lists what it would delete: a dry run is the default.
--   GENESISCLOUD_TOKEN=... lua5.4 examples/cleanup.lua PATTERN [--yes]
-- Exit codes: 0 done (or nothing to do), 1 API error, 2 bad arguments.
local genesiscloud = require "genesiscloud"

local pattern, yes
for _, a in ipairs(arg) do
  if a == "--yes" then
    yes = true
  elseif pattern == nil and a:sub(1, 2) ~= "--" then
    pattern = a
  else
    io.stderr:write("cleanup.lua: unexpected argument ", a, "\n")
    os.exit(2)
  end
end
if pattern == nil or pattern == "" then
  io.stderr:write("usage: cleanup.lua PATTERN [--yes]   (a Lua pattern, e.g. '^ci%-'; "
    .. "without --yes nothing is deleted)\n")
  os.exit(2)
end
-- A malformed pattern ("[", "%") raises in string.find: say so in one line.
local valid, why = pcall(string.find, "", pattern)
if not valid then
  io.stderr:write("cleanup.lua: bad pattern ", ("%q"):format(pattern), ": ",
    tostring(why):gsub("^.-:%d+: ", ""), "\n")
  os.exit(2)
end

local client = assert(genesiscloud.new{ token = os.getenv("GENESISCLOUD_TOKEN") })
local function fail(err)
  io.stderr:write(tostring(err), "\n")
  client:close()
  os.exit(1)
end

-- Collect first, delete after: deleting while paging would shift the pages.
local groups, err = client:all_security_groups{ per_page = 100 }
if not groups then fail(err) end
local matching = {}
for _, group in ipairs(groups) do
  if group.status ~= "deleting" and group.name:find(pattern) then matching[#matching + 1] = group end
end

if #matching == 0 then
  print(("no security group name matches %q"):format(pattern))
elseif not yes then
  for _, group in ipairs(matching) do print(("would delete %s (%s)"):format(group.name, group.id)) end
  print(("%d group(s) match; run again with --yes to delete them"):format(#matching))
else
  for _, group in ipairs(matching) do
    local ok, derr = client:delete_security_group(group.id)
    -- Someone else deleted it first: that is the outcome we wanted.
    if not ok and not (derr.kind == "api" and derr.status == 404) then fail(derr) end
    print(("deleted %s (%s)"):format(group.name, group.id))
  end
  print(("%d group(s) deleted"):format(#matching))
end
client:close()
