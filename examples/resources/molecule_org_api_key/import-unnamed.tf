# A key made in Canvas without a name: leave `name` unset, and the plan after the import is
# empty. Setting a name would replace the key, since the service cannot rename one.
import {
  to = molecule_org_api_key.canvas_key
  id = "3f1c9a2e-7b4d-4e8a-9c61-0d2f5b8e7a13"
}

resource "molecule_org_api_key" "canvas_key" {}
