package main

import (
	"context"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	molecule "github.com/molecule-ai/terraform-provider-molecule/internal/provider"
)

// schemas is what Terraform receives of p's schema: every object type, and the resource identity.
type schemas struct {
	Provider *tfprotov6.GetProviderSchemaResponse
	Identity *tfprotov6.GetResourceIdentitySchemasResponse
}

func schemasOf(t *testing.T, p provider.Provider) schemas {
	t.Helper()
	ctx := context.Background()
	srv, err := providerserver.NewProtocol6WithError(p)()
	if err != nil {
		t.Fatal(err)
	}
	var s schemas
	if s.Provider, err = srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{}); err != nil {
		t.Fatal(err)
	}
	if s.Identity, err = srv.GetResourceIdentitySchemas(ctx, &tfprotov6.GetResourceIdentitySchemasRequest{}); err != nil {
		t.Fatal(err)
	}
	if len(s.Provider.Diagnostics) > 0 || len(s.Identity.Diagnostics) > 0 {
		t.Fatalf("diagnostics: %v %v", s.Provider.Diagnostics, s.Identity.Diagnostics)
	}
	return s
}

// TestSchemaEqualsTheProvider proves that the floor serves exactly the real provider's schema, as
// Terraform receives it: a floor with another schema would measure another workload.
func TestSchemaEqualsTheProvider(t *testing.T) {
	want := schemasOf(t, molecule.New("floor")())
	if p := want.Provider; len(p.ResourceSchemas) == 0 || len(p.DataSourceSchemas) == 0 || len(p.EphemeralResourceSchemas) == 0 ||
		len(p.ListResourceSchemas) == 0 || len(p.ActionSchemas) == 0 || len(want.Identity.IdentitySchemas) == 0 {
		t.Fatalf("the real provider's schema lacks an object type: %+v", want)
	}
	if diff := cmp.Diff(want, schemasOf(t, newFloor())); diff != "" {
		t.Errorf("the floor's schema differs from the provider's (-provider +floor):\n%s", diff)
	}
}

// TestNewKeyHasTheServiceShape: the floor's state must be as large as the provider's, so its ids
// and plaintexts have the lengths the service's do.
func TestNewKeyHasTheServiceShape(t *testing.T) {
	id, key := newKey()
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("id %q is not a version 4 UUID", id)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(key) {
		t.Errorf("key %q is not 43 characters of base64url", key)
	}
	if !regexp.MustCompile(`^org-token:[A-Za-z0-9_-]{8}$`).MatchString(createdBy) {
		t.Errorf("created_by %q is not an org key's", createdBy)
	}
}
