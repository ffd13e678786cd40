-- How the emulator serves quotas (their definition,
-- genesiscloud.resources.quotas, fixes GET /quotas, answered whole under
-- "quotas", not paginated): a seeded, read-only list, the same on every
-- run and after every reset.

local json = require "genesiscloud.emulator.wire_json"

local M = { plural = "quotas", title = "Quota" }

local function flavor(name, product, used)
  return { flavor_name = name, product_name = product, unit = "instance", used = used }
end

M.CATALOG = {
  { key = "gpu-nvidia3090", capacity = 16, used = 0, flavors = json.array{
    flavor("vcpu-4_memory-24g_disk-80g_nvidia3090-1", "NVIDIA RTX 3090 x1", 0),
    flavor("vcpu-8_memory-48g_disk-80g_nvidia3090-2", "NVIDIA RTX 3090 x2", 0),
  } },
  { key = "cpu", capacity = 64, used = 0, flavors = json.array{
    flavor("vcpu-2_memory-4g_disk-80g", "vCPU x2", 0),
  } },
}

function M.select()
  return M.CATALOG
end

return M
