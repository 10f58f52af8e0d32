package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

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

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

const keyAddr = "molecule_org_api_key.test"

var (
	idRegexp        = regexp.MustCompile(`^tok_[0-9A-HJKMNP-TV-Z]{20}$`)
	plaintextRegexp = regexp.MustCompile(`^mola_[a-z0-9]{26}$`)
	timestampRegexp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

// keyAuthenticates proves the plaintext in state is the real key: the service accepts it.
func keyAuthenticates(e *testEnv) tfresource.TestCheckFunc {
	return func(s *terraform.State) error {
		key := s.RootModule().Resources[keyAddr].Primary.Attributes["key"]
		c, err := client.New(client.Config{Endpoint: e.endpoint, Token: key, UserAgent: "acc"})
		if err != nil {
			return err
		}
		if _, err := c.List(context.Background()); err != nil {
			return fmt.Errorf("the key in state does not authenticate: %w", err)
		}
		return nil
	}
}

func TestAccOrgAPIKeyResource_lifecycle(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	first, renamed := e.name("lifecycle"), e.name("renamed")
	var firstID, secondID, firstKey string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: keyConfig(first),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("name"), knownvalue.StringExact(first)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.StringRegexp(plaintextRegexp)),
					statecheck.ExpectSensitiveValue(keyAddr, tfjsonpath.New("key")),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("created_by"), knownvalue.StringExact(e.createdBy())),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("created_at"), knownvalue.StringRegexp(timestampRegexp)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("last_used_at"), knownvalue.Null()),
				},
				Check: tfresource.ComposeAggregateTestCheckFunc(
					captureAttr(keyAddr, "id", &firstID),
					captureAttr(keyAddr, "key", &firstKey),
					keyAuthenticates(e),
					func(*terraform.State) error {
						if e.emu != nil && !idRegexp.MatchString(firstID) {
							return fmt.Errorf("id %q has the wrong shape", firstID)
						}
						if got := e.liveWithName(first); len(got) != 1 || got[0].ID != firstID {
							return fmt.Errorf("want exactly one live key %q with id %s, got %v", first, firstID, got)
						}
						return nil
					},
				),
			},
			{
				// The key was used (by keyAuthenticates above): last_used_at drifted, the plan stays empty
				// and the refreshed state carries the new time while the plaintext is kept.
				Config: keyConfig(first),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("last_used_at"), knownvalue.StringRegexp(timestampRegexp)),
				},
				Check: tfresource.TestCheckResourceAttrPtr(keyAddr, "key", &firstKey),
			},
			{
				ResourceName:            keyAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"key", "last_used_at"},
			},
			{
				Config: keyConfig(renamed),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("name"), knownvalue.StringExact(renamed)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.StringRegexp(plaintextRegexp)),
				},
				Check: tfresource.ComposeAggregateTestCheckFunc(
					captureAttr(keyAddr, "id", &secondID),
					keyAuthenticates(e),
					func(*terraform.State) error {
						if secondID == firstID {
							return fmt.Errorf("rename kept id %s; want a new key", firstID)
						}
						if e.isLive(firstID) {
							return fmt.Errorf("old key %s is still live after the rename", firstID)
						}
						if !e.isLive(secondID) {
							return fmt.Errorf("new key %s is not live", secondID)
						}
						return nil
					},
				),
			},
		},
	})
}

func TestAccOrgAPIKeyResource_revokedOutOfBand(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("oob")
	var firstID, secondID string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: keyConfig(name),
				Check:  captureAttr(keyAddr, "id", &firstID),
			},
			{
				PreConfig: func() { e.revokeOutOfBand(firstID) },
				Config:    keyConfig(name),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionCreate)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.StringRegexp(plaintextRegexp)),
				},
				Check: tfresource.ComposeAggregateTestCheckFunc(
					captureAttr(keyAddr, "id", &secondID),
					keyAuthenticates(e),
					func(*terraform.State) error {
						live := e.liveWithName(name)
						if len(live) != 1 || live[0].ID != secondID || secondID == firstID {
							return fmt.Errorf("want exactly one live key %q, the replacement; got %v (first %s)", name, live, firstID)
						}
						return nil
					},
				),
			},
		},
	})
}

