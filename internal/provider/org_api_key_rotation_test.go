package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// rotationConfig is keyConfig with more arguments in the resource block.
func rotationConfig(name, body string) string {
	return fmt.Sprintf(`
resource "molecule_org_api_key" "test" {
  name = %q
%s}
`, name, body)
}

func triggersConfig(name string, triggers map[string]string, createBeforeDestroy bool) string {
	var body strings.Builder
	if triggers != nil {
		body.WriteString("  rotation_triggers = {\n")
		for _, k := range slices.Sorted(maps.Keys(triggers)) {
			fmt.Fprintf(&body, "    %s = %q\n", k, triggers[k])
		}
		body.WriteString("  }\n")
	}
	if createBeforeDestroy {
		body.WriteString("\n  lifecycle {\n    create_before_destroy = true\n  }\n")
	}
	return rotationConfig(name, body.String())
}

// testClock is a clock a test can set back, so that the emulator mints keys long ago while the
// provider judges their age by the real time, or move on, so that time passes between two
// Terraform commands for the emulator and the provider alike.
type testClock struct{ back atomic.Int64 }

func (c *testClock) Now() time.Time                       { return time.Now().Add(-time.Duration(c.back.Load())) }
func (*testClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
func (c *testClock) setBack(d time.Duration)              { c.back.Store(int64(d)) }
func (c *testClock) advance(d time.Duration)              { c.back.Add(-int64(d)) }

// advanceClock is a plan check that moves a clock on. Run before apply, between the plan that
// terraform-plugin-testing saves with -out and its apply of that plan, it is the time that passes
// before a saved plan is applied.
type advanceClock struct {
	clock *testClock
	by    time.Duration
}

func (c advanceClock) CheckPlan(context.Context, plancheck.CheckPlanRequest, *plancheck.CheckPlanResponse) {
	c.clock.advance(c.by)
}

// expectRotateAt checks that rotate_at is exactly created_at plus after, as the state holds them.
type expectRotateAt struct {
	addr  string
	after time.Duration
}

func (c expectRotateAt) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || req.State.Values == nil || req.State.Values.RootModule == nil {
		resp.Error = fmt.Errorf("no state to check %s against", c.addr)
		return
	}
	for _, r := range req.State.Values.RootModule.Resources {
		if r.Address != c.addr {
			continue
		}
		createdAt, _ := r.AttributeValues["created_at"].(string)
		rotateAt, _ := r.AttributeValues["rotate_at"].(string)
		created, err := time.Parse(time.RFC3339, createdAt)
		if err != nil {
			resp.Error = fmt.Errorf("%s.created_at %q: %w", c.addr, createdAt, err)
			return
		}
		if want := created.Add(c.after).UTC().Format(time.RFC3339); rotateAt != want {
			resp.Error = fmt.Errorf("%s.rotate_at = %q; want created_at %s + %s = %s", c.addr, rotateAt, createdAt, c.after, want)
		}
		return
	}
	resp.Error = fmt.Errorf("%s not in state", c.addr)
}

// eventSeq returns the position of a key's "mint" or "revoke" in the emulator's timeline.
func eventSeq(e *testEnv, typ, id string) (int, error) {
	for _, ev := range e.emu.Events() {
		if ev.Type == typ && ev.ID == id {
			return ev.Seq, nil
		}
	}
	return 0, fmt.Errorf("the emulator has no %s event for key %s", typ, id)
}

// replacedKey checks that the key in state, captured into *newID, is new, is the only live key
// named name, and that *oldID was revoked.
func replacedKey(e *testEnv, name string, oldID, newID *string) tfresource.TestCheckFunc {
	return tfresource.ComposeTestCheckFunc(
		captureAttr(keyAddr, "id", newID),
		func(*terraform.State) error {
			if *newID == *oldID {
				return fmt.Errorf("key %s was kept; want a replacement", *oldID)
			}
			if e.isLive(*oldID) {
				return fmt.Errorf("replaced key %s is still live", *oldID)
			}
			if live := e.liveWithName(name); len(live) != 1 || live[0].ID != *newID {
				return fmt.Errorf("want exactly one live key %q, %s; got %v", name, *newID, live)
			}
			return nil
		},
	)
}

