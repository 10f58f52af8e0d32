# Every live key that someone made in Canvas, with what an import needs. One list block selects
# each key once: two blocks that both match a key would write two resources for it.
list "molecule_org_api_key" "canvas" {
  provider         = molecule
  include_resource = true
  limit            = 500

  config {
    # "session:<user_id>" in the published API guide's shape.
    created_by = "session"
  }
}
