package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

const keyDataAddr = "data.molecule_org_api_key.test"

func keyLookupConfig(attr, value string) string {
	return fmt.Sprintf("data \"molecule_org_api_key\" \"test\" {\n  %s = %q\n}\n", attr, value)
}

// ambiguityPattern matches the error for several keys sharing attr = value, listing their ids in
// one of the given orders.
func ambiguityPattern(attr, value string, orders ...[]string) *regexp.Regexp {
	alternatives := make([]string, len(orders))
	for i, ids := range orders {
		quoted := make([]string, len(ids))
		for j, id := range ids {
			quoted[j] = regexp.QuoteMeta(id)
		}
		alternatives[i] = strings.Join(quoted, `,\s+`)
	}
	return regexp.MustCompile(fmt.Sprintf(`(?s)Org API Key Lookup Is Ambiguous.*%d\s+live\s+org\s+API\s+keys\s+have\s+%s\s+%s:\s+(%s)\.`,
		len(orders[0]), attr, regexp.QuoteMeta(fmt.Sprintf("%q", value)), strings.Join(alternatives, "|")))
}

func TestAccOrgAPIKeyDataSource(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	unique, shared := e.name("unique"), e.name("shared")
	one := e.seed(unique)
	dupA, dupB := e.seed(shared), e.seed(shared)

	expectKey := func(k client.Token) []statecheck.StateCheck {
		return []statecheck.StateCheck{
			statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("id"), knownvalue.StringExact(k.ID)),
			statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("name"), knownvalue.StringExact(k.Name)),
			statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("prefix"), e.listedPrefix(k)),
			statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("created_by"), knownvalue.StringExact(k.CreatedBy)),
			statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("created_at"), knownvalue.StringRegexp(timestampRegexp)),
			statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("last_used_at"), knownvalue.Null()),
		}
	}
	tfresource.Test(t, tfresource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []tfresource.TestStep{
		{Config: keyLookupConfig("id", one.ID), ConfigStateChecks: expectKey(one)},
		{Config: keyLookupConfig("name", unique), ConfigStateChecks: expectKey(one)},
		{Config: keyLookupConfig("prefix", one.Prefix), ConfigStateChecks: expectKey(one)},
	}})

	missingPrefix := "zz~" + one.Prefix[3:]
	for _, tc := range []struct {
		name, config string
		want         *regexp.Regexp
	}{
		{"ambiguous name", keyLookupConfig("name", shared), ambiguityPattern("name", shared, []string{dupA.ID, dupB.ID}, []string{dupB.ID, dupA.ID})},
		{"unknown id", keyLookupConfig("id", e.unknownID()), errorPattern("Org API Key Not Found",
			`No live org API key has id "`+e.unknownID()+`"`, "It may have been revoked")},
		{"unknown name", keyLookupConfig("name", e.name("missing")), errorPattern("Org API Key Not Found", "No live org API key has name")},
		{"unknown prefix", keyLookupConfig("prefix", missingPrefix), errorPattern("Org API Key Not Found",
			`No live org API key has prefix "`+missingPrefix+`"`, "A prefix is the first 8 characters of the key")},
		{"both id and name", fmt.Sprintf("data \"molecule_org_api_key\" \"test\" {\n  id   = %q\n  name = %q\n}\n", one.ID, unique),
			errorPattern("2 attributes specified when one (and only one) of [id,name,prefix] is required")},
		{"name and prefix", fmt.Sprintf("data \"molecule_org_api_key\" \"test\" {\n  name   = %q\n  prefix = %q\n}\n", unique, one.Prefix),
			errorPattern("2 attributes specified when one (and only one) of [id,name,prefix] is required")},
		{"none of id, name, prefix", "data \"molecule_org_api_key\" \"test\" {}\n",
			errorPattern("No attribute specified when one (and only one) of [id,name,prefix] is required")},
		// Canvas accepts names Terraform would not mint; looking one up is no error of its own.
		{"blank name", keyLookupConfig("name", " "), errorPattern("Org API Key Not Found", `No live org API key has name " "`)},
		{"empty prefix", keyLookupConfig("prefix", ""), errorPattern("Invalid Attribute Value Length", "prefix", "at least 1")},
	} {
		t.Run(tc.name, func(t *testing.T) { e.expectError(t, tc.config, tc.want) })
	}
}