// revokedBeforeMinted checks the order of the replacement of *oldID by *newID in the timeline.
func revokedBeforeMinted(e *testEnv, oldID, newID *string, wantRevokeFirst bool) tfresource.TestCheckFunc {
	return func(*terraform.State) error {
		revoked, err := eventSeq(e, "revoke", *oldID)
		if err != nil {
			return err
		}
		minted, err := eventSeq(e, "mint", *newID)
		if err != nil {
			return err
		}
		if (revoked < minted) != wantRevokeFirst {
			return fmt.Errorf("old key %s revoked at seq %d, new key %s minted at seq %d; want revoke first: %v",
				*oldID, revoked, *newID, minted, wantRevokeFirst)
		}
		return nil
	}
}

func TestAccOrgAPIKeyResource_rotateAfter(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	name := e.name("rotate-after")
	var id, key, createdAt string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: rotationConfig(name, "  rotate_after = \"720h\"\n"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionCreate),
						plancheck.ExpectUnknownValue(keyAddr, tfjsonpath.New("rotate_at")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("rotate_after"), knownvalue.StringExact("720h")),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("rotate_at"), knownvalue.StringRegexp(timestampRegexp)),
					expectRotateAt{keyAddr, 720 * time.Hour},
				},
				Check: tfresource.ComposeTestCheckFunc(
					captureAttr(keyAddr, "id", &id),
					captureAttr(keyAddr, "key", &key),
					captureAttr(keyAddr, "created_at", &createdAt),
					keyAuthenticates(e),
				),
			},
			{
				// last_used_at drifted (keyAuthenticates used the key); rotate_at must not move.
				Config: rotationConfig(name, "  rotate_after = \"720h\"\n"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("last_used_at"), knownvalue.StringRegexp(timestampRegexp)),
					expectRotateAt{keyAddr, 720 * time.Hour},
				},
			},
			{
				PreConfig: e.emu.ResetCounts,
				Config:    rotationConfig(name, "  rotate_after = \"1440h\"\n"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionUpdate),
						// The plan already shows the new time, not "known after apply".
						plancheck.ExpectKnownValue(keyAddr, tfjsonpath.New("rotate_at"), knownvalue.StringFunc(func(v string) error {
							created, err := time.Parse(time.RFC3339, createdAt)
							if err != nil {
								return err
							}
							if want := created.Add(1440 * time.Hour).Format(time.RFC3339); v != want {
								return fmt.Errorf("planned rotate_at %s; want %s", v, want)
							}
							return nil
						})),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{expectRotateAt{keyAddr, 1440 * time.Hour}},
				Check: tfresource.ComposeTestCheckFunc(
					tfresource.TestCheckResourceAttrPtr(keyAddr, "id", &id),
					tfresource.TestCheckResourceAttrPtr(keyAddr, "key", &key),
					tfresource.TestCheckResourceAttrPtr(keyAddr, "created_at", &createdAt),
					func(*terraform.State) error {
						if n := e.emu.RequestCount(emulator.EndpointMint) + e.emu.RequestCount(emulator.EndpointRevoke); n != 0 {
							return fmt.Errorf("changing rotate_after made %d mint or revoke requests; want none", n)
						}
						return nil
					},
				),
			},
			{
				// Import cannot know the configuration's rotation settings.
				ResourceName:            keyAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"key", "last_used_at", "rotate_after", "rotate_at"},
			},
			{
				Config: keyConfig(name),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("rotate_after"), knownvalue.Null()),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("rotate_at"), knownvalue.Null()),
				},
				Check: tfresource.TestCheckResourceAttrPtr(keyAddr, "id", &id),
			},
		},
	})
}

