package provider

import (
	"fmt"
	"regexp"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

const keyDataAddr = "data.molecule_org_api_key.test"

func TestAccOrgAPIKeyDataSource(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	unique, shared := e.name("unique"), e.name("shared")
	one := e.seed(unique)
	dupA, dupB := e.seed(shared), e.seed(shared)

	lookup := func(attr, value string) string {
		return fmt.Sprintf("data \"molecule_org_api_key\" \"test\" {\n  %s = %q\n}\n", attr, value)
	}
	expectKey := func(name, id, createdBy string) []statecheck.StateCheck {
		return []statecheck.StateCheck{
			statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("id"), knownvalue.StringExact(id)),
			statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("name"), knownvalue.StringExact(name)),
			statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("created_by"), knownvalue.StringExact(createdBy)),
			statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("created_at"), knownvalue.StringRegexp(timestampRegexp)),
			statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("last_used_at"), knownvalue.Null()),
		}
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{
			{Config: lookup("id", one.ID), ConfigStateChecks: expectKey(unique, one.ID, one.CreatedBy)},
			{Config: lookup("name", unique), ConfigStateChecks: expectKey(unique, one.ID, one.CreatedBy)},
		},
	})

	for _, tc := range []struct {
		name, config string
		want         *regexp.Regexp
	}{
		{"ambiguous name", lookup("name", shared), regexp.MustCompile(`(?s)2 live org API keys are named.*(` +
			dupA.ID + `,\s+` + dupB.ID + `|` + dupB.ID + `,\s+` + dupA.ID + `)`)},
		{"unknown id", lookup("id", "tok_00000000000000000000"), errorPattern(`No live org API key has id "tok_00000000000000000000"`)},
		{"unknown name", lookup("name", e.name("missing")), errorPattern("No live org API key is named")},
		{"both id and name", fmt.Sprintf("data \"molecule_org_api_key\" \"test\" {\n  id   = %q\n  name = %q\n}\n", one.ID, unique),
			errorPattern("2 attributes specified when one (and only one) of [id,name] is required")},
		{"neither id nor name", "data \"molecule_org_api_key\" \"test\" {}\n",
			errorPattern("No attribute specified when one (and only one) of [id,name] is required")},
		{"invalid name", lookup("name", " "), errorPattern("Invalid Org API Key Name")},
	} {
		t.Run(tc.name, func(t *testing.T) { e.expectError(t, tc.config, tc.want) })
	}
}

func TestAccOrgAPIKeyDataSource_revokedKeyIsNotFound(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	k := e.seed(e.name("revoked"))
	e.revokeOutOfBand(k.ID)

	e.expectError(t, fmt.Sprintf("data \"molecule_org_api_key\" \"test\" {\n  id = %q\n}\n", k.ID),
		errorPattern(`No live org API key has id "`+k.ID+`"`))
}
