-- How the emulator serves reservations (their definition,
-- genesiscloud.resources.reservations, fixes GET /reservations, answered
-- whole under "reservations", not paginated): a seeded, read-only list, the
-- same ids on every run and after every reset. A reservation's `id` is
-- what an instance's `reservation_id` names.

local M = { plural = "reservations", title = "Reservation" }

M.CATALOG = {
  { id = "6a1d0c2e-5b7f-4c3a-9e21-0d4b8f7a1c01", flavor_name = "vcpu-4_memory-24g_disk-80g_nvidia3090-1",
    region = "NORD-NO-KRS-1", metadata = { note = "seeded by the emulator" },
    quota = { capacity = 4, used = 0 } },
  { id = "6a1d0c2e-5b7f-4c3a-9e21-0d4b8f7a1c02", flavor_name = "vcpu-8_memory-48g_disk-80g_nvidia3090-2",
    region = "EUC-DE-MUC-1", metadata = {}, quota = { capacity = 2, used = 0 } },
}

function M.select()
  return M.CATALOG
end

return M
