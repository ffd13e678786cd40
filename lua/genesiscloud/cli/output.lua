--- What the tool prints: JSON (keys sorted, indented, `[]` for an empty
-- table) for programs, aligned columns and key/value lines for people.
-- @module genesiscloud.cli.output
local cjson = require("cjson.safe").new()

local output = {}

local is_list = require("genesiscloud.json").is_list

local function encode(value, indent, out)
  local kind = type(value)
  if kind == "table" then
    local inner = indent .. "  "
    if is_list(value) then
      if #value == 0 then out[#out + 1] = "[]" return end
      out[#out + 1] = "[\n"
      for i, v in ipairs(value) do
        out[#out + 1] = inner
        encode(v, inner, out)
        out[#out + 1] = i < #value and ",\n" or "\n"
      end
      out[#out + 1] = indent .. "]"
      return
    end
    local keys = {}
    for k in pairs(value) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    out[#out + 1] = "{\n"
    for i, k in ipairs(keys) do
      local v = value[k]
      if v == nil then v = value[tonumber(k)] end
      out[#out + 1] = inner .. cjson.encode(k) .. ": "
      encode(v, inner, out)
      out[#out + 1] = i < #keys and ",\n" or "\n"
    end
    out[#out + 1] = indent .. "}"
  elseif kind == "string" or kind == "number" or kind == "boolean" then
    out[#out + 1] = assert(cjson.encode(value))
  else
    out[#out + 1] = "null"
  end
end

--- `value` as indented JSON text with sorted keys (no trailing newline).
function output.json(value)
  local out = {}
  encode(value, "", out)
  return table.concat(out)
end

--- A string as a JSON string literal: one line, whatever it holds.
function output.quote(s)
  return assert(cjson.encode(tostring(s)))
end

--- Plain copy of a rule table as the API knows it (drops the metatable of
-- rule builders, so JSON sees four keys at most).
function output.plain_rule(rule)
  return { direction = rule.direction, protocol = rule.protocol,
           port_range_min = rule.port_range_min, port_range_max = rule.port_range_max }
end

local function width(s)
  return utf8.len(s) or #s
end

--- Aligned columns: `header` is a list of titles, `rows` a list of lists of
-- strings. The last column is not padded. -> text with a final newline
function output.columns(header, rows)
  local widths = {}
  for i, title in ipairs(header) do widths[i] = width(title) end
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do widths[i] = math.max(widths[i] or 0, width(cell)) end
  end
  local lines = {}
  local function line(cells)
    local parts = {}
    for i, cell in ipairs(cells) do
      parts[i] = i < #cells and cell .. (" "):rep(widths[i] - width(cell)) or cell
    end
    lines[#lines + 1] = (table.concat(parts, "  "):gsub("%s+$", ""))
  end
  line(header)
  for _, row in ipairs(rows) do line(row) end
  return table.concat(lines, "\n") .. "\n"
end

--- The rules of a group as one compact, sorted line: "egress all, ingress tcp 22".
function output.rules_line(rules, list)
  local texts = {}
  for i, rule in ipairs(rules.normalize(list or {})) do texts[i] = rules.format(rule) end
  return table.concat(texts, ", ")
end

--- A table of groups: ID, NAME, STATUS, RULES.
function output.groups_table(rules, groups)
  local rows = {}
  for i, g in ipairs(groups) do
    rows[i] = { tostring(g.id), tostring(g.name), tostring(g.status or ""), output.rules_line(rules, g.rules) }
  end
  return output.columns({ "ID", "NAME", "STATUS", "RULES" }, rows)
end

local FIRST = { "id", "name", "description", "status" }

--- One group as "key  value" lines; rules one per line, as the API holds them.
function output.group_detail(rules, group)
  local keys, seen = {}, { rules = true }
  for _, k in ipairs(FIRST) do
    keys[#keys + 1] = k
    seen[k] = true
  end
  local rest = {}
  for k, v in pairs(group) do
    if not seen[k] and type(v) ~= "table" then rest[#rest + 1] = tostring(k) end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  local rows = {}
  for _, k in ipairs(keys) do
    local v = group[k]
    rows[#rows + 1] = { k, v == nil and "" or tostring(v) }
  end
  local list = group.rules or {}
  if #list == 0 then rows[#rows + 1] = { "rules", "" } end
  for i, rule in ipairs(list) do rows[#rows + 1] = { i == 1 and "rules" or "", rules.format(rule) } end
  local text = output.columns({ "", "" }, rows)
  return (text:gsub("^[^\n]*\n", "")) -- no header line
end

-- Generic objects (any resource) -----------------------------------------

--- Cells longer than this are cut in list tables (the JSON has them whole).
output.CELL_MAX = 50

-- A value as one table cell: a scalar as text (whole numbers without
-- ".0"), a list of scalars joined with ", "; nil for anything else.
local function cell(v)
  local kind = type(v)
  if kind == "number" then return tostring(math.tointeger(v) or v) end
  if kind == "string" or kind == "boolean" then return tostring(v) end
  if kind == "table" and is_list(v) then
    local texts = {}
    for i, item in ipairs(v) do
      if type(item) == "table" then return nil end
      texts[i] = cell(item)
    end
    return table.concat(texts, ", ")
  end
  return nil
end
output.cell = cell

local function cut(text)
  if width(text) <= output.CELL_MAX then return text end
  local stop = utf8.offset(text, output.CELL_MAX - 2) or (output.CELL_MAX - 2)
  return text:sub(1, stop - 1) .. "..."
end

-- The keys of `objects` with a cell value: `first` (those present) in its
-- order, then the others sorted.
local function column_keys(objects, first)
  local keys, seen = {}, {}
  local present = {}
  for _, object in ipairs(objects) do
    for k, v in pairs(object) do
      if type(k) == "string" and cell(v) ~= nil then present[k] = true end
    end
  end
  for _, k in ipairs(first or {}) do
    if present[k] and not seen[k] then keys[#keys + 1], seen[k] = k, true end
  end
  local rest = {}
  for k in pairs(present) do
    if not seen[k] then rest[#rest + 1] = k end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  return keys
end

--- A table of any objects: a column per key with a scalar (or a list of
-- scalars) value, `first` keys first, long cells cut unless `whole`. -> text
function output.objects_table(objects, first, whole)
  local keys = column_keys(objects, first)
  local header, rows = {}, {}
  for i, k in ipairs(keys) do header[i] = k:upper() end
  for r, object in ipairs(objects) do
    local row = {}
    for i, k in ipairs(keys) do
      local text = cell(object[k]) or ""
      row[i] = whole and text or cut(text)
    end
    rows[r] = row
  end
  return output.columns(header, rows)
end

--- Any object as "key  value" lines (`first` keys first); each list of
-- objects in it follows as a table of its own, under its key. Nothing is
-- cut: this is the view of one object.
function output.object_detail(object, first)
  local rows = {}
  for _, k in ipairs(column_keys({ object }, first)) do rows[#rows + 1] = { k, cell(object[k]) } end
  local text = #rows > 0 and output.columns({ "", "" }, rows):gsub("^[^\n]*\n", "") or ""
  local nested = {}
  for k, v in pairs(object) do
    if type(v) == "table" and cell(v) == nil and is_list(v) then nested[#nested + 1] = k end
  end
  table.sort(nested)
  for _, k in ipairs(nested) do
    text = text .. "\n" .. k .. ":\n" .. output.objects_table(object[k], nil, true)
  end
  return text
end

return output
