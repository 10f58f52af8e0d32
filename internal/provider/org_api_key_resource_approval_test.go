package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// The mint rules of June 2026 builds: mints with the ADMIN_TOKEN wait for a person's approval,
// the organization's live keys have a ceiling, and a credential without an approval anchor cannot
// mint. Each test runs on the emulator (which follows these rules by default) and, under make
// testacc-server, on the real June server, deciding approvals there as a person in Canvas would.

// adminEnv is e's environment with the deployment's ADMIN_TOKEN as the credential, whose mints
// wait for a person's approval.
func (e *testEnv) adminEnv(extra map[string]string) map[string]string {
	env := e.env()
	env[envAdminToken] = e.adminToken
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// undecided checks that the provider decided no approval, and sent each named key at most two
// mint requests.
func undecided(tr *traffic, names ...string) tfresource.TestCheckFunc {
	return func(*terraform.State) error {
		if n := tr.decisionRequests(); n != 0 {
			return fmt.Errorf("the provider sent %d approval decisions", n)
		}
		for _, name := range names {
			if n := tr.mintsOf(name); n > 2 {
				return fmt.Errorf("key %q cost %d mint requests, more than 2", name, n)
			}
		}
		return nil
	}
}

// By default a mint that waits for approval fails at once, naming the approval, after one mint
// request and with nothing in state; once a person approves, the next apply mints the key with
// one more request, which uses the approval up.
func TestAccOrgAPIKeyResource_approvalPending(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.requireApprovalGate(t)
	tr := e.watchTraffic(t)
	name := e.name("gated")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factoriesWithEnv(e.adminEnv(nil)),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: keyConfig(name),
				ExpectError: errorPattern("Org API Key Mint Awaits Approval", "Minting key", name, "needs a person's approval",
					"opened approval", "mint org token "+name, "minted nothing", "approve it in Canvas (Approvals)",
					"run terraform apply again", "set approval_timeout", "never approves a mint itself"),
			},
			{
				PreConfig: func() {
					if n := tr.mintsOf(name); n != 1 || len(e.liveWithName(name)) != 0 {
						t.Fatalf("after the refused apply: %d mint requests and %d keys named %q; want 1 and none", n, len(e.liveWithName(name)), name)
					}
					if n := e.decidePending(t, true, name); n != 1 {
						t.Fatalf("%d approvals were pending for %q, want 1", n, name)
					}
				},
				Config: keyConfig(name),
				Check: tfresource.ComposeAggregateTestCheckFunc(
					undecided(tr, name),
					func(*terraform.State) error {
						if n := tr.mintsOf(name); n != 2 {
							return fmt.Errorf("%d mint requests, want 2", n)
						}
						return nil
					},
					tfresource.TestCheckResourceAttr(keyAddr, "created_by", "admin-token"),
				),
			},
		},
	})
}

// With approval_timeout the apply watches the approvals without minting; once each is approved it
// mints the key with a second request, and a denial fails at once after a single one.
func TestAccOrgAPIKeyResource_approvalWait(t *testing.T) {
	t.Parallel()
	t.Run("approved", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		e.requireApprovalGate(t)
		tr := e.watchTraffic(t)
		prefix := e.name("approved")
		e.decideWhenPending(t, true, prefix)
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: e.factoriesWithEnv(e.adminEnv(map[string]string{envApprovalWait: "2m"})),
			CheckDestroy:             e.checkDestroy,
			Steps: []tfresource.TestStep{{
				Config: countedKeysConfig(prefix, 3),
				Check: tfresource.ComposeAggregateTestCheckFunc(
					undecided(tr, prefix+"-0", prefix+"-1", prefix+"-2"),
					func(s *terraform.State) error {
						if n, ids := tr.mintRequests(), stateIDs(s); n != 6 || len(ids) != 3 {
							return fmt.Errorf("%d mint requests and %d keys in state, want 6 and 3", n, len(ids))
						}
						return nil
					},
				),
			}},
		})
	})
	t.Run("denied", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		e.requireApprovalGate(t)
		tr := e.watchTraffic(t)
		name := e.name("denied")
		e.decideWhenPending(t, false, name)
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: e.factoriesWithEnv(e.adminEnv(map[string]string{envApprovalWait: "2m"})),
			Steps: []tfresource.TestStep{{
				Config: keyConfig(name),
				ExpectError: errorPattern("Org API Key Mint Denied", "A person denied minting key", "was denied by human",
					"Nothing was minted", "asks for a new approval"),
			}},
		})
		if n, d := tr.mintsOf(name), tr.decisionRequests(); n != 1 || d != 0 || len(e.liveWithName(name)) != 0 {
			t.Fatalf("%d mints, %d decisions by the provider, %d keys; want 1, 0, 0", n, d, len(e.liveWithName(name)))
		}
	})
	t.Run("no decision in time", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		e.requireApprovalGate(t)
		tr := e.watchTraffic(t)
		name := e.name("undecided")
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: e.factoriesWithEnv(e.adminEnv(map[string]string{envApprovalWait: "1s"})),
			Steps: []tfresource.TestStep{{
				Config:      keyConfig(name),
				ExpectError: errorPattern("Org API Key Mint Awaits Approval", "No one decided it in the 1s the provider waited"),
			}},
		})
		if n := tr.mintsOf(name); n != 1 {
			t.Fatalf("%d mint requests, want 1", n)
		}
	})
}

