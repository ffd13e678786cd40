--- Reservations (since 2025-02): read only, one list answered whole (not
-- paginated). A reservation's `id` is an instance's `reservation_id`.
-- @module genesiscloud.resources.reservations
return {
  name = "reservation",
  plural = "reservations",
  cli = "reservations",
  path = "/reservations",
  list_key = "reservations",
  envelope = false,
  operations = { list = { paginated = false } },
}
