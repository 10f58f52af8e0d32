# The demo configuration `make demo` applies against the local emulator.
# The endpoint and credential come from MOLECULE_ENDPOINT and MOLECULE_ADMIN_TOKEN.
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

resource "molecule_org_api_key" "ci_bot" {
  name = "demo-ci-bot"
}

resource "molecule_org_api_key" "agent" {
  name = "demo-claude-agent"
}

data "molecule_org_api_keys" "demo" {
  name_prefix = "demo-"

  depends_on = [molecule_org_api_key.ci_bot, molecule_org_api_key.agent]
}

output "ci_bot" {
  description = "The CI bot's key: metadata only, the secret stays in state."
  value = {
    id         = molecule_org_api_key.ci_bot.id
    name       = molecule_org_api_key.ci_bot.name
    prefix     = molecule_org_api_key.ci_bot.prefix
    created_by = molecule_org_api_key.ci_bot.created_by
    created_at = molecule_org_api_key.ci_bot.created_at
  }
}

output "demo_keys" {
  description = "Live keys whose name starts with demo-, as the list data source sees them."
  value       = [for k in data.molecule_org_api_keys.demo.keys : "${k.id}  ${k.prefix}…  ${k.name}  (${k.created_by})"]
}
