# The configuration the keys are adopted into. `terraform query` (Terraform 1.14 and later) reads
# the provider from here and the list blocks from adopt.tfquery.hcl beside it.
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}
