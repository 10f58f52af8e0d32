# Check, after the incident, that nothing the action revoked is live and that no live key names a
# revoked key as its minter:
#   terraform plan -var leaked_prefix=UyJhAK6q -var 'revoked_ids=["…", "…"]'
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

variable "leaked_prefix" {
  description = "The first 8 characters of the leaked key."
  type        = string
}

variable "revoked_ids" {
  description = "The ids the action reported as revoked or not live."
  type        = list(string)
  default     = []
}

variable "revoked_prefixes" {
  description = "The prefixes the action reported for the keys it revoked (the leaked key's is included already)."
  type        = list(string)
  default     = []
}

data "molecule_org_api_keys" "all" {}

locals {
  revoked_prefixes = concat([var.leaked_prefix], var.revoked_prefixes)

  still_live = [
    for k in data.molecule_org_api_keys.all.keys : "${k.id} ${coalesce(k.name, "(unnamed)")}"
    if contains(var.revoked_ids, k.id) || contains(local.revoked_prefixes, coalesce(k.prefix, "-"))
  ]

  minted_by_revoked = [
    for k in data.molecule_org_api_keys.all.keys : "${k.id} ${coalesce(k.name, "(unnamed)")} (${k.created_by})"
    if contains([for p in local.revoked_prefixes : "org-token:${p}"], coalesce(k.created_by, "-"))
  ]
}

check "incident_contained" {
  assert {
    condition     = length(local.still_live) == 0
    error_message = "Revoked keys are live again, or were never revoked: ${join(", ", local.still_live)}."
  }

  assert {
    condition     = length(local.minted_by_revoked) == 0
    error_message = "Live keys were minted by revoked keys: ${join(", ", local.minted_by_revoked)}. Invoke the action again with cascade."
  }
}

output "live_keys" {
  description = "How many keys are live now: the service lists at most its newest 500."
  value       = length(data.molecule_org_api_keys.all.keys)
}
