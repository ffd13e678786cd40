--- genesiscloud_nvim: a tiny Neovim (0.7+) plugin over lua-genesiscloud's
-- event loop. `:GenesisGroups` opens a scratch buffer and fills it with the
-- account's security groups, one `<id>  <name>  <status>` line each, after a
-- `# <n> security groups` header. The listing runs in a task on Neovim's own
-- loop (`vim.loop`, through the luv adapter with `vim.schedule`), pages
-- fetched 8 at a time: the editor stays responsive while it runs, and the
-- buffer is filled when the task ends.
--
-- Set-up: build the C core for LuaJIT (`make build-luajit` in the
-- checkout: build/luajit/genesiscloud/core.so), then, in init.lua:
--
--   local root = "/path/to/lua-genesiscloud"
--   package.path = root .. "/lua/?.lua;" .. root .. "/lua/?/init.lua;" .. package.path
--   package.cpath = root .. "/build/luajit/?.so;" .. package.cpath
--   vim.opt.runtimepath:append(root .. "/examples/nvim")
--   require("genesiscloud_nvim").setup{ token = os.getenv("GENESISCLOUD_TOKEN") }
--
-- `setup` takes the options of `genesiscloud.new` (token, endpoint,
-- timeout, ...); without it the client reads GENESISCLOUD_TOKEN and
-- GENESISCLOUD_ENDPOINT. When the buffer is filled, its variable
-- `b:genesiscloud_done` is set (true, or false on an error) and the
-- `User GenesisGroupsDone` autocommand runs.
local M = {}

local config = {}
local client

--- The options for `genesiscloud.new` (the `loop` option is the plugin's).
function M.setup(opts)
  config = {}
  for k, v in pairs(opts or {}) do config[k] = v end
  if client then client:close() end
  client = nil
end

-- The plugin's client, made on first use, on Neovim's loop.
local function get_client()
  if client then return client end
  local ok, genesiscloud = pcall(require, "genesiscloud")
  if not ok then return nil, genesiscloud end
  local opts = { loop = require("genesiscloud.loop.luv").new(vim.loop, { schedule = vim.schedule }) }
  for k, v in pairs(config) do opts[k] = v end
  local made, err = genesiscloud.new(opts)
  if not made then return nil, err end
  client = made
  return client
end

local function set_lines(buf, lines)
  if not vim.api.nvim_buf_is_valid(buf) then return end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
end

-- A scratch buffer in a new window at the bottom.
local function scratch()
  vim.cmd("botright new")
  local buf = vim.api.nvim_get_current_buf()
  vim.bo[buf].buftype = "nofile"
  vim.bo[buf].bufhidden = "wipe"
  vim.bo[buf].swapfile = false
  pcall(vim.api.nvim_buf_set_name, buf, "genesiscloud://security-groups")
  return buf
end

local CHUNK = 200 -- groups written per turn of the editor's loop

--- A group's line.
function M.line(g)
  return ("%s  %s  %s"):format(g.id, g.name, tostring(g.status))
end

-- Fills the buffer with `header` then a line per group, CHUNK groups per
-- turn (10,000 lines at once would hold the editor for tens of ms), then
-- says it is done.
local function finished(buf, ok, header, groups)
  groups = groups or {}
  local first = 1
  local function step()
    if not vim.api.nvim_buf_is_valid(buf) then return end
    local lines = first == 1 and { header } or {}
    local last = math.min(first + CHUNK - 1, #groups)
    for i = first, last do lines[#lines + 1] = M.line(groups[i]) end
    vim.bo[buf].modifiable = true
    vim.api.nvim_buf_set_lines(buf, first == 1 and 0 or -1, -1, false, lines)
    vim.bo[buf].modifiable = false
    first = last + 1
    if first <= #groups then return vim.schedule(step) end
    vim.b[buf].genesiscloud_done = ok
    vim.api.nvim_exec_autocmds("User", { pattern = "GenesisGroupsDone", modeline = false })
  end
  step()
end

--- `:GenesisGroups`: opens the buffer and starts the listing.
-- @return the buffer, and the task (nil when no client could be made)
function M.groups()
  local buf = scratch()
  set_lines(buf, { "# listing the security groups..." })
  local c, err = get_client()
  if not c then
    finished(buf, false, "# error: " .. tostring(err))
    return buf
  end
  local task = c:spawn(function()
    return c.security_groups:all{ per_page = 100, concurrency = 8 }
  end)
  -- on_done may run in one of luv's callbacks, where most of Neovim's API
  -- is forbidden: fill the buffer from the main loop
  task:on_done(vim.schedule_wrap(function(ok, groups, list_err)
    if ok and groups then
      finished(buf, true, ("# %d security groups"):format(#groups), groups)
    else
      finished(buf, false, "# error: " .. tostring(ok and list_err or groups))
    end
  end))
  return buf, task
end

return M
