# The long-lived credential (MOLECULE_ORG_TOKEN or MOLECULE_ADMIN_TOKEN) only mints a key for
# each run; everything else is done with that short-lived key, which never reaches plan or state.
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

variable "run_id" {
  description = "Identifies the run in the key's name, such as the CI pipeline's run number."
  type        = string
  default     = "local"
}

# Minted when Terraform opens it, revoked when Terraform closes it: once for the plan, once more
# for the apply. The name says where the key came from, so a leftover is easy to trace.
ephemeral "molecule_org_api_key" "run" {
  name = "terraform-run-${var.run_id}"
}

# Provider configuration accepts ephemeral values.
provider "molecule" {
  alias = "run"
  token = ephemeral.molecule_org_api_key.run.key
}

resource "molecule_org_api_key" "agent" {
  provider = molecule.run
  name     = "claude-agent-prod"
}

# So do provisioners: this one-off job gets a key that is revoked when the apply ends. The key
# travels in the environment, never on a command line, and Terraform hides the command's output.
resource "terraform_data" "export_org" {
  provisioner "local-exec" {
    command = "./scripts/export-org.sh > org-export.json"
    environment = {
      MOLECULE_ORG_TOKEN = ephemeral.molecule_org_api_key.run.key
    }
  }
}
