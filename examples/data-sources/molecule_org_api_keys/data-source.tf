# Every live key minted for CI.
data "molecule_org_api_keys" "ci" {
  name_prefix = "ci-"
}

# Keys minted with the bootstrap ADMIN_TOKEN.
data "molecule_org_api_keys" "bootstrap" {
  created_by = "admin-token"
}

# Keys minted by another org key, named by that key's prefix.
data "molecule_org_api_keys" "minted_by_terraform" {
  created_by = "org-token:UyJhAK6q"
}

# Keys never used, for an audit.
output "never_used" {
  value = [for k in data.molecule_org_api_keys.ci.keys : "${k.id} ${k.name}" if k.last_used_at == null]
}
