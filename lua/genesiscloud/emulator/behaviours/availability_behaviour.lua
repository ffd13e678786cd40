-- How the emulator serves availability (its definition,
-- genesiscloud.resources.availability, fixes GET
-- /availability/{region}/instances, under the key "availability", not
-- paginated): one seeded, read-only answer per region. A region the API
-- does not know answers 400.

local json = require "genesiscloud.emulator.wire_json"

local M = { plural = "availability", title = "Availability" }

-- Every region of the 2023-07 contract and of today's API, in order.
M.REGIONS = { "ARC-IS-HAF-1", "NORD-NO-KRS-1", "EUC-DE-MUC-1", "EUW-GB-MNC-1", "EUW-NL-AMS-1",
  "NA-CA-FTS-1", "NA-CA-MNZ-1", "NA-CA-PRG-1" }
local KNOWN = {}
for _, region in ipairs(M.REGIONS) do KNOWN[region] = true end

-- Instance types and how many of each the first region has; each later
-- region has fewer (the Nth region (N - 1) * i fewer of the i-th type), so
-- regions differ and some types are sold out.
local TYPES = {
  { "vcpu-2_memory-4g_disk-80g", 40 },
  { "vcpu-4_memory-24g_disk-80g_nvidia3090-1", 12 },
  { "vcpu-8_memory-48g_disk-80g_nvidia3090-2", 6 },
  { "vcpu-32_memory-192g_disk-80g_nvidia3090-8", 0 },
}

-- The instance types the emulator knows, in order (instances check theirs).
M.INSTANCE_TYPES = {}
for i, t in ipairs(TYPES) do M.INSTANCE_TYPES[i] = t[1] end

local function instance_types(position)
  local out = json.array()
  for i, t in ipairs(TYPES) do
    local count = math.max(0, t[2] - (position - 1) * i)
    out[i] = { type = t[1], available = count > 0, count = count }
  end
  return out
end

-- The answer for `region` (query `placement` is echoed, default "NONE"),
-- or nil and the message of a 400.
function M.lookup(region, query)
  if not KNOWN[region] then
    return nil, "region must be one of " .. table.concat(M.REGIONS, ", ")
  end
  local position = 0
  for i, r in ipairs(M.REGIONS) do
    if r == region then position = i end
  end
  return { type = "instances", region = region, placement = query.placement or "NONE",
    instance_types = instance_types(position) }
end

return M
