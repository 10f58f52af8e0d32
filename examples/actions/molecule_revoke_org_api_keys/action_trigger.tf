# An action can also run when a resource is created: here, recording an incident revokes the keys
# of the compromised agent in the same apply.
resource "terraform_data" "incident" {
  input = "INC-2041: claude-agent-staging keys exposed in a public log"

  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.molecule_revoke_org_api_keys.compromised_agent]
    }
  }
}

action "molecule_revoke_org_api_keys" "compromised_agent" {
  config {
    name_prefix = "claude-agent-staging"
    cascade     = true
  }
}
