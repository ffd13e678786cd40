--- Flag values shared by the commands: whole numbers and seconds with
-- their own messages, --wait/--wait-timeout, --page/--per-page/--all, and
-- the set of flags whose value is a number (so that "-1" after one is its
-- value, not an unknown option, and the range check can answer).
-- @module genesiscloud.cli.flags
local flags = {}

flags.WAIT_DEFAULT = 300
flags.PER_PAGE_DEFAULT = 50

--- Flags that take a number (filled as commands declare them).
flags.numeric = {}

--- A converter for a whole number from `min` to `max` (nil: no upper
-- bound); `what` names the flag in the message.
function flags.whole(min, max, what)
  flags.numeric[what] = true
  return function(text)
    local n = math.tointeger(tonumber(text))
    if not n or n < min or (max and n > max) then
      return nil, ("%s must be a whole number %s, got '%s'"):format(what,
        max and ("from " .. min .. " to " .. max) or ("of at least " .. min), text)
    end
    return n
  end
end

--- A converter for a number of seconds (0 or more).
function flags.seconds(what)
  flags.numeric[what] = true
  return function(text)
    local n = tonumber(text)
    if not n or n ~= n or n < 0 or n == math.huge then
      return nil, ("%s must be a number of seconds, got '%s'"):format(what, text)
    end
    return n
  end
end

--- --wait and --wait-timeout on `cmd`; `what` ends "Wait until ...".
function flags.wait(cmd, what)
  cmd:flag("--wait", "Wait until " .. what .. ".")
  cmd:option("--wait-timeout", "Seconds to wait at most (with --wait).", tostring(flags.WAIT_DEFAULT))
    :argname("S"):convert(flags.seconds("--wait-timeout"))
end

--- --per-page, and --page or --all, on the list command `cmd` of `things`.
function flags.pages(cmd, things)
  cmd:option("--per-page", ("How many %s a page, 1..100."):format(things), tostring(flags.PER_PAGE_DEFAULT))
    :argname("N"):convert(flags.whole(1, 100, "--per-page"))
  cmd:mutex(
    cmd:option("--page", "Page to show (default 1)."):argname("N"):convert(flags.whole(1, nil, "--page")),
    cmd:flag("--all", "Walk every page (a request per page)."))
end

return flags
