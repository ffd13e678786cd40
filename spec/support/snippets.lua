-- Finds the ```lua blocks of Markdown files and turns each into a program
-- that spec/snippets_spec.lua runs. No I/O but reading the files.
--
-- A block is a whole program unless an HTML comment on the line just
-- before it (blank lines allowed between) says otherwise:
--
--   <!-- snippet: name=setup -->      names the block, for `after`
--   <!-- snippet: after=setup -->     runs the block named `setup` (same
--                                     file) first, in the same chunk
--   <!-- snippet: busted -->          a busted spec file: run under busted
--   <!-- snippet: value -->           a Lua value (a table's shape): it is
--                                     evaluated, nothing more
--   <!-- snippet: cli=ARGS -->        a file for the command-line tool:
--                                     written to FILE and run as
--                                     `genesiscloud ARGS` (FILE in ARGS)
--   <!-- snippet: skip=REASON -->     not run; listed with its reason
--
-- Several may share one comment, separated by `;` (`after=setup; name=x`).
-- A line `print(...) --> text` in a block also checks that `text` is a line
-- of the output (in the order the lines come).
local snippets = {}

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- The directives of one `<!-- snippet: ... -->` line, or nil.
local function parse_directive(line)
  local body = line:match("^%s*<!%-%-%s*snippet:%s*(.-)%s*%-%->%s*$")
  if not body then return nil end
  local d = {}
  for part in (body .. ";"):gmatch("([^;]*);") do
    part = trim(part)
    if part ~= "" then
      local key, value = part:match("^([%w_]+)%s*=%s*(.*)$")
      if key then
        d[key] = value
      else
        d[part] = true
      end
    end
  end
  return d
end
snippets.parse_directive = parse_directive

local KNOWN = { name = true, after = true, busted = true, value = true, cli = true, skip = true }

--- The ```lua blocks of `text` (the contents of `file`): a list of
-- { file =, line = (of the first code line), code =, directive = {} }.
-- Raises on a malformed file (an unknown directive, an unclosed fence, an
-- `after` naming no earlier block), naming the file and line.
function snippets.extract(text, file)
  local lines = {}
  for line in (text:gsub("\r\n", "\n") .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do
    lines[#lines + 1] = line
  end
  local blocks, named = {}, {}
  local pending, pending_line -- directive seen and not yet used
  local i = 1
  while i <= #lines do
    local line = lines[i]
    local indent, fence, info = line:match("^(%s*)(```+)%s*([^`]*)$")
    if fence then
      local lang = trim(info):match("^(%S*)")
      local first = i + 1
      local j = first
      while j <= #lines and not lines[j]:match("^%s*" .. fence .. "%s*$") do j = j + 1 end
      if j > #lines then error(("%s:%d: unclosed ``` block"):format(file, i), 0) end
      if lang == "lua" then
        local code = {}
        for k = first, j - 1 do
          local l = lines[k]
          if l:sub(1, #indent) == indent then l = l:sub(#indent + 1) end
          code[#code + 1] = l
        end
        local block = { file = file, line = first, code = table.concat(code, "\n") .. "\n",
          directive = pending or {} }
        if block.directive.after then
          local before = named[block.directive.after]
          if not before then
            error(("%s:%d: snippet after=%s: no earlier block of that name"):format(
              file, pending_line, block.directive.after), 0)
          end
          block.after = before
        end
        if block.directive.name then named[block.directive.name] = block end
        blocks[#blocks + 1] = block
      elseif pending then
        error(("%s:%d: a snippet comment before a ```%s block"):format(file, pending_line, lang), 0)
      end
      pending, pending_line = nil, nil
      i = j + 1
    else
      local d = parse_directive(line)
      if d then
        for key in pairs(d) do
          if not KNOWN[key] then
            error(("%s:%d: unknown snippet directive '%s'"):format(file, i, key), 0)
          end
        end
        pending, pending_line = d, i
      elseif pending and trim(line) ~= "" then
        error(("%s:%d: a snippet comment must come right before a ```lua block"):format(file, pending_line), 0)
      end
      i = i + 1
    end
  end
  return blocks
end

--- The chunk to run for `block`: the code of the blocks it comes after,
-- then its own. Returns the text and its segments ({ block =, first = the
-- chunk line its code starts on }), to map line numbers back to the files.
function snippets.program(block)
  local chain = {}
  local b = block
  while b do
    table.insert(chain, 1, b)
    b = b.after
  end
  local parts, segments, at = {}, {}, 1
  for _, c in ipairs(chain) do
    local code = c.code
    if c == block and c.directive.value then code = "local _ = " .. code end
    parts[#parts + 1] = code
    segments[#segments + 1] = { block = c, first = at }
    local _, n = code:gsub("\n", "")
    at = at + n
  end
  return table.concat(parts), segments
end

--- The `print(...) --> text` expectations of a block's own code, in order.
function snippets.expected_lines(block)
  local out = {}
  for line in block.code:gmatch("[^\n]+") do
    local want = line:match("^%s*print%b()%s*%-%->%s?(.-)%s*$")
    if want and want ~= "" then out[#out + 1] = want end
  end
  return out
end

--- Rewrites `chunk:N:` in `output` (the path the program ran from) as
-- the file and line of the Markdown the line came from.
function snippets.map_lines(output, chunk, segments)
  local escaped = chunk:gsub("%p", "%%%0")
  return (output:gsub(escaped .. ":(%d+):", function(n)
    n = tonumber(n)
    for k = #segments, 1, -1 do
      local seg = segments[k]
      if n >= seg.first then
        return ("%s:%d:"):format(seg.block.file, seg.block.line + n - seg.first)
      end
    end
  end))
end

return snippets