func TestAccOrgAPIKeyResource_importCommand(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("import")
	seeded := e.seed(name)

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
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("want 1 imported instance, got %d", len(states))
					}
					a := states[0].Attributes
					if a["id"] != seeded.ID || a["name"] != name || a["created_by"] != seeded.CreatedBy {
						return fmt.Errorf("imported attributes %v do not match key %+v", a, seeded)
					}
					if a["key"] != "" {
						return fmt.Errorf("imported key must be null")
					}
					return nil
				},
			},
			{
				Config: keyConfig(name),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("id"), knownvalue.StringExact(seeded.ID)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.Null()),
				},
			},
		},
	})
	if e.isLive(seeded.ID) {
		t.Fatalf("imported key %s must be revoked by destroy", seeded.ID)
	}
}

func TestAccOrgAPIKeyResource_importBlock(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("importblock")
	seeded := e.seed(name)
	config := fmt.Sprintf(`
import {
  to = molecule_org_api_key.test
  id = %q
}
%s`, seeded.ID, keyConfig(name))

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionNoop)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("id"), knownvalue.StringExact(seeded.ID)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("created_by"), knownvalue.StringExact(seeded.CreatedBy)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.Null()),
				},
			},
			{
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
	if live := e.liveWithName(name); len(live) != 0 {
		t.Fatalf("destroy left live keys: %v", live)
	}
}

func TestAccOrgAPIKeyResource_importErrors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("importerr")
	secretLookalike := "mola_" + strings.Repeat("q", 26)

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{
			{
				Config:        keyConfig(name),
				ResourceName:  keyAddr,
				ImportState:   true,
				ImportStateId: "tok_00000000000000000000",
				ExpectError:   errorPattern(`No live org API key has id tok_00000000000000000000`),
			},
			{
				Config:        keyConfig(name),
				ResourceName:  keyAddr,
				ImportState:   true,
				ImportStateId: secretLookalike,
				ExpectError:   errorPattern(`"mola_<redacted>" is not an org API key id`),
			},
		},
	})
	if live := e.liveWithName(name); len(live) != 0 {
		t.Fatalf("failed imports must not mint anything, got %v", live)
	}
}

