package provider

import (
	"fmt"
	"regexp"
	"sort"
	"testing"
	"time"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

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

func TestAccOrgAPIKeysDataSource_filters(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	prefix := e.name("list") + "-"
	alpha, beta, gamma := e.seed(prefix+"alpha"), e.seed(prefix+"beta"), e.seed(prefix+"gamma")
	ordered := []struct {
		id string
		at time.Time
	}{{alpha.ID, alpha.CreatedAt}, {beta.ID, beta.CreatedAt}, {gamma.ID, gamma.CreatedAt}}
	sort.Slice(ordered, func(i, j int) bool {
		if !ordered[i].at.Equal(ordered[j].at) {
			return ordered[i].at.Before(ordered[j].at)
		}
		return ordered[i].id < ordered[j].id
	})

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{
			{
				Config: keysConfig(fmt.Sprintf("  name_prefix = %q\n", prefix)),
				ConfigStateChecks: []statecheck.StateCheck{
					expectIDs(ordered[0].id, ordered[1].id, ordered[2].id),
					statecheck.ExpectKnownValue(keysDataAddr, tfjsonpath.New("keys").AtSliceIndex(0), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"id":           knownvalue.StringExact(ordered[0].id),
						"name":         knownvalue.StringRegexp(regexp.MustCompile(`^` + regexp.QuoteMeta(prefix))),
						"created_by":   knownvalue.StringExact(alpha.CreatedBy),
						"created_at":   knownvalue.StringRegexp(timestampRegexp),
						"last_used_at": knownvalue.Null(),
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
				ConfigStateChecks: []statecheck.StateCheck{expectIDs(ordered[0].id, ordered[1].id, ordered[2].id)},
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

func filterOrdered(ordered []struct {
	id string
	at time.Time
}, keep ...string) []string {
	var out []string
	for _, o := range ordered {
		for _, k := range keep {
			if o.id == k {
				out = append(out, o.id)
			}
		}
	}
	return out
}

func TestAccOrgAPIKeysDataSource_createdByAndOrder(t *testing.T) {
	t.Parallel()
	// Seeds keys with chosen creators and creation times, which only the emulator allows.
	e := newLocalEnv(t)
	base := timeAgo(48 * time.Hour)
	used := base.Add(time.Hour)
	// Seeded out of order, two with one timestamp, so the sort by created_at then id is exercised.
	late, _ := e.emu.Seed(emulator.SeedKey{Name: "late", CreatedBy: "session:user_1", CreatedAt: base.Add(2 * time.Hour)})
	tieA, _ := e.emu.Seed(emulator.SeedKey{Name: "tie-a", CreatedBy: "session:user_1", CreatedAt: base, LastUsedAt: &used})
	tieB, _ := e.emu.Seed(emulator.SeedKey{Name: "tie-b", CreatedBy: "session:user_10", CreatedAt: base})
	byKey, _ := e.emu.Seed(emulator.SeedKey{Name: "by-key", CreatedBy: "org-token:mola_k7x", CreatedAt: base.Add(time.Hour)})
	first, second := tieA.ID, tieB.ID
	if second < first {
		first, second = second, first
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{
			{
				Config: keysConfig(""),
				ConfigStateChecks: []statecheck.StateCheck{
					expectIDs(first, second, byKey.ID, late.ID),
					statecheck.ExpectKnownValue(keysDataAddr, tfjsonpath.New("keys"), knownvalue.ListPartial(map[int]knownvalue.Check{
						0: knownvalue.ObjectPartial(map[string]knownvalue.Check{"created_at": knownvalue.StringExact(base.Format(time.RFC3339))}),
					})),
				},
			},
			{
				Config:            keysConfig("  created_by = \"session:user_1\"\n"),
				ConfigStateChecks: []statecheck.StateCheck{expectIDs(tieA.ID, late.ID)},
			},
			{
				Config: keysConfig("  created_by = \"org-token:mola_k7x\"\n"),
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
