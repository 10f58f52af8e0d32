# Scheduled, zero-downtime rotation of a CI bot's key. Run plan and apply on a schedule
# (daily, say): the first run at or after rotate_at mints a new key, hands it to its
# consumer, and only then revokes the old one.
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

variable "ci_bot_key_version" {
  description = "Bump to rotate the key at the next apply, whatever its age."
  type        = string
  default     = "1"
}

resource "molecule_org_api_key" "ci_bot" {
  name         = "ci-bot"
  rotate_after = "720h" # 30 days

  rotation_triggers = {
    version = var.ci_bot_key_version
  }

  # Mint the replacement first; the old key is revoked only after everything that
  # depends on the key has been given the new one.
  lifecycle {
    create_before_destroy = true
  }
}

# Publishes each new key to where the CI bot reads it. The key travels in the
# environment and on stdin, never on a command line, and Terraform hides the
# command's output because the configuration holds a sensitive value.
resource "terraform_data" "publish_ci_bot_key" {
  triggers_replace = [molecule_org_api_key.ci_bot.id]

  provisioner "local-exec" {
    command = "printenv MOLECULE_ORG_TOKEN | gh secret set MOLECULE_ORG_TOKEN --repo acme/ci-bot"
    environment = {
      MOLECULE_ORG_TOKEN = molecule_org_api_key.ci_bot.key
    }
  }
}

output "ci_bot_rotate_at" {
  description = "When the key falls due; the first apply at or after this time rotates it."
  value       = molecule_org_api_key.ci_bot.rotate_at
}