func TestAccOrgAPIKeyResource_rotationDue(t *testing.T) {
	t.Parallel()
	var clock testClock
	clock.setBack(800 * time.Hour)
	// The emulator's clock alone: keys are minted long ago, and the provider judges them now.
	e := newTestEnv(t, onEmulator(emulator.Options{Now: clock.Now}))
	name := e.name("due")
	config := rotationConfig(name, "  rotate_after = \"720h\"\n")
	var oldID, newID string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				// Minted 800 hours ago, the key is already past its rotate_at: the very next plan,
				// with nothing changed, must replace it.
				Config:             config,
				ConfigStateChecks:  []statecheck.StateCheck{expectRotateAt{keyAddr, 720 * time.Hour}},
				Check:              captureAttr(keyAddr, "id", &oldID),
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate),
					},
				},
			},
			{
				// The replacement is minted now, so it is not due and the plan after it is empty.
				PreConfig: func() { clock.setBack(0) },
				Config:    config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate),
						plancheck.ExpectUnknownValue(keyAddr, tfjsonpath.New("rotate_at")),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.StringRegexp(e.keyRegexp())),
					e.expectKeyPrefix(keyAddr),
					expectRotateAt{keyAddr, 720 * time.Hour},
				},
				Check: tfresource.ComposeTestCheckFunc(
					replacedKey(e, name, &oldID, &newID),
					keyAuthenticates(e),
				),
			},
			{
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// terraform-plugin-testing saves each plan with -out and applies that file, and Terraform plans
// again during the apply. A plan that only moves rotate_at, applied after the new rotate_at has
// passed, must still be that plan: deciding by the clock at apply would now replace the key, and
// Terraform would fail the apply with "Provider produced inconsistent final plan". The key falls
// due at the next plan that refreshes it, not at one that does not.
func TestAccOrgAPIKeyResource_savedPlanAppliedAfterRotateAt(t *testing.T) {
	t.Parallel()
	var clock testClock
	e := newTestEnv(t, withClock(&clock))
	name := e.name("saved-plan")
	longer := rotationConfig(name, "  rotate_after = \"1440h\"\n")
	var id, newID string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: rotationConfig(name, "  rotate_after = \"720h\"\n"),
				Check:  captureAttr(keyAddr, "id", &id),
			},
			{
				Config: longer,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionUpdate),
						// The saved plan is applied 61 days later, after the new rotate_at.
						advanceClock{clock: &clock, by: 1464 * time.Hour},
					},
					// Without a refresh the plan decides as of the last one, the plan's: not due.
					PostApplyPreRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
					// A plan that refreshes sees the key past its rotate_at.
					PostApplyPostRefresh: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate),
					},
				},
				ExpectNonEmptyPlan: true,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("rotate_after"), knownvalue.StringExact("1440h")),
					expectRotateAt{keyAddr, 1440 * time.Hour},
				},
				Check: tfresource.TestCheckResourceAttrPtr(keyAddr, "id", &id),
			},
			{
				// An ordinary plan and apply rotates it; the new key, minted now, is not due.
				Config: longer,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate),
					},
				},
				ConfigStateChecks: []statecheck.StateCheck{expectRotateAt{keyAddr, 1440 * time.Hour}},
				Check:             replacedKey(e, name, &id, &newID),
			},
		},
	})
}

func TestAccOrgAPIKeyResource_rotationTriggers(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	name := e.name("triggers")
	var first string
	var ids [4]string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: keyConfig(name),
				Check:  captureAttr(keyAddr, "id", &first),
			},
			{
				Config: triggersConfig(name, map[string]string{"version": "1"}, false),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionReplace)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("rotation_triggers"),
						knownvalue.MapExact(map[string]knownvalue.Check{"version": knownvalue.StringExact("1")})),
				},
				Check: replacedKey(e, name, &first, &ids[0]),
			},
			{
				// Without create_before_destroy Terraform revokes the old key before minting the new one.
				Config: triggersConfig(name, map[string]string{"version": "2"}, false),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				Check: tfresource.ComposeTestCheckFunc(
					replacedKey(e, name, &ids[0], &ids[1]),
					revokedBeforeMinted(e, &ids[0], &ids[1], true),
				),
			},
			{
				Config: triggersConfig(name, map[string]string{"version": "2", "owner": "ci"}, false),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionReplace)},
				},
				Check: replacedKey(e, name, &ids[1], &ids[2]),
			},
			{
				Config: triggersConfig(name, nil, false),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionReplace)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("rotation_triggers"), knownvalue.Null()),
				},
				Check: replacedKey(e, name, &ids[2], &ids[3]),
			},
		},
	})
}