// chainedKeysConfig is n keys named prefix-<i>, each created after the one before, so that they
// are minted one at a time.
func chainedKeysConfig(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "resource \"molecule_org_api_key\" \"k%d\" {\n  name = \"%s-%d\"\n", i, prefix, i)
		if i > 0 {
			fmt.Fprintf(&b, "  depends_on = [molecule_org_api_key.k%d]\n", i-1)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// The organization's ceiling is refused at once, never retried, and the keys minted before it
// are in state. On a real server, one of its own with a ceiling of 3. The keys are minted one at a
// time: the service counts the organization's keys and then inserts, so mints running at once may
// all pass a count taken before any of them.
func TestAccOrgAPIKeyResource_ceiling(t *testing.T) {
	t.Parallel()
	var e *testEnv
	if realOrg() {
		e = envOn(t, startServer(t, "ORG_TOKEN_MINT_CEILING=3"))
	} else {
		e = newTestEnv(t, onEmulator(emulator.Options{MintCeiling: 3}))
	}
	// The credential is one of the three keys the organization may hold.
	tr := e.watchTraffic(t)
	prefix := e.name("ceiling")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: chainedKeysConfig(prefix, 4),
				ExpectError: errorPattern("Unable to Mint Org API Key", prefix+"-2", "the organization holds the most live keys the service allows",
					"ORG_TOKEN_MINT_CEILING", "was not retried", "never_used", "molecule_revoke_org_api_keys", "lifetime",
					"The keys minted so far are in state"),
			},
			{
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: func(s *terraform.State) error {
					var live []string
					for i := range 4 {
						for _, k := range e.liveWithName(fmt.Sprintf("%s-%d", prefix, i)) {
							live = append(live, k.ID)
						}
					}
					ids := stateIDs(s)
					if n := tr.mintRequests(); n != 3 || len(ids) != 2 || len(live) != 2 {
						return fmt.Errorf("%d mint requests, %d keys in state, %d live; want 3 (none retried), 2 and 2", n, len(ids), len(live))
					}
					return nil
				},
			},
		},
	})
}

// A credential the service gives nothing to be approved in is refused after one request, and the
// error says which credential it was and which can mint.
func TestAccOrgAPIKeyResource_noApprovalAnchor(t *testing.T) {
	t.Parallel()
	t.Run("admin token without a platform workspace", func(t *testing.T) {
		t.Parallel()
		var e *testEnv
		if realOrg() {
			e = envOn(t, startServer(t, "MOLECULE_SERVER_NO_PLATFORM_WORKSPACE_ID=1"))
		} else {
			e = newTestEnv(t, onEmulator(emulator.Options{NoPlatformWorkspace: true}))
		}
		tr := e.watchTraffic(t)
		e.expectErrorWithEnv(t, e.adminEnv(nil), keyConfig(e.name("no-anchor")), errorPattern("Unable to Mint Org API Key",
			"no approval anchor for this credential", "it is the deployment's ADMIN_TOKEN", "no platform workspace",
			"org key anchored to the organization", "not retried"))
		if n := tr.mintRequests(); n != 1 {
			t.Fatalf("%d mint requests, want 1", n)
		}
	})
	t.Run("org key of no organization", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t)
		e.requireApprovalGate(t)
		tr := e.watchTraffic(t)
		name, plaintext := e.name("made-in-canvas"), newOpaqueSecret()
		var id string
		if e.emu != nil {
			k, key := e.emu.Seed(emulator.SeedKey{Name: name, CreatedBy: "session"})
			id, plaintext = k.ID, key
		} else {
			id = e.insertKey(t, name, plaintext, "")
		}
		env := e.env()
		env[envAdminToken] = plaintext
		e.expectErrorWithEnv(t, env, keyConfig(e.name("unanchored")), errorPattern("Unable to Mint Org API Key",
			"the org key "+id, "prefix "+plaintext[:8], "belongs to no organization", "org key anchored to the organization"))
		if n := tr.mintRequests(); n != 1 {
			t.Fatalf("%d mint requests, want 1", n)
		}
	})
}

// expectErrorWithEnv runs config in a one-step test case, with the provider seeing env, that must
// fail with pattern.
func (e *testEnv) expectErrorWithEnv(t *testing.T, env map[string]string, config string, pattern *regexp.Regexp) {
	t.Helper()
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factoriesWithEnv(env),
		Steps:                    []tfresource.TestStep{{Config: config, ExpectError: pattern}},
	})
}

// A plan that mints more keys than the hourly quota warns once, on the first key beyond it;
// a plan within the quota does not warn.
func TestCLI_planWarnsOfMoreMintsThanTheQuota(t *testing.T) {
	t.Parallel()
	c := newCLIEnv(t, emulator.Options{})
	const warning = "Plan Mints More Keys Than the Hourly Quota"
	prefix := testKeyPrefix + "quota-plan-" + acctest.RandString(6)
	const required = "terraform {\n  required_providers {\n    molecule = {\n      source = \"molecule-ai/molecule\"\n    }\n  }\n}\n"
	c.writeConfig(required + countedKeysConfig(prefix, 10))
	if res := c.mustRun(nil, "plan", "-input=false", "-no-color"); strings.Contains(string(res.stdout)+string(res.stderr), warning) {
		t.Fatalf("a plan of 10 keys warned:\n%s", res)
	}
	c.writeConfig(required + countedKeysConfig(prefix, 12))
	res := c.mustRun(nil, "plan", "-input=false", "-no-color")
	out := string(res.stdout) + string(res.stderr)
	if n := strings.Count(out, "Warning: "+warning); n != 1 || !strings.Contains(out, "mints more than 10 keys") {
		t.Fatalf("a plan of 12 keys warned %d times, want once:\n%s", n, res)
	}
	if n := c.emu.RequestCount(emulator.EndpointMint); n != 0 {
		t.Fatalf("planning minted %d keys", n)
	}
}
