package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// identityImportConfig is keyConfig(name) with an import block that names the key by identity.
func identityImportConfig(id, name string) string {
	return fmt.Sprintf(`
import {
  to = molecule_org_api_key.test
  identity = {
    id = %q
  }
}
%s`, id, keyConfig(name))
}

// expectIDIdentity checks that the identity of the key in state is { id } and nothing more, and
// that it is the id in state.
func expectIDIdentity(id knownvalue.Check) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectIdentity(keyAddr, map[string]knownvalue.Check{"id": id}),
		statecheck.ExpectIdentityValueMatchesState(keyAddr, tfjsonpath.New("id")),
	}
}

// identityHoldsNoSecret fails when any identity value of the key in state contains its plaintext
// or the provider's credential. The message names neither.
func (e *testEnv) identityHoldsNoSecret() statecheck.StateCheck {
	return stateCheck(func(req statecheck.CheckStateRequest) error {
		v, err := stateValues(req, keyAddr)
		if err != nil {
			return err
		}
		key, _ := v["key"].(string)
		for _, r := range req.State.Values.RootModule.Resources {
			if r.Address != keyAddr {
				continue
			}
			for attr, val := range r.IdentityValues {
				s := fmt.Sprint(val)
				if (key != "" && strings.Contains(s, key)) || strings.Contains(s, e.token) {
					return fmt.Errorf("%s: identity attribute %q holds a secret", keyAddr, attr)
				}
			}
		}
		return nil
	})
}

// expectPlannedIdentity checks the identity that a plan gives the key at keyAddr.
func expectPlannedIdentity(id *string) plancheck.PlanCheck {
	return planCheck(func(req plancheck.CheckPlanRequest) error {
		if req.Plan == nil || req.Plan.PlannedValues == nil || req.Plan.PlannedValues.RootModule == nil {
			return fmt.Errorf("the plan has no planned values for %s", keyAddr)
		}
		for _, r := range req.Plan.PlannedValues.RootModule.Resources {
			if r.Address != keyAddr {
				continue
			}
			if len(r.IdentityValues) != 1 || r.IdentityValues["id"] != *id {
				return fmt.Errorf("%s: planned identity %v, want exactly {id = %q}", keyAddr, r.IdentityValues, *id)
			}
			return nil
		}
		return fmt.Errorf("%s is not in the plan", keyAddr)
	})
}

// requestCounter measures the mints and revokes that reach the emulator from a baseline on.
// Against a real organization there is nothing to count: the tests compare live keys instead.
type requestCounter struct {
	emu            *emulator.Server
	mints, revokes int
}

func (e *testEnv) countRequests() *requestCounter {
	c := &requestCounter{emu: e.emu}
	if c.emu != nil {
		c.mints, c.revokes = c.emu.RequestCount(emulator.EndpointMint), c.emu.RequestCount(emulator.EndpointRevoke)
	}
	return c
}

// expect fails unless exactly mints mints and revokes revokes reached the emulator since the
// baseline.
func (c *requestCounter) expect(when string, mints, revokes int) error {
	if c.emu == nil {
		return nil
	}
	gotMints := c.emu.RequestCount(emulator.EndpointMint) - c.mints
	gotRevokes := c.emu.RequestCount(emulator.EndpointRevoke) - c.revokes
	if gotMints != mints || gotRevokes != revokes {
		return fmt.Errorf("%s: %d mint and %d revoke requests, want %d and %d", when, gotMints, gotRevokes, mints, revokes)
	}
	return nil
}

// A key minted by the resource has the identity { id }, and can be imported back by identity or
// by id string into the same object.
func TestAccOrgAPIKeyResource_createSetsIdentity(t *testing.T) {
	requireCLI(t, featureIdentity)
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("identity")
	var id string
	var requests *requestCounter
	idCheck := knownvalue.StringRegexp(e.idRegexp())

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: keyConfig(name),
				ConfigStateChecks: append(expectIDIdentity(idCheck),
					e.identityHoldsNoSecret(),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.StringRegexp(e.keyRegexp())),
				),
				Check: captureAttr(keyAddr, "id", &id),
			},
			{
				// terraform-plugin-testing takes the identity from state, removes the
				// resource and plans an import block by identity: the plan must be a no-op
				// import with the same identity.
				PreConfig:       func() { requests = e.countRequests() },
				Config:          keyConfig(name),
				ResourceName:    keyAddr,
				ImportState:     true,
				ImportStateKind: tfresource.ImportBlockWithResourceIdentity,
				ImportPlanChecks: tfresource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						expectPlannedIdentity(&id),
						plancheck.ExpectKnownValue(keyAddr, tfjsonpath.New("name"), knownvalue.StringExact(name)),
						plancheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.Null()),
					},
				},
			},
			{
				// An import by id string gives the same identity.
				Config:          keyConfig(name),
				ResourceName:    keyAddr,
				ImportState:     true,
				ImportStateKind: tfresource.ImportBlockWithID,
				ImportPlanChecks: tfresource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{expectPlannedIdentity(&id)},
				},
			},
			{
				// Neither import was persisted: the minted key, with its secret, is unchanged, and
				// neither import minted or revoked anything.
				Config: keyConfig(name),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: append(expectIDIdentity(idCheck), e.identityHoldsNoSecret(),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.StringRegexp(e.keyRegexp()))),
				Check: tfresource.ComposeAggregateTestCheckFunc(
					tfresource.TestCheckResourceAttrPtr(keyAddr, "id", &id),
					func(*terraform.State) error { return requests.expect("the imports and the plan after them", 0, 0) },
				),
			},
		},
	})
}

