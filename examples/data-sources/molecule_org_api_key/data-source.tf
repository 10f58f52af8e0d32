# Look a key up by name (an error if several live keys share it) ...
data "molecule_org_api_key" "agent" {
  name = "claude-agent-prod"
}

# ... by id ...
data "molecule_org_api_key" "by_id" {
  id = "a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e"
}

# ... or by prefix: the first 8 characters Canvas shows (UyJhAK6q…), and what
# created_by = "org-token:UyJhAK6q" names the keys it minted by.
data "molecule_org_api_key" "minter" {
  prefix = "UyJhAK6q"
}

output "agent_last_used" {
  value = data.molecule_org_api_key.agent.last_used_at
}

output "minter_name" {
  value = data.molecule_org_api_key.minter.name
}
