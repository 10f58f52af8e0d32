package provider

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"testing"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it aborts the program instead
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// keyKept checks that the key in state is still *id, and live.
func keyKept(e *testEnv, id *string) tfresource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[keyAddr]
		if !ok || rs.Primary.ID != *id {
			return fmt.Errorf("state no longer holds key %s", *id)
		}
		if !e.isLive(*id) {
			return fmt.Errorf("key %s is no longer live", *id)
		}
		return nil
	}
}

// Behind a hosted organization's routing guard: with org_id a key is minted, planned empty and
// destroyed; without it, or with another organization's id, every command fails saying what to
// set, and the key stays in state and live. June builds and newer refuse a missing header with
// TENANT_ORG_HEADER_REQUIRED.
func TestAccOrgAPIKeyResource_tenantRouting(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, hostedOrg(emulator.BuildJune2026))
	name, other := e.name("tenant"), e.name("tenant-new")
	var id string

	without := e.env()
	delete(without, envOrgID)
	another := e.env()
	another[envOrgID] = "00000000-0000-4000-8000-000000000000"
	missing := errorPattern("HTTP 400 Bad Request: missing tenant routing header", "TENANT_ORG_HEADER_REQUIRED",
		"set the provider's org_id attribute, or the MOLECULE_ORG_ID environment variable, to the organization's UUID")
	wrong := errorPattern("/org/tokens: HTTP 404 Not Found (empty body)", "looks wrong",
		"org_id is set: it may be another organization's id")
	noNewKey := func() {
		if keys := e.liveWithName(other); len(keys) != 0 {
			t.Errorf("a refused run minted %v", keys)
		}
		if keys := e.liveWithName(name); len(keys) != 1 {
			t.Errorf("want exactly one key named %q, got %v", name, keys)
		}
	}
	withOrgIDAttribute := fmt.Sprintf("provider \"molecule\" {\n  org_id = %q\n}\n", e.orgID)

	// Steps that need another environment name their providers, so all of them must; the
	// last step's are the ones the final destroy runs with.
	with := e.factories()
	tfresource.Test(t, tfresource.TestCase{
		CheckDestroy: e.checkDestroy,
		Steps: []tfresource.TestStep{
			{ProtoV6ProviderFactories: with, Config: keyConfig(name), Check: captureAttr(keyAddr, "id", &id)},
			{ProtoV6ProviderFactories: with, Config: keyConfig(name), PlanOnly: true},
			{
				ProtoV6ProviderFactories: e.factoriesWithEnv(without),
				Config:                   keyConfig(name) + fmt.Sprintf("resource \"molecule_org_api_key\" \"other\" {\n  name = %q\n}\n", other),
				ExpectError:              missing,
			},
			{ProtoV6ProviderFactories: e.factoriesWithEnv(another), Config: keyConfig(name), PlanOnly: true, ExpectError: wrong},
			{PreConfig: noNewKey, ProtoV6ProviderFactories: e.factoriesWithEnv(without), Config: keyConfig(name), Destroy: true, ExpectError: missing},
			{ProtoV6ProviderFactories: e.factoriesWithEnv(another), Config: keyConfig(name), Destroy: true, ExpectError: wrong},
			{
				ProtoV6ProviderFactories: e.factoriesWithEnv(without),
				Config:                   keyConfig(name),
				ResourceName:             keyAddr,
				ImportState:              true,
				ImportStateIdFunc:        func(*terraform.State) (string, error) { return id, nil },
				ExpectError:              missing,
			},
			{
				// org_id in configuration works as MOLECULE_ORG_ID does; the key is the one minted first.
				PreConfig:                noNewKey,
				ProtoV6ProviderFactories: e.factoriesWithEnv(without),
				Config:                   withOrgIDAttribute + keyConfig(name),
				ConfigPlanChecks:         tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:                    keyKept(e, &id),
			},
		},
	})
}

// Builds before June 2026 refuse a request without the organization's id with a bare 404, which
// the error explains as such.
func TestAccDataSources_tenantRoutingApril(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, hostedOrg(emulator.BuildApril2026))
	without := e.env()
	delete(without, envOrgID)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factoriesWithEnv(without),
		Steps: []tfresource.TestStep{{Config: listAllConfig, ExpectError: errorPattern(
			"/org/tokens: HTTP 404 Not Found (empty body), which is not the Molecule org token API's own answer", "looks wrong",
			"set the provider's org_id attribute, or the MOLECULE_ORG_ID environment variable", "before June 2026 answer a bare 404 without it")}},
	})
}

// A base URL with a path the service does not serve answers every request with a router's bare
// 404: a destroy fails, naming the URL, and the key stays in state and live.
func TestAccOrgAPIKeyResource_wrongBasePath(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("base-path")
	var id string
	wrong := e.env()
	wrong[envEndpoint] = e.endpoint + "/api/v1"
	with := e.factories()
	tfresource.Test(t, tfresource.TestCase{
		CheckDestroy: e.checkDestroy,
		Steps: []tfresource.TestStep{
			{ProtoV6ProviderFactories: with, Config: keyConfig(name), Check: captureAttr(keyAddr, "id", &id)},
			{
				ProtoV6ProviderFactories: e.factoriesWithEnv(wrong),
				Config:                   keyConfig(name),
				Destroy:                  true,
				ExpectError: errorPattern("Unable to Read Org API Key", "GET "+e.endpoint+"/api/v1/org/tokens: HTTP 404 Not Found",
					"not the Molecule org token API's own answer", "State was left unchanged",
					"is the organization's base URL, without a path"),
			},
			{
				ProtoV6ProviderFactories: with,
				Config:                   keyConfig(name),
				ConfigPlanChecks:         tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:                    keyKept(e, &id),
			},
		},
	})
}

