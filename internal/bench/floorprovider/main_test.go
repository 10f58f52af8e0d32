package main

import (
	"context"
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