// The guide's list reports no prefixes: a key found by id has none, and no key can be found by
// one. A guide prefix ("mola_abc") is shaped like a guide key, so the message redacts it.
func TestAccOrgAPIKeyDataSource_guideShape(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, inGuideShape)
	k := e.seed(e.name("guide"))
	tfresource.Test(t, tfresource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: []tfresource.TestStep{
		{
			Config: keyLookupConfig("id", k.ID),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("name"), knownvalue.StringExact(k.Name)),
				statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("prefix"), knownvalue.Null()),
			},
		},
		{
			Config: keyLookupConfig("prefix", k.Prefix),
			ExpectError: errorPattern(`No live org API key has prefix "mola_[redacted]"`,
				"A prefix is the first 8 characters of the key"),
		},
	}})
}

// Two live keys whose plaintexts share their first 8 characters cannot be told apart by prefix:
// the lookup fails and names both. The emulator draws random keys, so the list that shows such a
// pair is served as the deployed service would write it.
func TestAccOrgAPIKeyDataSource_ambiguousPrefix(t *testing.T) {
	needsFaults(t)
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	a, _ := e.emu.Seed(emulator.SeedKey{Name: "first"})
	b, _ := e.emu.Seed(emulator.SeedKey{Name: "second"})
	const prefix = "UyJhAK6q"
	list := fmt.Sprintf(`{"count":2,"tokens":[`+
		`{"id":%q,"prefix":%q,"name":"second","created_by":"admin-token","created_at":"2026-12-01T19:57:40.530397Z"},`+
		`{"id":%q,"prefix":%q,"name":"first","created_by":"admin-token","created_at":"2026-12-01T19:57:39Z"}]}`,
		b.ID, prefix, a.ID, prefix)
	e.emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Status: 200, Body: list, Times: 100})

	// Ids come sorted by created_at, whatever order the service lists them in.
	e.expectError(t, keyLookupConfig("prefix", prefix), ambiguityPattern("prefix", prefix, []string{a.ID, b.ID}))
}

// An ambiguous lookup lists the ids by created_at, then id, whatever order the service lists
// them in (newest first). Keys seeded out of order, two in one instant, and no other key, so the
// list the emulator serves is not in the sorted order.
func TestAccOrgAPIKeyDataSource_ambiguityListsIDsInOrder(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	const name = "shared"
	base := timeAgo(24 * time.Hour)
	late, _ := e.emu.Seed(emulator.SeedKey{Name: name, CreatedAt: base.Add(2 * time.Hour)})
	tieA, _ := e.emu.Seed(emulator.SeedKey{Name: name, CreatedAt: base})
	mid, _ := e.emu.Seed(emulator.SeedKey{Name: name, CreatedAt: base.Add(time.Hour)})
	tieB, _ := e.emu.Seed(emulator.SeedKey{Name: name, CreatedAt: base})
	first, second := tieA.ID, tieB.ID
	if second < first {
		first, second = second, first
	}
	requireListedOutOfOrder(t, e, first, second, mid.ID, late.ID)
	e.expectError(t, keyLookupConfig("name", name), ambiguityPattern("name", name, []string{first, second, mid.ID, late.ID}))
}

func TestAccOrgAPIKeyDataSource_revokedKeyIsNotFound(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	k := e.seed(e.name("revoked"))
	e.revokeOutOfBand(k.ID)

	e.expectError(t, keyLookupConfig("id", k.ID), errorPattern(`No live org API key has id "`+k.ID+`"`))
}

// dataSourceHarness reads a data source directly, for what the testing harness does not expose:
// its warnings.
type dataSourceHarness struct {
	t      *testing.T
	ds     datasource.DataSource
	schema datasource.SchemaResponse
}

func newDataSourceHarness(t *testing.T, e *testEnv, ds datasource.DataSource) *dataSourceHarness {
	t.Helper()
	var cr datasource.ConfigureResponse
	configurable, ok := ds.(datasource.DataSourceWithConfigure)
	if !ok {
		t.Fatalf("%T cannot be configured", ds)
	}
	configurable.Configure(context.Background(), datasource.ConfigureRequest{ProviderData: e.configured(nil).DataSourceData}, &cr)
	if cr.Diagnostics.HasError() {
		t.Fatal(cr.Diagnostics)
	}
	h := &dataSourceHarness{t: t, ds: ds}
	ds.Schema(context.Background(), datasource.SchemaRequest{}, &h.schema)
	return h
}

// read reads the data source with the configuration model cfg.
func (h *dataSourceHarness) read(cfg any) datasource.ReadResponse {
	h.t.Helper()
	ctx := context.Background()
	typ := h.schema.Schema.Type().TerraformType(ctx)
	s := tfsdk.State{Schema: h.schema.Schema, Raw: tftypes.NewValue(typ, nil)}
	if d := s.Set(ctx, cfg); d.HasError() {
		h.t.Fatal(d)
	}
	resp := datasource.ReadResponse{State: tfsdk.State{Schema: h.schema.Schema, Raw: tftypes.NewValue(typ, nil)}}
	h.ds.Read(ctx, datasource.ReadRequest{Config: tfsdk.Config{Schema: h.schema.Schema, Raw: s.Raw}}, &resp)
	return resp
}

