# Terraform 1.12 and later, and OpenTofu 1.12 and later, can name the key by its identity
# instead of an id string. The identity holds the key's id only, never its secret.
import {
  to = molecule_org_api_key.deploy_bot
  identity = {
    id = "5d0e2b7c-91a4-4f3e-b6d8-2c7a9e14f063"
  }
}

resource "molecule_org_api_key" "deploy_bot" {
  name = "deploy-bot"
}
