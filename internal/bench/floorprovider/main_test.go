package main

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	molecule "github.com/molecule-ai/terraform-provider-molecule/internal/provider"
)

// TestSchemaEqualsTheProvider proves that the floor serves exactly the real provider's schema,
// every object type and the resource identity included, as Terraform receives them: a floor with
// another schema would measure another workload.
func TestSchemaEqualsTheProvider(t *testing.T) {
	ctx := context.Background()
	floor, err := providerserver.NewProtocol6WithError(newFloor())()
	if err != nil {
		t.Fatal(err)
	}
	real, err := providerserver.NewProtocol6WithError(molecule.New("floor")())()
	if err != nil {
		t.Fatal(err)
	}

	want, err := real.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := floor.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Diagnostics) > 0 || len(got.Diagnostics) > 0 {
		t.Fatalf("diagnostics: real %v, floor %v", want.Diagnostics, got.Diagnostics)
	}
	if len(want.ResourceSchemas) == 0 || len(want.DataSourceSchemas) == 0 || len(want.EphemeralResourceSchemas) == 0 ||
		len(want.ListResourceSchemas) == 0 || len(want.ActionSchemas) == 0 {
		t.Fatalf("the real provider's schema lacks an object type: %+v", want)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetProviderSchema: the floor differs from the provider (-provider +floor):\n%s", diff)
	}

	wantID, err := real.GetResourceIdentitySchemas(ctx, &tfprotov6.GetResourceIdentitySchemasRequest{})
	if err != nil {
		t.Fatal(err)
	}
	gotID, err := floor.GetResourceIdentitySchemas(ctx, &tfprotov6.GetResourceIdentitySchemasRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(wantID.IdentitySchemas) == 0 {
		t.Fatal("the real provider has no identity schema")
	}
	if diff := cmp.Diff(wantID, gotID); diff != "" {
		t.Errorf("GetResourceIdentitySchemas: the floor differs from the provider (-provider +floor):\n%s", diff)
	}
}