// fillWithKeys seeds keys named filler-<i>, newer than everything before them, until n keys are
// live (the provider's credential among them).
func fillWithKeys(e *testEnv, n int) []emulator.Key {
	var out []emulator.Key
	for i := range n - len(e.emu.LiveKeys()) {
		k, _ := e.emu.Seed(emulator.SeedKey{Name: fmt.Sprintf("filler-%d", i), CreatedAt: time.Now().Add(time.Second)})
		out = append(out, k)
	}
	return out
}

// orgAPIKeyDataSourceModel is the data source's configuration and state, for the tests to build
// the one and read the other.
type orgAPIKeyDataSourceModel struct {
	ID         types.String `tfsdk:"id"`
	Name       types.String `tfsdk:"name"`
	Prefix     types.String `tfsdk:"prefix"`
	CreatedBy  types.String `tfsdk:"created_by"`
	CreatedAt  types.String `tfsdk:"created_at"`
	LastUsedAt types.String `tfsdk:"last_used_at"`
	ExpiresAt  types.String `tfsdk:"expires_at"`
	Expired    types.Bool   `tfsdk:"expired"`
}

// With 500 live keys the service's list may be cut short: a lookup by name or prefix still finds
// a key but warns that an unlisted older key may share it, and a lookup by id does not warn.
// With 499 the list is complete and nothing warns.
func TestOrgAPIKeyDataSource_incompleteListWarns(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	fillers := fillWithKeys(e, client.ServiceListMax)
	target := fillers[len(fillers)-1]
	null := orgAPIKeyDataSourceModel{
		ID: types.StringNull(), Name: types.StringNull(), Prefix: types.StringNull(),
		CreatedBy: types.StringNull(), CreatedAt: types.StringNull(), LastUsedAt: types.StringNull(),
	}
	byName, byID, byPrefix, missing := null, null, null, null
	byName.Name = types.StringValue(target.Name)
	byID.ID = types.StringValue(target.ID)
	byPrefix.Prefix = types.StringValue(target.Prefix)
	missing.Name = types.StringValue("not-there")

	found := func(t *testing.T, cfg orgAPIKeyDataSourceModel, wantWarning bool) {
		t.Helper()
		resp := newDataSourceHarness(t, e, NewOrgAPIKeyDataSource()).read(cfg)
		if resp.Diagnostics.HasError() {
			t.Fatal(resp.Diagnostics)
		}
		var got orgAPIKeyDataSourceModel
		resp.State.Get(context.Background(), &got)
		if got.ID.ValueString() != target.ID {
			t.Fatalf("found key %s, want %s", got.ID, target.ID)
		}
		w := resp.Diagnostics.Warnings()
		switch {
		case !wantWarning && len(w) != 0:
			t.Fatalf("want no warning, got %v", resp.Diagnostics)
		case wantWarning && (len(w) != 1 || w[0].Summary() != "Org API Key Lookup May Be Ambiguous" ||
			!strings.Contains(w[0].Detail(), "may be incomplete") || !strings.Contains(w[0].Detail(), target.ID)):
			t.Fatalf("want one warning that the lookup may be ambiguous, got %v", resp.Diagnostics)
		}
	}

	t.Run("500 keys", func(t *testing.T) {
		found(t, byName, true)
		found(t, byID, false)
		found(t, byPrefix, true)
		resp := newDataSourceHarness(t, e, NewOrgAPIKeyDataSource()).read(missing)
		if !resp.Diagnostics.HasError() || !strings.Contains(diagText(resp.Diagnostics), "may be incomplete") {
			t.Fatalf("a name missing from an incomplete list must fail and say the list may be incomplete, got %v", resp.Diagnostics)
		}
	})
	if !e.emu.Revoke(fillers[0].ID) {
		t.Fatal("filler was not live")
	}
	t.Run("499 keys", func(t *testing.T) {
		found(t, byName, false)
		found(t, byID, false)
		resp := newDataSourceHarness(t, e, NewOrgAPIKeyDataSource()).read(missing)
		if !resp.Diagnostics.HasError() || strings.Contains(diagText(resp.Diagnostics), "may be incomplete") {
			t.Fatalf("a name missing from a complete list must fail without doubt, got %v", resp.Diagnostics)
		}
	})
}
