-- Times as the API writes them.

local timestamps = {}

-- ISO 8601 UTC with milliseconds, e.g. 2026-11-27T12:00:00.000Z, from
-- seconds since the epoch (fractions allowed).
function timestamps.iso8601(t)
  local seconds = math.floor(t)
  local ms = math.floor((t - seconds) * 1000)
  return os.date("!%Y-%m-%dT%H:%M:%S", seconds) .. string.format(".%03dZ", ms)
end

return timestamps