func TestAccOrgAPIKeyResource_invalidName(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for _, tc := range []struct{ name, want string }{
		{"   ", `empty|blank`},
		{strings.Repeat("n", 129), `128`},
		{"bad\\u0007name", `control`},
	} {
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: e.factories(),
			Steps: []tfresource.TestStep{{
				Config:      fmt.Sprintf("resource \"molecule_org_api_key\" \"test\" {\n  name = \"%s\"\n}\n", tc.name),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid Org API Key Name.*(` + tc.want + `)`),
			}},
		})
	}
	if e.emu != nil && e.emu.RequestCount(emulator.EndpointMint) != 0 {
		t.Fatalf("an invalid name must be refused before any mint request")
	}
}

// Warnings and the revoke-after-revoke path are asserted at the framework level: the testing
// harness does not expose warnings, and its destroy refreshes first.
func TestOrgAPIKeyResource_direct(t *testing.T) {
	t.Parallel()
	emu := emulator.NewTestServer(t, emulator.Options{})
	data, err := newProviderData(client.Config{Endpoint: emu.URL(), Token: emu.AdminToken(), UserAgent: "unit"})
	if err != nil {
		t.Fatal(err)
	}
	r := &orgAPIKeyResource{data: data}
	ctx := context.Background()
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)

	t.Run("import", func(t *testing.T) {
		k, _ := emu.Seed(emulator.SeedKey{Name: "imported"})
		resp := resource.ImportStateResponse{State: tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}}
		r.ImportState(ctx, resource.ImportStateRequest{ID: k.ID}, &resp)
		if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 ||
			!strings.Contains(resp.Diagnostics.Warnings()[0].Detail(), "cannot be recovered") {
			t.Fatalf("want one warning that the plaintext cannot be recovered, got %v", resp.Diagnostics)
		}
	})

	t.Run("revoked out of band", func(t *testing.T) {
		k, _ := emu.Seed(emulator.SeedKey{Name: "doomed"})
		emu.Revoke(k.ID)
		state := tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}
		if d := state.Set(ctx, &orgAPIKeyResourceModel{
			ID: types.StringValue(k.ID), Name: types.StringValue("doomed"), Key: types.StringValue("mola_" + strings.Repeat("z", 26)),
			CreatedBy: types.StringValue("admin-token"), CreatedAt: types.StringValue(time.Now().UTC().Format(time.RFC3339)),
			LastUsedAt: types.StringNull(), RotationTriggers: types.MapNull(types.StringType),
		}); d.HasError() {
			t.Fatal(d)
		}
		resp := resource.ReadResponse{State: state}
		r.Read(ctx, resource.ReadRequest{State: state}, &resp)
		if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 ||
			!strings.Contains(resp.Diagnostics.Warnings()[0].Summary(), "Revoked Outside Terraform") {
			t.Fatalf("want one revoked-outside-Terraform warning, got %v", resp.Diagnostics)
		}
		if !resp.State.Raw.IsNull() {
			t.Fatal("the revoked key must be removed from state")
		}
	})

	t.Run("delete of an already revoked key succeeds", func(t *testing.T) {
		k, _ := emu.Seed(emulator.SeedKey{Name: "twice"})
		emu.Revoke(k.ID)
		before := emu.RequestCount(emulator.EndpointRevoke)
		state := tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}
		if d := state.Set(ctx, &orgAPIKeyResourceModel{
			ID: types.StringValue(k.ID), Name: types.StringValue("twice"), Key: types.StringNull(),
			CreatedBy: types.StringValue("admin-token"), CreatedAt: types.StringValue(time.Now().UTC().Format(time.RFC3339)),
			LastUsedAt: types.StringNull(), RotationTriggers: types.MapNull(types.StringType),
		}); d.HasError() {
			t.Fatal(d)
		}
		resp := resource.DeleteResponse{State: state}
		r.Delete(ctx, resource.DeleteRequest{State: state}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("a 404 on revoke means already revoked and must succeed, got %v", resp.Diagnostics)
		}
		if got := emu.RequestCount(emulator.EndpointRevoke) - before; got != 1 {
			t.Fatalf("want 1 revoke request, got %d", got)
		}
	})
}

// A rejected credential is explained without being echoed, in any diagnostic.
func TestOrgAPIKeyResource_rejectedCredentialNotEchoed(t *testing.T) {
	t.Parallel()
	emu := emulator.NewTestServer(t, emulator.Options{})
	canary := "mola_canary" + strings.Repeat("7", 21)
	data, err := newProviderData(client.Config{Endpoint: emu.URL(), Token: canary, UserAgent: "unit"})
	if err != nil {
		t.Fatal(err)
	}
	r := &orgAPIKeyResource{data: data}
	ctx := context.Background()
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	plan := tfsdk.Plan{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}
	if d := plan.Set(ctx, &orgAPIKeyResourceModel{
		ID: types.StringUnknown(), Name: types.StringValue("ci"), Key: types.StringUnknown(),
		CreatedBy: types.StringUnknown(), CreatedAt: types.StringUnknown(), LastUsedAt: types.StringUnknown(),
		RotationTriggers: types.MapNull(types.StringType),
	}); d.HasError() {
		t.Fatal(d)
	}
	resp := resource.CreateResponse{State: tfsdk.State{Schema: sr.Schema, Raw: plan.Raw.Copy()}}
	r.Create(ctx, resource.CreateRequest{Plan: plan}, &resp)
	if !resp.Diagnostics.HasError() {
		t.Fatal("want an error for a rejected credential")
	}
	var text strings.Builder
	for _, d := range resp.Diagnostics {
		text.WriteString(d.Summary() + "\n" + d.Detail() + "\n")
	}
	if !strings.Contains(text.String(), "the token was rejected") || !strings.Contains(text.String(), "MOLECULE_ORG_TOKEN") {
		t.Fatalf("the diagnostic must explain the rejection and say what to check:\n%s", text.String())
	}
	mustContainNone(t, text.String(), canary, canary[:12])
}
