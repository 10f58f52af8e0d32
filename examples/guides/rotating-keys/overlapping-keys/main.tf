# Two keys for one consumer, rotated in turn, one each calendar month. The consumer is always
# handed the newer key; the older one stays valid for another month, so a process that read it
# before the rotation keeps working until it next restarts.
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

locals {
  # Months since year 0, from the time of the plan: it goes up by one each calendar month.
  month = parseint(formatdate("YYYY", plantimestamp()), 10) * 12 + parseint(formatdate("M", plantimestamp()), 10)

  # Slot "a" is replaced in even months, slot "b" in odd ones.
  slots   = { a = 0, b = 1 }
  current = local.month % 2 == 0 ? "a" : "b"
}

resource "molecule_org_api_key" "agent" {
  for_each = local.slots

  name = "claude-agent-prod-${each.key}"

  rotation_triggers = {
    generation = tostring(floor((local.month + each.value) / 2))
  }
  # No create_before_destroy: the key being replaced is the older one, which has not been
  # handed out for a month.
}

# Hands the current key to the agent whenever the current slot changes. The key travels in the
# environment and on stdin, never on a command line.
resource "terraform_data" "publish" {
  triggers_replace = [molecule_org_api_key.agent[local.current].id]

  provisioner "local-exec" {
    command = "printenv MOLECULE_ORG_TOKEN | gh secret set MOLECULE_ORG_TOKEN --repo acme/claude-agent"
    environment = {
      MOLECULE_ORG_TOKEN = molecule_org_api_key.agent[local.current].key
    }
  }
}