// foreign404Row is one row of TestAccFaultMatrix_revokeForeign404: a 404 answer to a revocation,
// and how the error describes it.
type foreign404Row struct {
	name  string
	fault emulator.Fault
	said  string
	// cli runs the row through Terraform's destroy; the other rows call the resource directly.
	cli bool
}

// foreign404Error is the error of a destroy whose revocation a router answered, saying said.
func foreign404Error(e *testEnv, said string) *regexp.Regexp {
	return errorPattern("Unable to Revoke Org API Key", "DELETE "+e.endpoint+"/org/tokens/",
		"HTTP 404 Not Found "+said, "looks wrong", "stays in state")
}

// A revocation answered by a 404 that is not the service's own (a router, a proxy) fails the
// destroy with the URL; the key stays in state and live, and the next destroy revokes it.
func TestAccFaultMatrix_revokeForeign404(t *testing.T) {
	needsFaults(t)
	t.Parallel()
	for _, row := range []foreign404Row{
		{"bare", emulator.Fault{Status: 404, NoBody: true}, "(empty body)", true},
		{"router text", emulator.Fault{Status: 404, Body: "404 page not found", ContentType: "text/plain"}, "(non-JSON response (text/plain, 18 bytes))", false},
		{"proxy html", emulator.Fault{Status: 404, Body: "<html><h1>404</h1></html>", ContentType: "text/html"}, "(non-JSON response (text/html, 25 bytes))", false},
		{"other json", emulator.Fault{Status: 404, Body: `{"error":"route not found"}`}, "(route not found)", false},
	} {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, emulatorOnly)
			name := e.name("foreign-404")
			if row.cli {
				foreign404ThroughTerraform(t, e, name, row)
			} else {
				foreign404Directly(t, e, name, row)
			}
		})
	}
}

// foreign404Directly runs a row, for a key named name, against the resource's Delete and Read, each call by a fresh
// provider as each Terraform command is, and checks what foreign404ThroughTerraform checks.
func foreign404Directly(t *testing.T, e *testEnv, name string, row foreign404Row) {
	env := e.env()
	state, _ := faultAfterMint(t, e, env, name, emulator.EndpointRevoke, row.fault)
	resp := newResourceHarness(t, e, env).delete(state)
	failedWith(t, resp.Diagnostics, foreign404Error(e, row.said))
	if !resp.State.Raw.Equal(state.Raw) {
		t.Error("the failed destroy changed state")
	}
	e.emu.ClearFaults()
	// The key is still live, and the next refresh keeps it as it is.
	keyHolds(t, e, env, name, state)
	destroyDirectly(t, e, env, state)
}

// foreign404ThroughTerraform runs a row, for a key named name, through Terraform.
func foreign404ThroughTerraform(t *testing.T, e *testEnv, name string, row foreign404Row) {
	var id string
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{Config: keyConfig(name), Check: captureAttr(keyAddr, "id", &id)},
			{
				PreConfig: func() {
					inject(e, emulator.EndpointRevoke, row.fault)
				},
				Config:      keyConfig(name),
				Destroy:     true,
				ExpectError: foreign404Error(e, row.said),
			},
			{
				PreConfig:        e.emu.ClearFaults,
				Config:           keyConfig(name),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            tfresource.ComposeAggregateTestCheckFunc(keyKept(e, &id), liveMatchState(e, name)),
			},
		},
	})
}

// Both data sources fail, saying what to set, when a hosted organization's routing refuses them.
func TestAccDataSources_tenantRouting(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, hostedOrg(emulator.BuildJune2026))
	k := e.seed(e.name("looked-up"))
	config := fmt.Sprintf("data \"molecule_org_api_key\" \"one\" {\n  id = %q\n}\n", k.ID) + listAllConfig
	without := e.env()
	delete(without, envOrgID)
	another := e.env()
	another[envOrgID] = newUUID()
	for name, tc := range map[string]struct {
		env  map[string]string
		want []string
	}{
		"without org_id": {without, []string{"TENANT_ORG_HEADER_REQUIRED", "set the provider's org_id attribute, or the MOLECULE_ORG_ID environment variable"}},
		"another org_id": {another, []string{"HTTP 404 Not Found (empty body)", "org_id is set: it may be another organization's id"}},
	} {
		t.Run(name, func(t *testing.T) {
			tfresource.Test(t, tfresource.TestCase{
				ProtoV6ProviderFactories: e.factoriesWithEnv(tc.env),
				Steps: []tfresource.TestStep{{
					Config:      config,
					ExpectError: errorPattern(append([]string{"Unable to List Org API Keys"}, tc.want...)...),
				}},
			})
		})
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{{
			Config: config,
			Check:  tfresource.TestCheckResourceAttr("data.molecule_org_api_key.one", "name", k.Name),
		}},
	})
}