// A key made outside Terraform is imported by an import block with identity: nothing is minted
// or revoked, the attributes are the service's, and the plan after it is empty.
func TestAccOrgAPIKeyResource_importByIdentity(t *testing.T) {
	requireCLI(t, featureIdentity)
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("importidentity")
	seeded := e.seed(name)
	requests := e.countRequests()
	config := identityImportConfig(seeded.ID, name)
	// Only the seeded key is live under this name: the import minted nothing and kept the key.
	untouched := func(when string) tfresource.TestCheckFunc {
		return func(*terraform.State) error {
			if err := requests.expect(when, 0, 0); err != nil {
				return err
			}
			if live := e.liveWithName(name); len(live) != 1 || live[0].ID != seeded.ID {
				return fmt.Errorf("%s: want only the seeded key %s live under %q, got %v", when, seeded.ID, name, live)
			}
			return nil
		}
	}
	imported := []statecheck.StateCheck{
		statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("id"), knownvalue.StringExact(seeded.ID)),
		statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("name"), knownvalue.StringExact(name)),
		statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("created_by"), knownvalue.StringExact(seeded.CreatedBy)),
		statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("created_at"), knownvalue.StringRegexp(timestampRegexp)),
		statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("prefix"), e.listedPrefix(seeded)),
		statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.Null()),
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionNoop)},
				},
				ConfigStateChecks: append(imported, expectIDIdentity(knownvalue.StringExact(seeded.ID))...),
				Check:             untouched("after the import"),
			},
			{
				// The harness's own import by identity, from the identity now in state.
				Config:          keyConfig(name),
				ResourceName:    keyAddr,
				ImportState:     true,
				ImportStateKind: tfresource.ImportBlockWithResourceIdentity,
				ImportPlanChecks: tfresource.ImportPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue(keyAddr, tfjsonpath.New("id"), knownvalue.StringExact(seeded.ID)),
						plancheck.ExpectKnownValue(keyAddr, tfjsonpath.New("created_by"), knownvalue.StringExact(seeded.CreatedBy)),
						plancheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.Null()),
					},
				},
			},
			{
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: append(imported, expectIDIdentity(knownvalue.StringExact(seeded.ID))...),
				Check:             untouched("after the plans that followed"),
			},
		},
	})
	if err := requests.expect("after destroy", 0, 1); err != nil {
		t.Fatal(err)
	}
	if e.isLive(seeded.ID) {
		t.Fatalf("imported key %s must be revoked by destroy", seeded.ID)
	}
}

// An import by identity is checked like one by id string: an unknown id, white space, the
// provider's credential or a key's plaintext fail with the same errors, and nothing is minted.
func TestAccOrgAPIKeyResource_importByIdentityErrors(t *testing.T) {
	requireCLI(t, featureIdentity)
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("identityerr")
	pasted, plaintext := e.seedWithSecret(e.name("pasted"))
	requests := e.countRequests()
	step := func(id string, want ...[]string) tfresource.TestStep {
		return tfresource.TestStep{Config: identityImportConfig(id, name), ExpectError: anyPattern(want...)}
	}
	steps := []tfresource.TestStep{
		step(e.unknownID(), []string{"Cannot Import Org API Key", `No live key has the id "` + e.unknownID() + `"`,
			"Find the ids of live keys with the molecule_org_api_keys data source"}),
		step(" "+pasted.ID, []string{"Invalid Import ID", "starts or ends with white space"}),
		step(plaintext, pastedKeyErrors(e, pasted)...),
	}
	// Terraform may print the identity it imports: a real credential must not reach the logs.
	if e.emu != nil {
		steps = append(steps, step(e.token, []string{"Invalid Import ID", "is a secret", "the value is not shown"}))
	}
	tfresource.Test(t, tfresource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: steps})
	if err := requests.expect("after the failed imports", 0, 0); err != nil {
		t.Fatal(err)
	}
	if live := e.liveWithName(name); len(live) != 0 {
		t.Fatalf("failed imports must not mint anything, got %v", live)
	}
	if !e.isLive(pasted.ID) {
		t.Fatalf("key %s, whose secret was pasted as an import identity, must stay live", pasted.ID)
	}
}

// State written before the resource had an identity, or by a CLI that keeps none, reaches Read
// with a null identity. Read must fill it whether the key is found or dropped as revoked: the
// framework fails a refresh that leaves it null ("Missing Resource Identity After Read").
func TestOrgAPIKeyResource_readFillsMissingIdentity(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	h := newResourceHarness(t, e, nil)
	live, livePlaintext := e.emu.Seed(emulator.SeedKey{Name: "live"})
	revoked, revokedPlaintext := e.emu.Seed(emulator.SeedKey{Name: "revoked"})
	e.emu.Revoke(revoked.ID)

	for _, tc := range []struct {
		name      string
		key       emulator.Key
		plaintext string
		removed   bool
	}{
		{"live key", live, livePlaintext, false},
		{"revoked out of band", revoked, revokedPlaintext, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := h.state(stored(tc.key.ID, tc.key.Name, tc.plaintext))
			resp := h.read(state)
			if resp.Diagnostics.HasError() {
				t.Fatalf("read failed: %v", resp.Diagnostics)
			}
			if resp.State.Raw.IsNull() != tc.removed {
				t.Fatalf("state removed = %t, want %t", resp.State.Raw.IsNull(), tc.removed)
			}
			var got orgAPIKeyIdentityModel
			if d := resp.Identity.Get(context.Background(), &got); d.HasError() {
				t.Fatal(d)
			}
			if got.ID.ValueString() != tc.key.ID {
				t.Fatalf("identity id %q, want %q", got.ID.ValueString(), tc.key.ID)
			}
		})
	}
}