func TestAccOrgAPIKeyResource_rotationCreateBeforeDestroy(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	name := e.name("cbd")
	var oldID, newID string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: triggersConfig(name, map[string]string{"version": "1"}, true),
				Check:  captureAttr(keyAddr, "id", &oldID),
			},
			{
				// Zero downtime: the old key is still live when its replacement is minted.
				Config: triggersConfig(name, map[string]string{"version": "2"}, true),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionCreateBeforeDestroy)},
				},
				Check: tfresource.ComposeTestCheckFunc(
					replacedKey(e, name, &oldID, &newID),
					revokedBeforeMinted(e, &oldID, &newID, false),
					keyAuthenticates(e),
				),
			},
		},
	})
}

func TestAccOrgAPIKeyResource_rotateAfterInvalid(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	name := e.name("rotate-invalid")
	for _, tc := range []struct{ value, want string }{
		{"soon", `"soon" is not a duration`},
		{"-5h", `"-5h" is out of range`},
		{"30s", `"30s" is out of range; use a duration between 60s and 87600h`},
		{"87601h", `"87601h" is out of range`},
	} {
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: e.factories(),
			Steps: []tfresource.TestStep{{
				Config:      rotationConfig(name, fmt.Sprintf("  rotate_after = %q\n", tc.value)),
				PlanOnly:    true,
				ExpectError: errorPattern("Invalid Duration", tc.want),
			}},
		})
	}
	if n := e.emu.RequestCount(emulator.EndpointMint); n != 0 {
		t.Fatalf("an invalid rotate_after must be refused before any mint request, got %d", n)
	}
}

// An imported key takes rotation settings in place, and shortening rotate_after below its age
// rotates it at once.
func TestAccOrgAPIKeyResource_importThenRotateAfter(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	name := e.name("import-rotate")
	seeded, _ := e.emu.Seed(emulator.SeedKey{Name: name, CreatedAt: timeAgo(100 * time.Hour)})
	var newID string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config:             keyConfig(name),
				ResourceName:       keyAddr,
				ImportState:        true,
				ImportStateId:      seeded.ID,
				ImportStatePersist: true,
			},
			{
				Config: rotationConfig(name, "  rotate_after = \"720h\"\n"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionUpdate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("id"), knownvalue.StringExact(seeded.ID)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.Null()),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("rotate_at"),
						knownvalue.StringExact(seeded.CreatedAt.Add(720*time.Hour).Format(time.RFC3339))),
				},
			},
			{
				Config: rotationConfig(name, "  rotate_after = \"72h\"\n"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.StringRegexp(e.keyRegexp())),
					e.expectKeyPrefix(keyAddr),
					expectRotateAt{keyAddr, 72 * time.Hour},
				},
				Check: replacedKey(e, name, &seeded.ID, &newID),
			},
		},
	})
}

// A key that could not fall due records no check, so rotate_after set on it, already past, takes
// two plans: the first sets it in place (it cannot tell the key is due), the next replaces it.
func TestAccOrgAPIKeyResource_rotateAfterSetOnAnOverdueKey(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	name := e.name("late-rotate")
	seeded, _ := e.emu.Seed(emulator.SeedKey{Name: name, CreatedAt: timeAgo(100 * time.Hour)})
	var newID string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config:             keyConfig(name),
				ResourceName:       keyAddr,
				ImportState:        true,
				ImportStateId:      seeded.ID,
				ImportStatePersist: true,
			},
			{
				Config: rotationConfig(name, "  rotate_after = \"72h\"\n"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate),
					},
				},
				ExpectNonEmptyPlan: true,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("id"), knownvalue.StringExact(seeded.ID)),
				},
			},
			{
				Config: rotationConfig(name, "  rotate_after = \"72h\"\n"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{expectRotateAt{keyAddr, 72 * time.Hour}},
				Check:             replacedKey(e, name, &seeded.ID, &newID),
			},
		},
	})
}

