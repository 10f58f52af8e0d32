package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

const keysDataAddr = "data.molecule_org_api_keys.test"

func keysConfig(attrs string) string {
	return fmt.Sprintf("data \"molecule_org_api_keys\" \"test\" {\n%s}\n", attrs)
}

// expectIDs asserts the data source returned exactly these keys, in this order.
func expectIDs(ids ...string) statecheck.StateCheck {
	checks := make([]knownvalue.Check, len(ids))
	for i, id := range ids {
		checks[i] = knownvalue.ObjectPartial(map[string]knownvalue.Check{"id": knownvalue.StringExact(id)})
	}
	return statecheck.ExpectKnownValue(keysDataAddr, tfjsonpath.New("keys"), knownvalue.ListExact(checks))
}

// requireListedOutOfOrder fails t when the emulator lists the keys in the order want (every key
// the test made, by created_at, then id), the order a data source must sort them into, so that a
// sort test fails without the sort. The emulator lists newest first, as the deployed service
// does. Against a real organization nothing is checked: its list holds other keys.
func requireListedOutOfOrder(t *testing.T, e *testEnv, want ...string) {
	t.Helper()
	if e.emu == nil {
		return
	}
	var live, listed []string
	for _, k := range mintedKeys(e.emu) {
		live = append(live, k.ID)
	}
	for _, k := range e.liveKeys() {
		if k.ID != e.emu.OrgKeyID() {
			listed = append(listed, k.ID)
		}
	}
	switch {
	case !slices.Equal(live, want):
		t.Fatalf("the live keys, oldest first, are %v, not the sorted %v", live, want)
	case slices.Equal(listed, want):
		t.Fatalf("the emulator lists the keys already sorted (%v): the test would pass without a sort", want)
	}
}

func TestAccOrgAPIKeysDataSource_filters(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	prefix := e.name("list") + "-"
	alpha, beta, gamma := e.seed(prefix+"alpha"), e.seed(prefix+"beta"), e.seed(prefix+"gamma")
	ordered := []client.Token{alpha, beta, gamma}
	sort.Slice(ordered, func(i, j int) bool {
		if !ordered[i].CreatedAt.Equal(ordered[j].CreatedAt) {
			return ordered[i].CreatedAt.Before(ordered[j].CreatedAt)
		}
		return ordered[i].ID < ordered[j].ID
	})
	requireListedOutOfOrder(t, e, ordered[0].ID, ordered[1].ID, ordered[2].ID)

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{
			{
				Config: keysConfig(fmt.Sprintf("  name_prefix = %q\n", prefix)),
				ConfigStateChecks: []statecheck.StateCheck{
					expectIDs(ordered[0].ID, ordered[1].ID, ordered[2].ID),
					statecheck.ExpectKnownValue(keysDataAddr, tfjsonpath.New("keys").AtSliceIndex(0), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"id":           knownvalue.StringExact(ordered[0].ID),
						"name":         knownvalue.StringExact(ordered[0].Name),
						"prefix":       e.listedPrefix(ordered[0]),
						"created_by":   knownvalue.StringExact(ordered[0].CreatedBy),
						"created_at":   knownvalue.StringRegexp(timestampRegexp),
						"last_used_at": knownvalue.Null(),
						"expires_at":   knownvalue.Null(),
						"expired":      knownvalue.Bool(false),
					})),
				},
			},
			{
				Config:            keysConfig(fmt.Sprintf("  name_prefix = %q\n  name_regex  = \"(alpha|gamma)$\"\n", prefix)),
				ConfigStateChecks: []statecheck.StateCheck{expectIDs(filterOrdered(ordered, alpha.ID, gamma.ID)...)},
			},
			{
				Config:            keysConfig(fmt.Sprintf("  name_regex = %q\n", "^"+regexp.QuoteMeta(prefix)+"b")),
				ConfigStateChecks: []statecheck.StateCheck{expectIDs(beta.ID)},
			},
			{
				Config:            keysConfig(fmt.Sprintf("  name_prefix = %q\n  created_by  = %q\n", prefix, alpha.CreatedBy)),
				ConfigStateChecks: []statecheck.StateCheck{expectIDs(ordered[0].ID, ordered[1].ID, ordered[2].ID)},
			},
			{
				Config:            keysConfig(fmt.Sprintf("  name_prefix = %q\n  created_by  = \"session:nobody\"\n", prefix)),
				ConfigStateChecks: []statecheck.StateCheck{expectIDs()},
			},
		},
	})
}

func TestAccOrgAPIKeysDataSource_invalidRegex(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.expectError(t, keysConfig("  name_regex = \"([\"\n"), errorPattern("Invalid Regular Expression", "missing closing ]"))
	if e.emu != nil && e.emu.RequestCount(emulator.EndpointList) != 0 {
		t.Fatal("an invalid regular expression must be refused before any request")
	}
}

func filterOrdered(ordered []client.Token, keep ...string) []string {
	var out []string
	for _, o := range ordered {
		if slices.Contains(keep, o.ID) {
			out = append(out, o.ID)
		}
	}
	return out
}

