# Look a key up by name (an error if several live keys share it) ...
data "molecule_org_api_key" "agent" {
  name = "claude-agent-prod"
}

# ... or by id.
data "molecule_org_api_key" "by_id" {
  id = "tok_01HZX3B7N8PQ9K4M5R6T"
}

output "agent_last_used" {
  value = data.molecule_org_api_key.agent.last_used_at
}
