//go:build unix

// Unix only, like the CLI harness of cli_test.go that TestCLI_terraformQueryAdoptsKeys uses.

package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/querycheck"
	"github.com/hashicorp/terraform-plugin-testing/querycheck/queryfilter"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// queryConfig is a query file: the provider and the given list blocks.
func queryConfig(lists ...string) string {
	return "provider \"molecule\" {}\n" + strings.Join(lists, "")
}

// listBlock is a list block of molecule_org_api_key named name, with config attributes attrs.
func listBlock(name string, includeResource bool, attrs string) string {
	return fmt.Sprintf("\nlist \"molecule_org_api_key\" %q {\n  provider         = molecule\n  include_resource = %t\n  config {\n%s  }\n}\n",
		name, includeResource, attrs)
}

func byID(id string) queryfilter.QueryFilter {
	return queryfilter.ByResourceIdentity(map[string]knownvalue.Check{"id": knownvalue.StringExact(id)})
}

// expectFound asserts that list block addr found exactly these keys.
func expectFound(addr string, keys ...client.Token) []querycheck.QueryResultCheck {
	checks := []querycheck.QueryResultCheck{querycheck.ExpectLength(addr, len(keys))}
	for _, k := range keys {
		checks = append(checks, querycheck.ExpectIdentity(addr, map[string]knownvalue.Check{"id": knownvalue.StringExact(k.ID)}))
	}
	return checks
}

// expectListRequests checks, once the query has run, how many list requests the emulator served.
type expectListRequests struct {
	emu  *emulator.Server
	want int
}

func (c expectListRequests) CheckQuery(_ context.Context, _ querycheck.CheckQueryRequest, resp *querycheck.CheckQueryResponse) {
	if got := c.emu.RequestCount(emulator.EndpointList); got != c.want {
		resp.Error = fmt.Errorf("the query made %d list requests, want %d", got, c.want)
	}
}

// expectDisplayName is what a result shows for k: its name, else its prefix as Canvas shows it,
// else (the guide's list has no prefix) its id.
func (e *testEnv) expectDisplayName(k client.Token) knownvalue.Check {
	switch {
	case k.Name != "":
		return knownvalue.StringExact(k.Name)
	case e.guide():
		return knownvalue.StringExact(k.ID)
	}
	return knownvalue.StringExact(k.Prefix + "…")
}

// TestAccOrgAPIKeyListResource_query finds keys made outside Terraform, and checks
// each result: its identity, its display name and the resource it carries, which holds no secret.
func TestAccOrgAPIKeyListResource_query(t *testing.T) {
	requireCLI(t, featureQuery)
	t.Parallel()
	e := newTestEnv(t)
	prefix := e.name("query") + "-"
	ci, agent := e.seed(prefix+"ci"), e.seed(prefix+"agent")
	const addr = "molecule_org_api_key.found"
	createdBy := e.createdBy()

	checks := expectFound(addr, ci, agent)
	for _, k := range []client.Token{ci, agent} {
		checks = append(checks,
			querycheck.ExpectResourceDisplayName(addr, byID(k.ID), e.expectDisplayName(k)),
			querycheck.ExpectResourceKnownValues(addr, byID(k.ID), []querycheck.KnownValueCheck{
				{Path: tfjsonpath.New("id"), KnownValue: knownvalue.StringExact(k.ID)},
				{Path: tfjsonpath.New("name"), KnownValue: knownvalue.StringExact(k.Name)},
				{Path: tfjsonpath.New("prefix"), KnownValue: e.listedPrefix(k)},
				{Path: tfjsonpath.New("key"), KnownValue: knownvalue.Null()},
				{Path: tfjsonpath.New("created_by"), KnownValue: knownvalue.StringExact(createdBy)},
				{Path: tfjsonpath.New("created_at"), KnownValue: knownvalue.StringRegexp(timestampRegexp)},
				{Path: tfjsonpath.New("last_used_at"), KnownValue: knownvalue.Null()},
				{Path: tfjsonpath.New("rotate_after"), KnownValue: knownvalue.Null()},
				{Path: tfjsonpath.New("rotate_at"), KnownValue: knownvalue.Null()},
				{Path: tfjsonpath.New("rotation_triggers"), KnownValue: knownvalue.Null()},
			}))
	}
	if e.emu != nil {
		// Two list blocks, one list request: the shared snapshot answers both.
		checks = append(checks, expectListRequests{emu: e.emu, want: 1})
	}
	checks = append(checks, expectFound("molecule_org_api_key.ci", ci)...)

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{{
			PreConfig: func() {
				if e.emu != nil {
					e.emu.ResetCounts()
				}
			},
			Query: true,
			Config: queryConfig(
				listBlock("found", true, fmt.Sprintf("    name_prefix = %q\n", prefix)),
				listBlock("ci", false, fmt.Sprintf("    name_regex = %q\n", "^"+regexp.QuoteMeta(prefix)+"ci$")),
			),
			QueryResultChecks: checks,
		}},
	})
}

