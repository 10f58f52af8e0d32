# A key that exists only while Terraform runs: minted when Terraform opens the ephemeral
# resource (once during plan, once more during apply) and revoked when it closes it. Its
# plaintext never reaches the plan or the state file. Each of those mints counts against the
# service's quota of 10 mints an hour (per organization on the hosted service).
ephemeral "molecule_org_api_key" "run" {
  name = "terraform-run"
}

# Provider configuration accepts ephemeral values. This second configuration of the provider
# authenticates with the short-lived key, so the long-lived credential of the default
# configuration (from MOLECULE_ORG_TOKEN or MOLECULE_ADMIN_TOKEN) only ever mints that key.
# The organization still comes from MOLECULE_ORG or MOLECULE_ENDPOINT (and MOLECULE_ORG_ID).
provider "molecule" {
  alias = "run"
  token = ephemeral.molecule_org_api_key.run.key
}

# Minted with the short-lived key: its created_by is "org-token:" followed by that key's prefix
# (ephemeral.molecule_org_api_key.run.prefix). Later runs refresh and destroy it with new
# short-lived keys.
resource "molecule_org_api_key" "agent" {
  provider = molecule.run
  name     = "claude-agent-prod"
}
