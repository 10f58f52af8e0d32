# A key that rotates every 30 days and expires after 40: a scheduled run replaces it before it
# expires, and a key that leaked and was forgotten stops working by itself.
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

resource "molecule_org_api_key" "ci_bot" {
  name         = "ci-bot"
  rotate_after = "720h" # replaced after 30 days…
  lifetime     = "960h" # …and dead after 40 even if no run replaced it

  lifecycle {
    create_before_destroy = true
  }
}

output "ci_bot_expires_at" {
  value = molecule_org_api_key.ci_bot.expires_at
}
