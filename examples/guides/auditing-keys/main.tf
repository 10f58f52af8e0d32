# A read-only audit of the organization's keys: nothing here mints or revokes anything. Run it
# with `terraform plan` or `terraform apply` (which only records the outputs) and read the outputs.
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

variable "stale_after" {
  description = "How long a key may go unused before the audit reports it, as a duration such as 2160h (90 days)."
  type        = string
  default     = "2160h"
}

# Every live key, oldest first.
data "molecule_org_api_keys" "all" {}

# Keys for agents, by naming convention.
data "molecule_org_api_keys" "agents" {
  name_regex = "^claude-agent-"
}

# Keys minted with the bootstrap ADMIN_TOKEN.
data "molecule_org_api_keys" "admin_token" {
  created_by = "admin-token"
}

locals {
  keys = data.molecule_org_api_keys.all.keys

  # Everything before this instant is older than stale_after; plantimestamp() is when the plan ran.
  cutoff = timeadd(plantimestamp(), "-${var.stale_after}")

  # A key that was never used counts from when it was minted, so a key minted yesterday is not
  # stale yet but one minted months ago and never used is.
  stale = [
    for k in local.keys : k
    if timecmp(coalesce(k.last_used_at, k.created_at), local.cutoff) < 0
  ]
}

output "never_used" {
  description = "Keys that have never authenticated a request."
  value       = [for k in local.keys : "${k.id} ${k.name} (minted ${k.created_at} by ${k.created_by})" if k.last_used_at == null]
}

output "stale" {
  description = "Keys unused for longer than stale_after: candidates for revocation."
  value       = [for k in local.stale : "${k.id} ${k.name} (last used ${coalesce(k.last_used_at, "never")})"]
}

output "by_origin" {
  description = "Key names by how they were minted: with ADMIN_TOKEN, by another key, or in Canvas."
  value = {
    admin_token = [for k in local.keys : k.name if k.created_by == "admin-token"]
    org_key     = [for k in local.keys : "${k.name} (by ${trimprefix(k.created_by, "org-token:")})" if startswith(k.created_by, "org-token:")]
    canvas      = [for k in local.keys : "${k.name} (by ${trimprefix(k.created_by, "session:")})" if startswith(k.created_by, "session:")]
  }
}

output "keys_per_minter" {
  description = "How many live keys each credential or user has minted."
  value       = { for by, names in { for k in local.keys : k.created_by => k.name... } : by => length(names) }
}

output "shared_names" {
  description = "Names that more than one live key carries, with their ids."
  value       = { for name, ids in { for k in local.keys : k.name => k.id... } : name => ids if length(ids) > 1 }
}

output "agents" {
  description = "Agent keys and when each was last used."
  value       = { for k in data.molecule_org_api_keys.agents.keys : k.id => "${k.name}: ${coalesce(k.last_used_at, "never used")}" }
}

output "minted_with_admin_token" {
  description = "Keys minted with ADMIN_TOKEN. After the switch to named keys, only the bootstrap's keys should be here."
  value       = [for k in data.molecule_org_api_keys.admin_token.keys : "${k.id} ${k.name}"]
}
