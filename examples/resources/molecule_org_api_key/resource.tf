# A named key for a CI bot. The plaintext is in molecule_org_api_key.ci_bot.key (sensitive).
resource "molecule_org_api_key" "ci_bot" {
  name = "ci-bot"
}

# Hand the one-time secret to whatever needs it, for example as a sensitive output
# that a pipeline reads with `terraform output -raw ci_bot_key`.
output "ci_bot_key" {
  value     = molecule_org_api_key.ci_bot.key
  sensitive = true
}