// TestAccOrgAPIKeyListResource_filters seeds keys named and unnamed, used lately, long ago and
// never, and checks every filter and a combination of them.
func TestAccOrgAPIKeyListResource_filters(t *testing.T) {
	requireCLI(t, featureQuery)
	t.Parallel()
	// Seeds creators and last use times, which only the emulator allows.
	e := newTestEnv(t, emulatorOnly)
	session := "session"
	day := 24 * time.Hour
	seed := func(name, createdBy string, age time.Duration, lastUsed *time.Duration) client.Token {
		k := emulator.SeedKey{Name: name, CreatedBy: createdBy, CreatedAt: timeAgo(age)}
		if lastUsed != nil {
			at := timeAgo(*lastUsed)
			k.LastUsedAt = &at
		}
		s, _ := e.emu.Seed(k)
		return client.Token{ID: s.ID, Name: s.Name, Prefix: s.Prefix, CreatedBy: s.CreatedBy, CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt}
	}
	ago := func(d time.Duration) *time.Duration { return &d }
	fresh := seed("svc-fresh", "", 200*day, ago(time.Hour))
	stale := seed("svc-stale", "", 190*day, ago(60*day))
	never := seed("svc-never", "", 180*day, nil)
	unnamed := seed("", session, 170*day, ago(100*day))
	bot := seed("bot-recent", session, 160*day, ago(2*time.Hour))

	// The credential is found too where the emulator lists it: it has a name and is in use.
	var own []client.Token
	for _, id := range e.withCredential() {
		own = append(own, client.Token{ID: id})
	}
	const all = "molecule_org_api_key.all"
	checks := expectFound(all, append([]client.Token{fresh, stale, never, unnamed, bot}, own...)...)
	checks = append(checks,
		querycheck.ExpectResourceDisplayName(all, byID(unnamed.ID), e.expectDisplayName(unnamed)),
		querycheck.ExpectResourceDisplayName(all, byID(stale.ID), knownvalue.StringExact("svc-stale")),
		// An unnamed key's resource has a null name, as an import stores it.
		querycheck.ExpectResourceKnownValues(all, byID(unnamed.ID), []querycheck.KnownValueCheck{
			{Path: tfjsonpath.New("name"), KnownValue: knownvalue.Null()},
			{Path: tfjsonpath.New("key"), KnownValue: knownvalue.Null()},
			{Path: tfjsonpath.New("prefix"), KnownValue: e.listedPrefix(unnamed)},
			{Path: tfjsonpath.New("created_by"), KnownValue: knownvalue.StringExact(session)},
			{Path: tfjsonpath.New("created_at"), KnownValue: knownvalue.StringExact(unnamed.CreatedAt.Format(time.RFC3339))},
			{Path: tfjsonpath.New("last_used_at"), KnownValue: knownvalue.StringExact(unnamed.LastUsedAt.Format(time.RFC3339))},
		}),
		expectListRequests{emu: e.emu, want: 1},
	)
	checks = append(checks, expectFound("molecule_org_api_key.prefix", fresh, stale, never)...)
	checks = append(checks, expectFound("molecule_org_api_key.regex", fresh, stale)...)
	checks = append(checks, expectFound("molecule_org_api_key.created_by", unnamed, bot)...)
	checks = append(checks, expectFound("molecule_org_api_key.stale_30d", stale, never, unnamed)...)
	// 80 days back: the key used 60 days ago is recent enough.
	checks = append(checks, expectFound("molecule_org_api_key.stale_since", never, unnamed)...)
	checks = append(checks, expectFound("molecule_org_api_key.never_used", never)...)
	checks = append(checks, expectFound("molecule_org_api_key.used_or_not", append([]client.Token{fresh, stale, never, unnamed, bot}, own...)...)...)
	checks = append(checks, expectFound("molecule_org_api_key.combined", stale, never)...)
	checks = append(checks, expectFound("molecule_org_api_key.nothing")...)

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{{
			Query: true,
			Config: queryConfig(
				listBlock("all", true, ""),
				listBlock("prefix", false, "    name_prefix = \"svc-\"\n"),
				listBlock("regex", false, "    name_regex = \"(fresh|stale)$\"\n"),
				listBlock("created_by", false, fmt.Sprintf("    created_by = %q\n", session)),
				listBlock("stale_30d", false, "    not_used_since = \"720h\"\n"),
				listBlock("stale_since", false, fmt.Sprintf("    not_used_since = %q\n", timeAgo(80*day).Format(time.RFC3339))),
				listBlock("never_used", false, "    never_used = true\n"),
				listBlock("used_or_not", false, "    never_used = false\n"),
				listBlock("combined", false, "    name_prefix    = \"svc-\"\n    not_used_since = \"720h\"\n"),
				listBlock("nothing", false, "    name_prefix = \"svc-\"\n    created_by  = \"org-token:nobody00\"\n"),
			),
			QueryResultChecks: checks,
		}},
	})
}

