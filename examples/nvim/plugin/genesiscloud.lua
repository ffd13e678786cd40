-- :GenesisGroups (see lua/genesiscloud_nvim/init.lua for the set-up).
if vim.g.loaded_genesiscloud then return end
vim.g.loaded_genesiscloud = true

vim.api.nvim_create_user_command("GenesisGroups", function()
  require("genesiscloud_nvim").groups()
end, { desc = "List the Genesis Cloud security groups in a scratch buffer" })
