# __generated__ by Terraform
# Please review these resources and move them into your main configuration files.

# __generated__ by Terraform
resource "molecule_org_api_key" "canvas_0" {
  provider          = molecule
  name              = "claude-agent-prod"
  rotate_after      = null
  rotation_triggers = null
}

import {
  to       = molecule_org_api_key.canvas_0
  provider = molecule
  identity = {
    id = "a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e"
  }
}

resource "molecule_org_api_key" "canvas_1" {
  provider          = molecule
  name              = null
  rotate_after      = null
  rotation_triggers = null
}

import {
  to       = molecule_org_api_key.canvas_1
  provider = molecule
  identity = {
    id = "6c2f0d9b-58e1-4a7c-9f3e-1b4d7a0c2e85"
  }
}
