import {
  to = molecule_org_api_key.ci_bot
  id = "a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e"
}
