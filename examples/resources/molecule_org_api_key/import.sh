# Import a live key by its id. The plaintext cannot be recovered: `key` stays null.
terraform import molecule_org_api_key.ci_bot tok_01HZX3B7N8PQ9K4M5R6T
