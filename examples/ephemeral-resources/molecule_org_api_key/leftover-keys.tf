# Keys of the ephemeral resource above that outlived their run, because Terraform was killed
# before it could close them. A run takes minutes, so a key older than an hour is a leftover.
data "molecule_org_api_keys" "run" {
  name_regex = "^terraform-run$"
}

output "leftover_run_keys" {
  value = [
    for k in data.molecule_org_api_keys.run.keys : "${k.id} (minted ${k.created_at})"
    if timecmp(k.created_at, timeadd(plantimestamp(), "-1h")) < 0
  ]
}
