# Invoke an action explicitly, when it is needed:
#   terraform apply -invoke=action.molecule_revoke_org_api_keys.leaked_key

# A leaked key and every key it minted, and every key those minted.
action "molecule_revoke_org_api_keys" "leaked_key" {
  config {
    ids     = ["a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e"]
    cascade = true
  }
}

# Every key of a retired CI system, by name. As written it only reports what it would revoke;
# remove dry_run to revoke them.
action "molecule_revoke_org_api_keys" "retired_ci" {
  config {
    name_regex = "^ci-legacy-"
    dry_run    = true
  }
}

# Every key minted with the ADMIN_TOKEN, which leaked. The provider must then run with another
# credential: it refuses to revoke the org API key it authenticates with, unless told to.
action "molecule_revoke_org_api_keys" "minted_with_admin_token" {
  config {
    created_by = "admin-token"
  }
}
