# Finds and revokes keys that interrupted runs left behind. Use its own working directory and
# state: `terraform plan` lists the leftovers, `terraform apply` takes them under management
# (changing nothing in the organization) and `terraform destroy` revokes them.
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

# Keys of the ephemeral resource, named terraform-run-<run id>.
data "molecule_org_api_keys" "runs" {
  name_regex = "^terraform-run-"
}

locals {
  # A run takes minutes, so a key older than an hour belongs to no run in progress.
  leftovers = {
    for k in data.molecule_org_api_keys.runs.keys : k.id => k
    if timecmp(k.created_at, timeadd(plantimestamp(), "-1h")) < 0
  }
}

import {
  for_each = local.leftovers
  to       = molecule_org_api_key.leftover[each.key]
  id       = each.key
}

resource "molecule_org_api_key" "leftover" {
  for_each = local.leftovers
  name     = each.value.name
}

output "leftovers" {
  description = "Keys left behind by interrupted runs: the ones apply imports and destroy revokes."
  value       = { for id, k in local.leftovers : id => "${k.name}, minted ${k.created_at} by ${coalesce(k.created_by, "(unknown)")}" }
}
