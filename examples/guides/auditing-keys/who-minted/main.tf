# Who is "org-token:UyJhAK6q"? Looks up the live key with that prefix and lists every key it
# minted:
#   terraform plan -var prefix=UyJhAK6q
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

variable "prefix" {
  description = "The prefix after org-token: in a key's created_by, such as UyJhAK6q: the first 8 characters of the minting key, as Canvas shows it."
  type        = string
}

# The minting key itself. Only live keys can be looked up: if it has been revoked, this fails
# with "Org API Key Not Found".
data "molecule_org_api_key" "minter" {
  prefix = var.prefix
}

# Every live key it minted.
data "molecule_org_api_keys" "minted" {
  created_by = "org-token:${var.prefix}"
}

output "minter" {
  description = "The key with this prefix: its id, name and who minted it in turn."
  value = {
    id           = data.molecule_org_api_key.minter.id
    name         = data.molecule_org_api_key.minter.name
    created_by   = data.molecule_org_api_key.minter.created_by
    created_at   = data.molecule_org_api_key.minter.created_at
    last_used_at = data.molecule_org_api_key.minter.last_used_at
  }
}

output "minted" {
  description = "The live keys this key minted."
  value       = [for k in data.molecule_org_api_keys.minted.keys : "${k.id} ${coalesce(k.name, "(unnamed)")} (minted ${k.created_at})"]
}
