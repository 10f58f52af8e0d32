# Keys for several consumers, each rotated on its own schedule, on demand, and whenever the
# thing that uses it is redeployed. Run plan and apply on a schedule (daily, say) so that keys
# that fall due are replaced.
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

variable "agent_image" {
  description = "Container image the agents run; deploying a new one also gives them new keys."
  type        = string
}

variable "key_versions" {
  description = "Bump a consumer's entry to rotate its key at the next apply, whatever its age."
  type        = map(string)
  default     = {}
}

locals {
  # Key name => maximum age. With a daily schedule a key lives at most one day longer than this.
  consumers = {
    "ci-bot"            = "720h"  # 30 days
    "claude-agent-prod" = "168h"  # 7 days
    "nightly-export"    = "2160h" # 90 days
  }
}

resource "molecule_org_api_key" "consumer" {
  for_each = local.consumers

  name         = each.key
  rotate_after = each.value

  rotation_triggers = {
    version = lookup(var.key_versions, each.key, "1")
    # Only the agents' keys follow the image.
    image = startswith(each.key, "claude-agent-") ? var.agent_image : ""
  }

  lifecycle {
    create_before_destroy = true
  }
}

output "rotate_at" {
  description = "When each key falls due; the first apply at or after that time replaces it."
  value       = { for name, k in molecule_org_api_key.consumer : name => k.rotate_at }
}

output "keys" {
  description = "The current keys, for the jobs that hand them to their consumers."
  value       = { for name, k in molecule_org_api_key.consumer : name => k.key }
  sensitive   = true
}
