# Keys people made in Canvas ("session:<user_id>" in the published API guide), and the CI keys,
# found by their naming convention, that were never used.
list "molecule_org_api_key" "canvas" {
  provider = molecule

  config {
    created_by = "session"
  }
}

list "molecule_org_api_key" "unused_ci" {
  provider = molecule

  config {
    name_prefix = "ci-"
    never_used  = true
  }
}
