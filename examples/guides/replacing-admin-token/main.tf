# One named key for every consumer of the organization, plus one for Terraform itself. The first
# apply runs with MOLECULE_ADMIN_TOKEN; every later run uses the Terraform key as
# MOLECULE_ORG_TOKEN.
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

locals {
  # Everything that uses ADMIN_TOKEN today, each under the name it will appear as in Canvas and
  # in created_by attributions.
  consumers = toset([
    "ci-bot",
    "claude-agent-prod",
    "claude-agent-staging",
  ])
}

resource "molecule_org_api_key" "consumer" {
  for_each = local.consumers

  name         = each.key
  rotate_after = "720h" # 30 days

  lifecycle {
    create_before_destroy = true
  }
}

# The key Terraform itself runs with once the bootstrap is done. It has no rotate_after: a run
# that replaced it would revoke the credential it runs with (see "Rotating Terraform's own key").
variable "terraform_key_version" {
  description = "Bump, then apply with -target=molecule_org_api_key.terraform, to rotate Terraform's own key."
  type        = string
  default     = "1"
}

resource "molecule_org_api_key" "terraform" {
  name = "terraform"

  rotation_triggers = {
    version = var.terraform_key_version
  }

  lifecycle {
    create_before_destroy = true
  }
}

output "consumer_keys" {
  description = "Each consumer's key, to hand over with: terraform output -json consumer_keys"
  value       = { for name, k in molecule_org_api_key.consumer : name => k.key }
  sensitive   = true
}

output "terraform_key" {
  description = "Terraform's own key, for MOLECULE_ORG_TOKEN: terraform output -raw terraform_key"
  value       = molecule_org_api_key.terraform.key
  sensitive   = true
}

# A consumer whose key has never been used is still authenticating with something else, most
# likely ADMIN_TOKEN. This list must be empty before ADMIN_TOKEN is rotated.
output "consumers_not_switched" {
  description = "Consumers that have not used their own key yet."
  value       = sort([for name, k in molecule_org_api_key.consumer : name if k.last_used_at == null])
}
