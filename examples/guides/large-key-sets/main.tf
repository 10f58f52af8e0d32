# One key per agent, minted in waves of ten: the service mints at most 10 keys an hour (per
# organization on the hosted service). Raise `waves` by one per apply, an hour apart, until every
# agent has its key.
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

variable "agent_count" {
  description = "How many agents need a key."
  type        = number
  default     = 35
}

variable "waves" {
  description = "How many waves of ten keys exist. Raise it by one per apply; lowering it revokes the keys of the waves it drops."
  type        = number
  default     = 1
}

locals {
  # Agent i (from 0) is in wave floor(i / 10) + 1. New agents are appended, so adding one never
  # moves another to a different wave.
  agents = {
    for i in range(var.agent_count) : format("claude-agent-%03d", i + 1) => floor(i / 10) + 1
  }
  enabled = { for name, wave in local.agents : name => wave if wave <= var.waves }
}

resource "molecule_org_api_key" "agent" {
  for_each = local.enabled

  name = each.key
}

output "waiting" {
  description = "Agents whose wave has not been applied yet."
  value       = sort([for name, wave in local.agents : name if wave > var.waves])
}

output "keys" {
  description = "Each agent's key, for the job that hands them out."
  value       = { for name, k in molecule_org_api_key.agent : name => k.key }
  sensitive   = true
}

# The service lists only its newest 500 live keys. A warning, not an error, well before that.
check "live_keys_under_list_cap" {
  data "molecule_org_api_keys" "all" {}

  assert {
    condition     = length(data.molecule_org_api_keys.all.keys) < 450
    error_message = "${length(data.molecule_org_api_keys.all.keys)} live keys: the service lists only its newest 500. Revoke keys nobody uses."
  }
}