// newPrivate points *p at an empty private state, as the framework hands every resource call
// one. Its type is internal to the framework, which exports no constructor.
func newPrivate[T any](p **T) { *p = new(T) }

// The due/not-due decision at its boundary, with the time of the last check moved instead of
// waiting. Warnings are asserted here: the testing harness does not expose them.
func TestOrgAPIKeyResource_modifyPlanRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var sr resource.SchemaResponse
	(&orgAPIKeyResource{}).Schema(ctx, resource.SchemaRequest{}, &sr)
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const id = "a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e"

	model := func(rotateAfter types.String) *orgAPIKeyResourceModel {
		return &orgAPIKeyResourceModel{
			ID: types.StringValue(id), Name: types.StringValue("ci-bot"), Key: types.StringNull(),
			CreatedBy: types.StringValue("admin-token"), CreatedAt: types.StringValue(created.Format(time.RFC3339)),
			LastUsedAt: types.StringNull(), RotateAfter: rotateAfter, RotateAt: types.StringNull(),
			RotationTriggers: types.MapNull(types.StringType),
		}
	}
	raw := func(m *orgAPIKeyResourceModel) tftypes.Value {
		t.Helper()
		s := tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}
		if m != nil {
			if d := s.Set(ctx, m); d.HasError() {
				t.Fatal(d)
			}
		}
		return s.Raw
	}
	newKey := func() *orgAPIKeyResourceModel {
		m := model(types.StringValue("720h"))
		m.ID, m.CreatedBy, m.CreatedAt = types.StringUnknown(), types.StringUnknown(), types.StringUnknown()
		return m
	}

	checked := checkedAtValue
	for _, tc := range []struct {
		name         string
		state, plan  *orgAPIKeyResourceModel
		checked      []byte // private state at checkedAtKey; nil for none
		wantRotateAt attr.Value
		wantReplace  bool
	}{
		{"not due a second before", model(types.StringValue("720h")), model(types.StringValue("720h")),
			checked(created.Add(720*time.Hour - time.Second)), types.StringValue("2026-01-31T00:00:00Z"), false},
		{"due at rotate_at", model(types.StringValue("720h")), model(types.StringValue("720h")),
			checked(created.Add(720 * time.Hour)), types.StringUnknown(), true},
		{"longer rotate_after postpones", model(types.StringValue("720h")), model(types.StringValue("1440h")),
			checked(created.Add(1000 * time.Hour)), types.StringValue("2026-03-02T00:00:00Z"), false},
		{"shorter rotate_after makes due", model(types.StringValue("720h")), model(types.StringValue("24h")),
			checked(created.Add(25 * time.Hour)), types.StringUnknown(), true},
		{"no rotate_after never due", model(types.StringNull()), model(types.StringNull()),
			checked(created.Add(87600 * time.Hour)), types.StringNull(), false},
		{"unknown rotate_after", model(types.StringNull()), model(types.StringUnknown()),
			checked(created.Add(87600 * time.Hour)), types.StringUnknown(), false},
		// State written before checks were recorded, planned with -refresh=false: decided at the
		// next plan that refreshes, however long ago rotate_at was.
		{"no check recorded", model(types.StringValue("1m")), model(types.StringValue("1m")),
			nil, types.StringValue("2026-01-01T00:01:00Z"), false},
		{"unreadable check", model(types.StringValue("1m")), model(types.StringValue("1m")),
			[]byte(`"yesterday"`), types.StringValue("2026-01-01T00:01:00Z"), false},
		{"create with rotate_after", nil, newKey(), checked(created), types.StringUnknown(), false},
		{"create without rotate_after", nil, model(types.StringNull()), checked(created), types.StringNull(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The decision is the last check's, never the wall clock's: a plan applied later
			// plans again, and must decide alike.
			r := &orgAPIKeyResource{data: &providerData{now: func() time.Time {
				t.Error("ModifyPlan read the clock")
				return created.Add(87600 * time.Hour)
			}}}
			plan := tfsdk.Plan{Schema: sr.Schema, Raw: raw(tc.plan)}
			req := resource.ModifyPlanRequest{
				Config: tfsdk.Config{Schema: sr.Schema, Raw: plan.Raw},
				Plan:   plan,
				State:  tfsdk.State{Schema: sr.Schema, Raw: raw(tc.state)},
			}
			newPrivate(&req.Private)
			if tc.checked != nil {
				if d := req.Private.SetKey(ctx, checkedAtKey, tc.checked); d.HasError() {
					t.Fatal(d)
				}
			}
			resp := resource.ModifyPlanResponse{Plan: tfsdk.Plan{Schema: sr.Schema, Raw: plan.Raw.Copy()}, Private: req.Private}
			r.ModifyPlan(ctx, req, &resp)
			if resp.Diagnostics.HasError() {
				t.Fatal(resp.Diagnostics)
			}
			var got types.String
			resp.Plan.GetAttribute(ctx, path.Root("rotate_at"), &got)
			if !got.Equal(tc.wantRotateAt) {
				t.Errorf("planned rotate_at = %s; want %s", got, tc.wantRotateAt)
			}
			if !tc.wantReplace {
				if len(resp.RequiresReplace) != 0 || len(resp.Diagnostics) != 0 {
					t.Fatalf("want no replacement and no diagnostics, got %v, %v", resp.RequiresReplace, resp.Diagnostics)
				}
				return
			}
			if len(resp.RequiresReplace) != 1 || !resp.RequiresReplace[0].Equal(path.Root("rotate_at")) {
				t.Fatalf("want replacement because of rotate_at, got %v", resp.RequiresReplace)
			}
			if w := resp.Diagnostics.Warnings(); len(w) != 1 ||
				!strings.Contains(w[0].Detail(), fmt.Sprintf(`Key %s ("ci-bot") is due for rotation: rotate_at `, id)) ||
				!strings.Contains(w[0].Detail(), "has passed; this plan replaces it with a new key") {
				t.Fatalf("want one warning giving the reason, got %v", resp.Diagnostics)
			}
		})
	}

	t.Run("destroy", func(t *testing.T) {
		r := &orgAPIKeyResource{data: &providerData{now: func() time.Time { return created.Add(87600 * time.Hour) }}}
		nullPlan := tfsdk.Plan{Schema: sr.Schema, Raw: raw(nil)}
		req := resource.ModifyPlanRequest{
			Config: tfsdk.Config{Schema: sr.Schema, Raw: raw(nil)},
			Plan:   nullPlan,
			State:  tfsdk.State{Schema: sr.Schema, Raw: raw(model(types.StringValue("1m")))},
		}
		resp := resource.ModifyPlanResponse{Plan: nullPlan}
		r.ModifyPlan(ctx, req, &resp)
		if len(resp.Diagnostics) != 0 || len(resp.RequiresReplace) != 0 || !resp.Plan.Raw.IsNull() {
			t.Fatalf("a destroy plan must stay untouched, got %v, %v", resp.Diagnostics, resp.RequiresReplace)
		}
	})
}

