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

# Every live key, oldest first. The service lists only its newest 500 live keys; with more, a
# warning says the audit does not see the oldest ones.
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
  # A key made in Canvas without a name has a null name, and created_by is null when the service
  # does not report it: give both a printable value.
  keys = [
    for k in data.molecule_org_api_keys.all.keys : merge(k, {
      name       = coalesce(k.name, "(unnamed)")
      created_by = coalesce(k.created_by, "(unknown)")
    })
  ]

  # Live keys by prefix, to tell which key is behind created_by = "org-token:<prefix>". A minting
  # key that is not listed has been revoked, or is older than the newest 500.
  name_by_prefix = { for k in local.keys : k.prefix => "${k.name} ${k.id}" if k.prefix != null }

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
    org_key = [
      for k in local.keys :
      "${k.name} (by ${lookup(local.name_by_prefix, trimprefix(k.created_by, "org-token:"), "${k.created_by}, not listed")})"
      if startswith(k.created_by, "org-token:")
    ]
    # "session" on the deployed service; "session:<user id>" in the published guide's shape.
    canvas = [for k in local.keys : k.name if k.created_by == "session" || startswith(k.created_by, "session:")]
  }
}

output "keys_per_minter" {
  description = "How many live keys each credential or user has minted."
  value       = { for by, ids in { for k in local.keys : k.created_by => k.id... } : by => length(ids) }
}

output "shared_names" {
  description = "Names that more than one live key carries, with their ids."
  value = {
    for name, ids in { for k in data.molecule_org_api_keys.all.keys : k.name => k.id... if k.name != null } :
    name => ids if length(ids) > 1
  }
}

output "agents" {
  description = "Agent keys and when each was last used."
  value       = { for k in data.molecule_org_api_keys.agents.keys : k.id => "${k.name}: ${coalesce(k.last_used_at, "never used")}" }
}

output "minted_with_admin_token" {
  description = "Keys minted with ADMIN_TOKEN. After the switch to named keys, only the bootstrap's keys should be here."
  value       = [for k in data.molecule_org_api_keys.admin_token.keys : "${k.id} ${coalesce(k.name, "(unnamed)")}"]
}