// TestAccOrgAPIKeyListResource_invalidConfig checks that a bad filter is refused before any request.
func TestAccOrgAPIKeyListResource_invalidConfig(t *testing.T) {
	requireCLI(t, featureQuery)
	t.Parallel()
	for name, tc := range map[string]struct {
		attrs string
		want  *regexp.Regexp
	}{
		"not a duration": {"    not_used_since = \"a month\"\n", errorPattern("Invalid Duration or Time", `"a month" is neither a duration`)},
		"too short":      {"    not_used_since = \"30s\"\n", errorPattern("Invalid Duration or Time", "out of range")},
		"negative":       {"    not_used_since = \"-720h\"\n", errorPattern("Invalid Duration or Time", "out of range")},
		"regex":          {"    name_regex = \"([\"\n", errorPattern("Invalid Regular Expression", "missing closing ]")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, emulatorOnly)
			tfresource.Test(t, tfresource.TestCase{
				ProtoV6ProviderFactories: e.factories(),
				Steps: []tfresource.TestStep{{
					Query:       true,
					Config:      queryConfig(listBlock("bad", false, tc.attrs)),
					ExpectError: tc.want,
				}},
			})
			if n := e.emu.RequestCount(emulator.EndpointList); n != 0 {
				t.Fatalf("an invalid filter must be refused before any request; %d list requests were made", n)
			}
		})
	}
}

// listHarness calls the list resource directly, as the framework would, without a CLI.
type listHarness struct {
	t            *testing.T
	lr           *orgAPIKeyListResource
	res          *resourceHarness
	configSchema list.ListResourceSchemaResponse
}

func newListHarness(t *testing.T, e *testEnv) *listHarness {
	t.Helper()
	ctx := context.Background()
	h := &listHarness{t: t, lr: &orgAPIKeyListResource{}, res: newResourceHarness(t, e, nil)}
	var cr resource.ConfigureResponse
	h.lr.Configure(ctx, resource.ConfigureRequest{ProviderData: e.configured(nil).ListResourceData}, &cr)
	if cr.Diagnostics.HasError() {
		t.Fatal(cr.Diagnostics)
	}
	h.lr.ListResourceConfigSchema(ctx, list.ListResourceSchemaRequest{}, &h.configSchema)
	return h
}

// list runs the list resource with cfg and returns every result it streams.
func (h *listHarness) list(cfg orgAPIKeyListResourceModel, includeResource bool, limit int64) []list.ListResult {
	h.t.Helper()
	ctx := context.Background()
	s := tfsdk.State{Schema: h.configSchema.Schema, Raw: tftypes.NewValue(h.configSchema.Schema.Type().TerraformType(ctx), nil)}
	if d := s.Set(ctx, cfg); d.HasError() {
		h.t.Fatal(d)
	}
	var stream list.ListResultsStream
	h.lr.List(ctx, list.ListRequest{
		Config:                 tfsdk.Config{Schema: h.configSchema.Schema, Raw: s.Raw},
		IncludeResource:        includeResource,
		Limit:                  limit,
		ResourceSchema:         h.res.schema.Schema,
		ResourceIdentitySchema: h.res.identity.IdentitySchema,
	}, &stream)
	var out []list.ListResult
	for r := range stream.Results {
		out = append(out, r)
	}
	return out
}

