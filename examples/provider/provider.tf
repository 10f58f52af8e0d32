# The organization and the credential usually come from the environment:
#   export MOLECULE_ORG=acme
#   export MOLECULE_ORG_ID=ea3cfcf1-cb9c-53b4-90fd-c53123569c4a   (the organization's UUID)
#   export MOLECULE_ORG_TOKEN=...   (an org API key, or MOLECULE_ADMIN_TOKEN for the bootstrap credential)
provider "molecule" {}

# Or explicitly, with the credential from a variable. A hosted organization answers only requests
# that carry its UUID, org_id.
provider "molecule" {
  alias    = "staging"
  endpoint = "https://acme-staging.moleculesai.app"
  org_id   = "5d1c1d7e-7c53-4a55-9f1e-2f4cbb0a8f01"
  token    = var.molecule_staging_token
}

# A self-hosted deployment of the Molecule platform serves the same API at its own base URL.
# Plain http:// is accepted only for loopback hosts.
provider "molecule" {
  alias    = "self_hosted"
  endpoint = "https://molecule.internal.example.com"
  token    = var.molecule_self_hosted_token
}

variable "molecule_staging_token" {
  type      = string
  sensitive = true
}

variable "molecule_self_hosted_token" {
  type      = string
  sensitive = true
}
