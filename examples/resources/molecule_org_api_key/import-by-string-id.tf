import {
  to = molecule_org_api_key.ci_bot
  id = "tok_01HZX3B7N8PQ9K4M5R6T"
}
