-- How the emulator serves images, listed only (their definition,
-- genesiscloud.resources.images, has no other operation): a seeded,
-- read-only catalog, paginated like the other lists, with the `type`
-- filter, whose values are the definition's (the 2023-07 contract's
-- base-os, preconfigured and snapshot, and today's cloud-image). The same
-- ids on every run and after every reset.

local json = require "genesiscloud.emulator.wire_json"
local definition = require "genesiscloud.resources.images"

local TYPES = definition.query.type.enum
local KNOWN_TYPE = {}
for _, t in ipairs(TYPES) do KNOWN_TYPE[t] = true end

local REGIONS = { "ARC-IS-HAF-1", "NORD-NO-KRS-1", "EUC-DE-MUC-1" }

local M = { plural = "images", title = "Image", TYPES = TYPES }

local function image(id, name, kind, created, extra)
  local out = {
    id = id, name = name, type = kind, regions = json.array{ table.unpack(REGIONS) },
    created_at = created, updated_at = created, os_type = "linux",
    family = json.null, slug = json.null, versions = json.null,
  }
  for k, v in pairs(extra or {}) do out[k] = v end
  return out
end

-- In the order the list shows them.
local CATALOG = {
  image("9e4a1f52-7c1b-4d2e-8a51-3b6f0c2d1a01", "Ubuntu 20.04", "base-os", "2023-01-10T09:00:00.000Z"),
  image("9e4a1f52-7c1b-4d2e-8a51-3b6f0c2d1a02", "Ubuntu 22.04", "base-os", "2023-01-10T09:00:00.000Z"),
  image("9e4a1f52-7c1b-4d2e-8a51-3b6f0c2d1a03", "Debian 12", "base-os", "2023-06-12T09:00:00.000Z"),
  image("9e4a1f52-7c1b-4d2e-8a51-3b6f0c2d1a04", "Ubuntu 20.04 ML (PyTorch, TensorFlow)", "preconfigured",
    "2023-02-01T09:00:00.000Z"),
  image("9e4a1f52-7c1b-4d2e-8a51-3b6f0c2d1a05", "Ubuntu 22.04 with NVIDIA driver", "preconfigured",
    "2023-05-02T09:00:00.000Z"),
  image("9e4a1f52-7c1b-4d2e-8a51-3b6f0c2d1a06", "web-base snapshot", "snapshot", "2023-06-30T12:00:00.000Z",
    { regions = json.array{ "NORD-NO-KRS-1" } }),
  image("9e4a1f52-7c1b-4d2e-8a51-3b6f0c2d1a07", "Ubuntu", "cloud-image", "2024-02-01T09:00:00.000Z",
    { family = "ubuntu", slug = "ubuntu", versions = json.array{ "20.04", "22.04", "24.04" } }),
  image("9e4a1f52-7c1b-4d2e-8a51-3b6f0c2d1a08", "Debian", "cloud-image", "2024-02-01T09:00:00.000Z",
    { family = "debian", slug = "debian", versions = json.array{ "11", "12" } }),
}
M.CATALOG = CATALOG

-- The images a list query selects (every one, or those of one `type`), or
-- nil and the message of a 400.
function M.select(query)
  local wanted = query.type
  if wanted == nil then return CATALOG end
  if not KNOWN_TYPE[wanted] then return nil, "type must be one of " .. table.concat(TYPES, ", ") end
  local out = {}
  for _, item in ipairs(CATALOG) do
    if item.type == wanted then out[#out + 1] = item end
  end
  return out
end

return M