// readAfterImport is the state Read stores after importing the key with this id, as
// terraform apply does with an import block.
func (h *listHarness) readAfterImport(id string) orgAPIKeyResourceModel {
	h.t.Helper()
	ctx := context.Background()
	imported := h.res.state(nil)
	if d := imported.SetAttribute(ctx, path.Root("id"), id); d.HasError() {
		h.t.Fatal(d)
	}
	resp := h.res.read(imported)
	if resp.Diagnostics.HasError() {
		h.t.Fatal(resp.Diagnostics)
	}
	var m orgAPIKeyResourceModel
	if d := resp.State.Get(ctx, &m); d.HasError() {
		h.t.Fatal(d)
	}
	return m
}

var noFilters = orgAPIKeyListResourceModel{
	NamePrefix: types.StringNull(), NameRegex: types.StringNull(), CreatedBy: types.StringNull(),
	NotUsedSince: types.StringNull(), NeverUsed: types.BoolNull(),
}

// The resource a result carries is what a Read after import stores, field for field, for named
// and unnamed keys, used or not: configuration generated from it plans no change.
func TestOrgAPIKeyListResource_resourceMatchesImport(t *testing.T) {
	t.Parallel()
	testResourceMatchesImport(t, newTestEnv(t, emulatorOnly))
}

// The guide's list has no prefixes: an unnamed key is shown by its id, and the resource a result
// carries has no prefix, as an import would store.
func TestOrgAPIKeyListResource_guideShape(t *testing.T) {
	t.Parallel()
	testResourceMatchesImport(t, newTestEnv(t, inGuideShape))
}

func testResourceMatchesImport(t *testing.T, e *testEnv) {
	used := timeAgo(3 * time.Hour)
	seeded := map[string]client.Token{}
	for _, k := range []emulator.SeedKey{{Name: "named", LastUsedAt: &used}, {Name: "", CreatedBy: "session"}} {
		s, _ := e.emu.Seed(k)
		seeded[s.ID] = client.Token{ID: s.ID, Name: s.Name, Prefix: s.Prefix}
	}
	h := newListHarness(t, e)
	results := h.list(noFilters, true, 0)
	if want := len(e.withCredential()) + len(seeded); len(results) != want {
		t.Fatalf("want %d results (the credential's among them, when it is listed), got %d", want, len(results))
	}
	for _, r := range results {
		if r.Diagnostics.HasError() {
			t.Fatal(r.Diagnostics)
		}
		var identity orgAPIKeyIdentityModel
		if d := r.Identity.Get(context.Background(), &identity); d.HasError() {
			t.Fatal(d)
		}
		var listed orgAPIKeyResourceModel
		if d := r.Resource.Get(context.Background(), &listed); d.HasError() {
			t.Fatal(d)
		}
		if listed.ID != identity.ID {
			t.Errorf("result %q: identity %s, resource id %s", r.DisplayName, identity.ID, listed.ID)
		}
		if k, ok := seeded[identity.ID.ValueString()]; ok {
			if err := e.expectDisplayName(k).CheckValue(r.DisplayName); err != nil {
				t.Errorf("key %s: display name: %v", k.ID, err)
			}
		}
		imported := h.readAfterImport(identity.ID.ValueString())
		if identity.ID.ValueString() == e.emu.OrgKeyID() {
			// The provider's own credential is used by every request, the read's own among them:
			// its last_used_at moves between the list and the read.
			imported.LastUsedAt = listed.LastUsedAt
		}
		if !listed.equal(imported) {
			t.Errorf("result %q carries\n  %+v\nbut a Read after import stores\n  %+v", r.DisplayName, listed, imported)
		}
	}
}

