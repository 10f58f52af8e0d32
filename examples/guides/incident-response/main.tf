# Revoke a leaked key and every key minted from it. Run it in three steps:
#   terraform plan -var leaked_prefix=UyJhAK6q        # which key, and what it minted
#   terraform apply -invoke=action.molecule_revoke_org_api_keys.incident -var leaked_prefix=UyJhAK6q
#   terraform apply -invoke=action.molecule_revoke_org_api_keys.incident -var leaked_prefix=UyJhAK6q -var dry_run=false
terraform {
  required_version = ">= 1.14"

  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

variable "leaked_prefix" {
  description = "The first 8 characters of the leaked key: what Canvas shows (UyJhAK6q…) and the start of the leaked plaintext."
  type        = string

  validation {
    condition     = length(var.leaked_prefix) == 8
    error_message = "A prefix is exactly 8 characters. Never paste the whole key here."
  }
}

variable "dry_run" {
  description = "Only report what would be revoked. Set it to false, after reading the report, to revoke."
  type        = bool
  default     = true
}

# The leaked key, found by its prefix. It fails, listing their ids, if two live keys share it.
data "molecule_org_api_key" "leaked" {
  prefix = var.leaked_prefix
}

# The keys the leaked key minted itself. The action follows later generations on its own.
data "molecule_org_api_keys" "minted_by_leaked" {
  created_by = "org-token:${var.leaked_prefix}"
}

output "leaked_key" {
  description = "The key that will be revoked first."
  value       = "${data.molecule_org_api_key.leaked.id} ${coalesce(data.molecule_org_api_key.leaked.name, "(unnamed)")}, minted by ${coalesce(data.molecule_org_api_key.leaked.created_by, "(unknown)")}"
}

output "minted_by_leaked" {
  description = "Keys the leaked key minted, revoked with it."
  value       = [for k in data.molecule_org_api_keys.minted_by_leaked.keys : "${k.id} ${coalesce(k.name, "(unnamed)")}"]
}

action "molecule_revoke_org_api_keys" "incident" {
  config {
    ids     = [data.molecule_org_api_key.leaked.id]
    cascade = true
    dry_run = var.dry_run
  }
}