func TestAccOrgAPIKeysDataSource_createdByAndOrder(t *testing.T) {
	t.Parallel()
	// Seeds keys with chosen creators and creation times, which only the emulator allows.
	e := newTestEnv(t, emulatorOnly)
	base := timeAgo(48 * time.Hour)
	used := base.Add(time.Hour)
	// Canvas users: the deployed service records no user id.
	sessionA, sessionB := "session", "admin-token"
	minter, _ := e.emu.Seed(emulator.SeedKey{Name: "minter", CreatedAt: base.Add(-time.Hour)})
	byMinter := "org-token:" + minter.Prefix
	// Seeded out of order, two with one timestamp, so the sort by created_at then id is exercised.
	late, _ := e.emu.Seed(emulator.SeedKey{Name: "late", CreatedBy: sessionA, CreatedAt: base.Add(2 * time.Hour)})
	tieA, _ := e.emu.Seed(emulator.SeedKey{Name: "tie-a", CreatedBy: sessionA, CreatedAt: base, LastUsedAt: &used})
	tieB, _ := e.emu.Seed(emulator.SeedKey{Name: "tie-b", CreatedBy: sessionB, CreatedAt: base})
	byKey, _ := e.emu.Seed(emulator.SeedKey{Name: "by-key", CreatedBy: byMinter, CreatedAt: base.Add(time.Hour)})
	first, second := tieA.ID, tieB.ID
	if second < first {
		first, second = second, first
	}
	requireListedOutOfOrder(t, e, minter.ID, first, second, byKey.ID, late.ID)

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{
			{
				Config: keysConfig(""),
				ConfigStateChecks: []statecheck.StateCheck{
					// The credential, minted last, is listed too.
					expectIDs(e.withCredential(minter.ID, first, second, byKey.ID, late.ID)...),
					statecheck.ExpectKnownValue(keysDataAddr, tfjsonpath.New("keys"), knownvalue.ListPartial(map[int]knownvalue.Check{
						1: knownvalue.ObjectPartial(map[string]knownvalue.Check{"created_at": knownvalue.StringExact(base.Format(time.RFC3339))}),
					})),
				},
			},
			{
				Config:            keysConfig(fmt.Sprintf("  created_by = %q\n", sessionA)),
				ConfigStateChecks: []statecheck.StateCheck{expectIDs(tieA.ID, late.ID)},
			},
			{
				// created_by names the minting key by its prefix, which the list reports too.
				Config: keysConfig(fmt.Sprintf("  created_by = %q\n", byMinter)),
				ConfigStateChecks: []statecheck.StateCheck{
					expectIDs(byKey.ID),
					statecheck.ExpectKnownValue(keysDataAddr, tfjsonpath.New("keys").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("by-key")),
				},
			},
			{
				Config: keysConfig("  name_regex = \"^tie-a$\"\n"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keysDataAddr, tfjsonpath.New("keys").AtSliceIndex(0).AtMapKey("last_used_at"),
						knownvalue.StringExact(used.Format(time.RFC3339))),
				},
			},
		},
	})
}

// orgAPIKeysDataSourceModel is the data source's configuration and state, for the tests to build
// the one and read the other.
type orgAPIKeysDataSourceModel struct {
	NamePrefix types.String `tfsdk:"name_prefix"`
	NameRegex  types.String `tfsdk:"name_regex"`
	CreatedBy  types.String `tfsdk:"created_by"`
	Expired    types.Bool   `tfsdk:"expired"`
	Keys       types.List   `tfsdk:"keys"`
}

// With 500 live keys the service's list may be cut short, and the data source says so; with 499
// it is complete and nothing warns.
func TestOrgAPIKeysDataSource_incompleteListWarns(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	fillers := fillWithKeys(e, client.ServiceListMax)
	all := orgAPIKeysDataSourceModel{
		NamePrefix: types.StringNull(), NameRegex: types.StringNull(), CreatedBy: types.StringNull(),
		Keys: types.ListNull(types.ObjectType{AttrTypes: keySummaryAttrTypes}),
	}
	read := func(t *testing.T, wantKeys int, wantWarning bool) {
		t.Helper()
		resp := newDataSourceHarness(t, e, NewOrgAPIKeysDataSource()).read(all)
		if resp.Diagnostics.HasError() {
			t.Fatal(resp.Diagnostics)
		}
		var got orgAPIKeysDataSourceModel
		resp.State.Get(context.Background(), &got)
		if n := len(got.Keys.Elements()); n != wantKeys {
			t.Fatalf("the data source returned %d keys, want %d", n, wantKeys)
		}
		w := resp.Diagnostics.Warnings()
		switch {
		case !wantWarning && len(w) != 0:
			t.Fatalf("want no warning, got %v", resp.Diagnostics)
		case wantWarning && (len(w) != 1 || w[0].Summary() != "Org API Key List May Be Incomplete" ||
			!strings.Contains(w[0].Detail(), "newest 500 live keys")):
			t.Fatalf("want one warning that the list may be incomplete, got %v", resp.Diagnostics)
		}
	}
	t.Run("500 keys", func(t *testing.T) { read(t, client.ServiceListMax, true) })
	if !e.emu.Revoke(fillers[0].ID) {
		t.Fatal("filler was not live")
	}
	t.Run("499 keys", func(t *testing.T) { read(t, client.ServiceListMax-1, false) })
}
