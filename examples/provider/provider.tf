# The organization and the credential usually come from the environment:
#   export MOLECULE_ORG=acme
#   export MOLECULE_ORG_TOKEN=mola_...   (or MOLECULE_ADMIN_TOKEN for the bootstrap credential)
provider "molecule" {}

# Or explicitly, with the credential from a variable:
provider "molecule" {
  alias    = "staging"
  endpoint = "https://acme-staging.moleculesai.app"
  token    = var.molecule_staging_token
}

variable "molecule_staging_token" {
  type      = string
  sensitive = true
}
