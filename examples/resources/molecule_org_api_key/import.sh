# Import a live key by its id (a UUID on the deployed service). The plaintext cannot be
# recovered: `key` stays null.
terraform import molecule_org_api_key.ci_bot a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e