func (m orgAPIKeyResourceModel) equal(o orgAPIKeyResourceModel) bool {
	return m.ID.Equal(o.ID) && m.Name.Equal(o.Name) && m.Prefix.Equal(o.Prefix) && m.Key.Equal(o.Key) &&
		m.CreatedBy.Equal(o.CreatedBy) && m.CreatedAt.Equal(o.CreatedAt) && m.LastUsedAt.Equal(o.LastUsedAt) &&
		m.RotateAfter.Equal(o.RotateAfter) && m.RotateAt.Equal(o.RotateAt) && m.RotationTriggers.Equal(o.RotationTriggers) &&
		m.Lifetime.Equal(o.Lifetime) && m.ExpiresAt.Equal(o.ExpiresAt)
}

// With 500 live keys the service's list may be cut short, and the query says so once, in a
// result of its own that Terraform does not count; with 499 nothing warns. Either way the query
// costs one list request, and honours the list block's limit.
func TestOrgAPIKeyListResource_incompleteListWarns(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	fillers := fillWithKeys(e, client.ServiceListMax)
	run := func(t *testing.T, limit int64, wantKeys int, wantWarning bool) {
		t.Helper()
		e.emu.ResetCounts()
		results := newListHarness(t, e).list(noFilters, false, limit)
		if n := e.emu.RequestCount(emulator.EndpointList); n != 1 {
			t.Fatalf("the query made %d list requests, want 1", n)
		}
		var keys, warnings int
		for _, r := range results {
			if r.Diagnostics.HasError() {
				t.Fatal(r.Diagnostics)
			}
			if r.Identity == nil {
				for _, w := range r.Diagnostics.Warnings() {
					if w.Summary() != "Org API Key List May Be Incomplete" || !strings.Contains(w.Detail(), "missing from the results") {
						t.Fatalf("unexpected warning: %s: %s", w.Summary(), w.Detail())
					}
					warnings++
				}
				continue
			}
			keys++
		}
		if keys != wantKeys {
			t.Errorf("the query found %d keys, want %d", keys, wantKeys)
		}
		if want := map[bool]int{true: 1, false: 0}[wantWarning]; warnings != want {
			t.Errorf("the query warned %d times, want %d", warnings, want)
		}
	}
	t.Run("500 keys", func(t *testing.T) { run(t, 0, client.ServiceListMax, true) })
	t.Run("500 keys, limit 100", func(t *testing.T) { run(t, 100, 100, true) })
	if !e.emu.Revoke(fillers[0].ID) {
		t.Fatal("filler was not live")
	}
	t.Run("499 keys", func(t *testing.T) { run(t, 0, client.ServiceListMax-1, false) })
}

// A query of a hosted organization without its routing header fails, saying what to set.
func TestOrgAPIKeyListResource_routingFailure(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly, hostedOrg(emulator.BuildJune2026))
	listed := e.seed(e.name("listed"))
	for name, orgID := range map[string]string{"without org_id": "", "another org_id": newUUID()} {
		unrouted := *e
		unrouted.orgID = orgID
		results := newListHarness(t, &unrouted).list(noFilters, false, 0)
		if len(results) != 1 || !results[0].Diagnostics.HasError() {
			t.Fatalf("%s: want one error result, got %d results", name, len(results))
		}
		d := results[0].Diagnostics.Errors()[0]
		want := []string{"TENANT_ORG_HEADER_REQUIRED", "set the provider's org_id attribute, or the MOLECULE_ORG_ID environment variable"}
		if orgID != "" {
			want = []string{"GET " + e.endpoint + "/org/tokens: HTTP 404 Not Found (empty body)", "another organization's id"}
		}
		for _, w := range append(want, "Unable to List Org API Keys") {
			if !strings.Contains(d.Summary()+": "+d.Detail(), w) {
				t.Errorf("%s: %s: %s does not say %q", name, d.Summary(), d.Detail(), w)
			}
		}
	}
	named := noFilters
	named.NamePrefix = types.StringValue(listed.Name)
	if n := newListHarness(t, e).list(named, false, 0); len(n) != 1 || n[0].Diagnostics.HasError() {
		t.Fatalf("with org_id the query must find the key: %d results", len(n))
	}
}