// Create and Read record when they checked the key, by the resource's clock: that time, kept in
// private state, is what the next plan decides rotation against.
func TestOrgAPIKeyResource_recordsCheck(t *testing.T) {
	t.Parallel()
	var at atomic.Int64
	at.Store(time.Date(2030, 6, 1, 12, 0, 0, 123456789, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, at.Load()).UTC() }
	e := newTestEnv(t, withClock(nowClock(clock)))
	h := newResourceHarness(t, e, nil)
	wantChecked := func(t *testing.T, op string, private interface {
		GetKey(context.Context, string) ([]byte, diag.Diagnostics)
	},
	) {
		t.Helper()
		b, d := private.GetKey(context.Background(), checkedAtKey)
		if d.HasError() {
			t.Fatal(d)
		}
		if got, ok := parseCheckedAt(b); !ok || !got.Equal(clock()) {
			t.Fatalf("%s recorded %s = %q; want %s", op, checkedAtKey, b, clock().Format(time.RFC3339Nano))
		}
	}

	planned := toMint(e.name("checked"))
	planned.RotateAfter = types.StringValue("720h")
	created := h.create(planned)
	if created.Diagnostics.HasError() {
		t.Fatal(created.Diagnostics)
	}
	wantChecked(t, "Create", created.Private)

	at.Add(int64(time.Hour))
	read := h.read(created.State)
	if read.Diagnostics.HasError() {
		t.Fatal(read.Diagnostics)
	}
	wantChecked(t, "Read", read.Private)
}

