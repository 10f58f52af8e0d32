# Keys nobody has used for 30 days, or ever. `terraform query` lists them; with
# `-generate-config-out=generated.tf` it also writes a resource and an import block for each.
list "molecule_org_api_key" "stale" {
  provider         = molecule
  include_resource = true
  # Terraform stops at 100 results unless told otherwise; the service lists at most 500 keys.
  limit = 500

  config {
    not_used_since = "720h"
  }
}
