-- Lists every security group as a table, walking all pages (the optional
-- argument is the page size, 1..100, default 100).
--   GENESISCLOUD_TOKEN=... [GENESISCLOUD_ENDPOINT=...] lua5.4 examples/list_groups.lua [PER_PAGE]
local genesiscloud = require "genesiscloud"
local rules = genesiscloud.rules

local per_page = math.tointeger(tonumber(arg[1] or "100"))
if not per_page or per_page < 1 or per_page > 100 then
  io.stderr:write("usage: list_groups.lua [PER_PAGE]   (1..100)\n")
  os.exit(2)
end

local client = assert(genesiscloud.new{ token = os.getenv("GENESISCLOUD_TOKEN") })

-- The columns are as wide as their longest cell, so read everything first.
-- A failure inside the loop raises the error object; pcall catches it.
local rows = { { "ID", "NAME", "STATUS", "RULES" } }
local ok, err = pcall(function()
  for group in client:security_groups{ per_page = per_page } do
    local texts = {}
    for i, rule in ipairs(rules.normalize(group.rules or {})) do texts[i] = rules.format(rule) end
    rows[#rows + 1] = { group.id, group.name, tostring(group.status), table.concat(texts, ", ") }
  end
end)
client:close()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end

local widths = {}
for _, row in ipairs(rows) do
  for i, cell in ipairs(row) do widths[i] = math.max(widths[i] or 0, utf8.len(cell) or #cell) end
end
for _, row in ipairs(rows) do
  local cells = {}
  for i, cell in ipairs(row) do
    -- every column but the last is padded to its width
    cells[i] = i < #row and cell .. (" "):rep(widths[i] - (utf8.len(cell) or #cell)) or cell
  end
  print((table.concat(cells, "  "):gsub("%s+$", "")))
end
print(("%d group(s)"):format(#rows - 1))