// Only a key that can fall due by time alone, by rotate_after or by an expiry, keeps the time of
// its last check: any other key has no private state, and loses one an earlier release wrote.
func TestOrgAPIKeyResource_recordsCheckOnlyWhenTheKeyCanFallDue(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	h := newResourceHarness(t, e, nil)
	recorded := func(t *testing.T, op string, private interface {
		GetKey(context.Context, string) ([]byte, diag.Diagnostics)
	},
	) bool {
		t.Helper()
		b, d := private.GetKey(h.ctx, checkedAtKey)
		if d.HasError() {
			t.Fatalf("%s: %v", op, d)
		}
		return b != nil
	}

	plain := h.create(toMint(e.name("plain")))
	if plain.Diagnostics.HasError() {
		t.Fatal(plain.Diagnostics)
	}
	if recorded(t, "Create", plain.Private) {
		t.Errorf("Create recorded %s for a key without rotate_after or an expiry", checkedAtKey)
	}
	// State from an earlier release carries the entry on every key.
	resp := resource.ReadResponse{State: plain.State, Identity: h.nullIdentity()}
	newPrivate(&resp.Private)
	if d := resp.Private.SetKey(h.ctx, checkedAtKey, checkedAtValue(time.Now())); d.HasError() {
		t.Fatal(d)
	}
	h.r.Read(h.ctx, resource.ReadRequest{State: plain.State, Identity: h.nullIdentity()}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	if recorded(t, "Read", resp.Private) {
		t.Errorf("Read kept %s for a key without rotate_after or an expiry", checkedAtKey)
	}

	expiring := toMint(e.name("expiring"))
	expiring.Lifetime = types.StringValue("24h")
	expiring.ExpiresAt = types.StringUnknown()
	created := h.create(expiring)
	if created.Diagnostics.HasError() {
		t.Fatal(created.Diagnostics)
	}
	if !recorded(t, "Create", created.Private) {
		t.Errorf("Create did not record %s for a key that expires", checkedAtKey)
	}
	if read := h.read(created.State); read.Diagnostics.HasError() || !recorded(t, "Read", read.Private) {
		t.Errorf("Read did not record %s for a key that expires: %v", checkedAtKey, read.Diagnostics)
	}
}

// A rename replaces the key; its rotate_at must follow the new key's created_at, not the old one's.
func TestAccOrgAPIKeyResource_renameWithRotateAfter(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	clock.setBack(100 * time.Hour)
	e := newTestEnv(t, onEmulator(emulator.Options{Now: clock.Now}))
	first, second := e.name("rot-a"), e.name("rot-b")
	var oldID, newID string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config:            rotationConfig(first, "  rotate_after = \"720h\"\n"),
				ConfigStateChecks: []statecheck.StateCheck{expectRotateAt{addr: keyAddr, after: 720 * time.Hour}},
				Check:             captureAttr(keyAddr, "id", &oldID),
			},
			{
				PreConfig: func() { clock.setBack(0) },
				Config:    rotationConfig(second, "  rotate_after = \"720h\"\n"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{expectRotateAt{addr: keyAddr, after: 720 * time.Hour}},
				Check:             tfresource.ComposeAggregateTestCheckFunc(captureAttr(keyAddr, "id", &newID), replacedKey(e, second, &oldID, &newID)),
			},
		},
	})
}