func TestOrgAPIKeyListResource_staleFilter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	at := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	recent, old, never := at("2026-05-31T12:00:00Z"), at("2026-04-01T00:00:00Z"), (*time.Time)(nil)
	for _, tc := range []struct {
		notUsedSince types.String
		neverUsed    types.Bool
		want         []*time.Time // the keys kept, of recent, old and never
	}{
		{types.StringNull(), types.BoolNull(), []*time.Time{recent, old, never}},
		{types.StringNull(), types.BoolValue(false), []*time.Time{recent, old, never}},
		{types.StringNull(), types.BoolValue(true), []*time.Time{never}},
		{types.StringValue("720h"), types.BoolNull(), []*time.Time{old, never}},
		{types.StringValue("1m"), types.BoolNull(), []*time.Time{recent, old, never}},
		{types.StringValue("2026-04-01T00:00:00Z"), types.BoolNull(), []*time.Time{never}},
		{types.StringValue("2026-04-01T00:00:01Z"), types.BoolNull(), []*time.Time{old, never}},
		{types.StringValue("2026-04-01T02:00:01+02:00"), types.BoolNull(), []*time.Time{old, never}},
		{types.StringValue("720h"), types.BoolValue(true), []*time.Time{never}},
	} {
		f, err := newStaleFilter(tc.notUsedSince, tc.neverUsed, now)
		if err != nil {
			t.Fatalf("%s: %v", tc.notUsedSince, err)
		}
		var got []*time.Time
		for _, k := range []*time.Time{recent, old, never} {
			if f.match(client.Token{LastUsedAt: k}) {
				got = append(got, k)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("not_used_since %s, never_used %s: kept %v, want %v", tc.notUsedSince, tc.neverUsed, got, tc.want)
		}
	}
	for _, bad := range []string{"", "a month", "30s", "-720h", "87601h", "2026-04-01"} {
		if _, err := newStaleFilter(types.StringValue(bad), types.BoolNull(), now); err == nil {
			t.Errorf("not_used_since %q was accepted", bad)
		}
	}
}

// cliProviderOnly is a root module with the provider and nothing else, for queries to fill.
const cliProviderOnly = `
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}
`

// TestCLI_terraformQueryAdoptsKeys adopts keys made outside Terraform the way the guide tells a
// user to, with the real CLI: terraform query writes configuration for them, terraform apply
// imports them without minting or revoking anything, and the plan after it is empty.
func TestCLI_terraformQueryAdoptsKeys(t *testing.T) {
	requireCLI(t, featureQuery)
	t.Parallel()
	c := newCLIEnv(t, emulator.Options{})
	used := timeAgo(90 * 24 * time.Hour)
	named, _ := c.emu.Seed(emulator.SeedKey{Name: "svc-ci"})
	unnamed, _ := c.emu.Seed(emulator.SeedKey{CreatedBy: "session", LastUsedAt: &used})
	stale, _ := c.emu.Seed(emulator.SeedKey{Name: "svc-stale", LastUsedAt: &used})
	// Used an hour ago: the query's not_used_since leaves it out.
	recent := timeAgo(time.Hour)
	c.emu.Seed(emulator.SeedKey{Name: "svc-busy", LastUsedAt: &recent})
	adopted := map[string]bool{named.ID: true, unnamed.ID: true, stale.ID: true}

	c.writeConfig(cliProviderOnly)
	query := `list "molecule_org_api_key" "adopt" {
  provider         = molecule
  include_resource = true

  config {
    not_used_since = "720h"
  }
}
`
	if err := os.WriteFile(filepath.Join(c.dir, "adopt.tfquery.hcl"), []byte(query), 0o600); err != nil {
		t.Fatal(err)
	}
	events := len(c.emu.Events())

	res := c.mustRun(nil, "query", "-generate-config-out=generated.tf", "-no-color")
	for _, k := range []emulator.Key{named, stale} {
		if !strings.Contains(string(res.stdout), k.Name) {
			t.Errorf("terraform query does not show %s by its name\n%s", k.ID, res)
		}
	}
	generated, err := os.ReadFile(filepath.Join(c.dir, "generated.tf"))
	if err != nil {
		t.Fatalf("terraform query wrote no configuration: %v\n%s", err, res)
	}
	t.Logf("generated configuration:\n%s", generated)
	if n := strings.Count(string(generated), "resource \"molecule_org_api_key\""); n != len(adopted) {
		t.Errorf("generated %d resources, want %d", n, len(adopted))
	}
	for id := range adopted {
		if !strings.Contains(string(generated), fmt.Sprintf("id = %q", id)) {
			t.Errorf("the generated configuration imports no key with id %s", id)
		}
	}
	// Configuration names only what a user sets; never a computed value, least of all a key.
	for _, attr := range []string{"key", "prefix", "created_at", "created_by", "last_used_at", "rotate_at"} {
		if regexp.MustCompile(`(?m)^\s+` + attr + `\s+=`).Match(generated) {
			t.Errorf("the generated configuration sets the computed attribute %s", attr)
		}
	}

	c.emu.ResetCounts()
	apply := c.mustRun(nil, "apply", "-auto-approve", "-input=false", "-no-color")
	if !strings.Contains(string(apply.stdout), "3 imported, 0 added, 0 changed, 0 destroyed") {
		t.Errorf("the apply did not only import\n%s", apply)
	}
	counts := c.emu.RequestCounts()
	// Every import reads from one shared list, as the guide promises.
	if n := counts[emulator.EndpointList]; n != 1 {
		t.Errorf("importing %d keys made %d list requests, want 1", len(adopted), n)
	}
	if counts[emulator.EndpointMint] != 0 || counts[emulator.EndpointRevoke] != 0 {
		t.Errorf("importing made %d mint and %d revoke requests, want none", counts[emulator.EndpointMint], counts[emulator.EndpointRevoke])
	}
	if n := len(c.emu.Events()); n != events {
		t.Errorf("the service recorded %d mints or revocations during query and apply, want none", n-events)
	}
	if n := len(mintedKeys(c.emu)); n != 4 {
		t.Errorf("%d keys are live after the import, want the 4 seeded", n)
	}

	keys := c.managedKeys()
	if len(keys) != len(adopted) {
		t.Fatalf("want %d keys in state, got %d", len(adopted), len(keys))
	}
	for _, r := range keys {
		id, _ := r.Values["id"].(string)
		if !adopted[id] {
			t.Errorf("%s holds key %s, which the query should have left out", r.Address, id)
		}
		if r.Values["key"] != nil {
			t.Errorf("%s has a plaintext key in state after an import", r.Address)
		}
		if id == unnamed.ID && r.Values["name"] != nil {
			t.Errorf("%s (unnamed) has name %v in state", r.Address, r.Values["name"])
		}
	}

	if plan := c.run(nil, "plan", "-detailed-exitcode", "-input=false", "-no-color"); plan.code != 0 {
		t.Errorf("want an empty plan after the import (exit code 0)\n%s", plan)
	}
}

// The list resource's page writes its schema out by hand, so that make docs gives the same page
// on a Terraform that reports no list resource schemas; this keeps it in step with the code:
// every argument listed once, with its type and its description, and nothing else.
func TestOrgAPIKeyListResource_docsMatchSchema(t *testing.T) {
	t.Parallel()
	page, err := os.ReadFile(filepath.Join("..", "..", "docs", "list-resources", "org_api_key.md"))
	if err != nil {
		t.Fatalf("%v (run make docs)", err)
	}
	_, optional, ok := strings.Cut(string(page), "\n### Optional\n")
	if !ok {
		t.Fatal("the page has no \"### Optional\" section")
	}
	optional, _, _ = strings.Cut(optional, "\n## ")
	var documented []string
	for _, line := range strings.Split(optional, "\n") {
		if strings.HasPrefix(line, "- `") {
			documented = append(documented, line)
		}
	}

	var resp list.ListResourceSchemaResponse
	NewOrgAPIKeyListResource().ListResourceConfigSchema(context.Background(), list.ListResourceSchemaRequest{}, &resp)
	var want []string
	for name, a := range resp.Schema.Attributes {
		typ := map[string]string{"basetypes.StringType": "String", "basetypes.BoolType": "Boolean"}[fmt.Sprintf("%T", a.GetType())]
		if typ == "" || !a.IsOptional() {
			t.Fatalf("argument %s (%T) is not an optional string or bool: document it by hand", name, a.GetType())
		}
		want = append(want, fmt.Sprintf("- `%s` (%s) %s", name, typ, a.GetMarkdownDescription()))
	}
	slices.Sort(want)
	if !slices.Equal(documented, want) {
		t.Errorf("docs/list-resources/org_api_key.md documents\n  %s\nbut the schema is\n  %s\nUpdate templates/list-resources/org_api_key.md.tmpl and run make docs.",
			strings.Join(documented, "\n  "), strings.Join(want, "\n  "))
	}
}
