package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/echoprovider"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

const (
	echoAddr     = "echo.test"
	consumerAddr = "data.molecule_org_api_keys.consumer"
)

var (
	sha256HexRegexp   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	ephemeralVersions = []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_10_0)}
	// secretCandidate is a run of characters a plaintext could consist of.
	secretCandidate = regexp.MustCompile(`[A-Za-z0-9_-]{16,}`)
)

// ephemeralFactories adds two consumers of the ephemeral key to the provider under test: echo,
// which copies its provider configuration into state, and moleculeconsumer, a separate server of
// this provider that authenticates with the ephemeral key. The harness serves every alias of one
// provider from a single server, so two configurations of "molecule" would share one client; a
// second name gets a server of its own.
func (e *testEnv) ephemeralFactories() map[string]func() (tfprotov6.ProviderServer, error) {
	f := e.factories()
	f["echo"] = echoprovider.NewProviderServer()
	f["moleculeconsumer"] = providerserver.NewProtocol6WithError(e.provider(nil))
	return f
}

// ephemeralKeyConfig opens an ephemeral key named name and hands it to both consumers. Echo gets
// only the key's SHA-256, so that no state holds the plaintext; the consumer lists keys with it
// during apply (its read waits for echo.test, which is created then).
func ephemeralKeyConfig(e *testEnv, name, extra string) string {
	return fmt.Sprintf(`
ephemeral "molecule_org_api_key" "test" {
  name = %[1]q
%[3]s}

provider "echo" {
  data = {
    id         = ephemeral.molecule_org_api_key.test.id
    prefix     = ephemeral.molecule_org_api_key.test.prefix
    key_sha256 = sha256(ephemeral.molecule_org_api_key.test.key)
  }
}

resource "echo" "test" {}

provider "moleculeconsumer" {
  endpoint = %[2]q
  token    = ephemeral.molecule_org_api_key.test.key
}

data "molecule_org_api_keys" "consumer" {
  provider    = moleculeconsumer
  name_prefix = %[1]q

  depends_on = [echo.test]
}
`, name, e.endpoint, extra)
}

// stateCheck adapts a function to statecheck.StateCheck.
type stateCheck func(statecheck.CheckStateRequest) error

func (f stateCheck) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	resp.Error = f(req)
}

// planCheck adapts a function to plancheck.PlanCheck.
type planCheck func(plancheck.CheckPlanRequest) error

func (f planCheck) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = f(req)
}

// plaintextsIn returns the ids of the keys the emulator minted whose plaintext appears in text.
// Keys have no format to search for, and the emulator keeps only their SHA-256, so every run of
// characters a key could be made of is hashed and looked up, whole and in windows as long as a
// minted key.
func plaintextsIn(e *testEnv, text string) []string {
	const window = 43 // 256 bits of base64url
	seen := map[string]bool{}
	var ids []string
	check := func(candidate string) {
		sum := sha256.Sum256([]byte(candidate))
		if k, ok := e.emu.KeyBySHA256(hex.EncodeToString(sum[:])); ok && !seen[k.ID] {
			seen[k.ID] = true
			ids = append(ids, k.ID)
		}
	}
	for _, run := range secretCandidate.FindAllString(text, -1) {
		check(run)
		for i := 0; len(run) > window && i+window <= len(run); i++ {
			check(run[i : i+window])
		}
	}
	return ids
}

// noPlaintext fails when a plan or state document, sensitive values included, holds a plaintext key.
func noPlaintext(e *testEnv, what string, doc any) error {
	raw, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	if ids := plaintextsIn(e, string(raw)); len(ids) > 0 {
		return fmt.Errorf("the %s holds the plaintext of keys %v", what, ids)
	}
	return nil
}

func stateHasNoPlaintext(e *testEnv) statecheck.StateCheck {
	return stateCheck(func(req statecheck.CheckStateRequest) error { return noPlaintext(e, "state", req.State) })
}

func planHasNoPlaintext(e *testEnv) plancheck.PlanCheck {
	return planCheck(func(req plancheck.CheckPlanRequest) error { return noPlaintext(e, "plan", req.Plan) })
}

// echoedKey is the emulator's record of the key whose digest reached echo.test.
func echoedKey(e *testEnv, req statecheck.CheckStateRequest) (emulator.Key, error) {
	if req.State == nil || req.State.Values == nil || req.State.Values.RootModule == nil {
		return emulator.Key{}, fmt.Errorf("the state is empty")
	}
	for _, r := range req.State.Values.RootModule.Resources {
		if r.Address != echoAddr {
			continue
		}
		data, _ := r.AttributeValues["data"].(map[string]any)
		id, _ := data["id"].(string)
		prefix, _ := data["prefix"].(string)
		digest, _ := data["key_sha256"].(string)
		k, ok := e.emu.KeyBySHA256(digest)
		if !ok {
			return emulator.Key{}, fmt.Errorf("no key the emulator minted has the SHA-256 %q that reached %s", digest, echoAddr)
		}
		if k.ID != id {
			return emulator.Key{}, fmt.Errorf("%s holds id %s but the digest of key %s", echoAddr, id, k.ID)
		}
		// The emulator's prefix is the first 8 characters of the plaintext it minted.
		if k.Prefix == "" || prefix != k.Prefix {
			return emulator.Key{}, fmt.Errorf("%s holds prefix %q, but key %s starts with %q", echoAddr, prefix, k.ID, k.Prefix)
		}
		return k, nil
	}
	return emulator.Key{}, fmt.Errorf("%s not in state", echoAddr)
}

// expectEchoedKey checks that the key that reached the consumers is a real key minted by the
// provider with name, that it authenticated the consumer, and whether it is still live.
func expectEchoedKey(e *testEnv, name string, wantLive bool, dst *emulator.Key) stateCheck {
	return func(req statecheck.CheckStateRequest) error {
		k, err := echoedKey(e, req)
		if err != nil {
			return err
		}
		if dst != nil {
			*dst = k
		}
		switch {
		case k.Name != name || k.CreatedBy != e.createdBy():
			return fmt.Errorf("echoed key %s is named %q and created by %q; want %q by %q", k.ID, k.Name, k.CreatedBy, name, e.createdBy())
		case k.LastUsedAt == nil:
			return fmt.Errorf("echoed key %s never authenticated a request, so the consumer did not get a working key", k.ID)
		case wantLive && k.RevokedAt != nil:
			return fmt.Errorf("echoed key %s was revoked, but revoke_on_close is false", k.ID)
		case !wantLive && k.RevokedAt == nil:
			return fmt.Errorf("echoed key %s is still live after the run closed it", k.ID)
		}
		return nil
	}
}

// keysNamed returns every key the emulator ever held with name, revoked ones included.
func keysNamed(e *testEnv, name string) []emulator.Key {
	var out []emulator.Key
	for _, k := range e.emu.AllKeys() {
		if k.Name == name {
			out = append(out, k)
		}
	}
	return out
}

// expectAllNamed checks that at least minCount keys named name were minted and that every one of
// them is revoked (or, with wantLive, that none is).
func expectAllNamed(e *testEnv, name string, minCount int, wantLive bool) error {
	keys := keysNamed(e, name)
	if len(keys) < minCount {
		return fmt.Errorf("want at least %d keys named %q (one per plan and apply), got %d", minCount, name, len(keys))
	}
	for _, k := range keys {
		if live := k.RevokedAt == nil; live != wantLive {
			return fmt.Errorf("key %s (%q): live = %v, want %v; all: %+v", k.ID, name, live, wantLive, keys)
		}
	}
	return nil
}

func TestAccOrgAPIKeyEphemeralResource_basic(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	name := e.name("ephemeral")

	tfresource.Test(t, tfresource.TestCase{
		TerraformVersionChecks:   ephemeralVersions,
		ProtoV6ProviderFactories: e.ephemeralFactories(),
		CheckDestroy: func(*terraform.State) error {
			if live := mintedKeys(e.emu); len(live) != 0 {
				return fmt.Errorf("live keys after destroy: %+v", live)
			}
			return expectAllNamed(e, name, 3, false)
		},
		Steps: []tfresource.TestStep{{
			Config: ephemeralKeyConfig(e, name, ""),
			ConfigPlanChecks: tfresource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(echoAddr, plancheck.ResourceActionCreate), planHasNoPlaintext(e)},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				// Echo holds the id, the prefix and the digest, nothing else.
				statecheck.ExpectKnownValue(echoAddr, tfjsonpath.New("data"), knownvalue.ObjectExact(map[string]knownvalue.Check{
					"id":         knownvalue.StringRegexp(e.idRegexp()),
					"prefix":     knownvalue.StringRegexp(regexp.MustCompile(`^.{8}$`)),
					"key_sha256": knownvalue.StringRegexp(sha256HexRegexp),
				})),
				expectEchoedKey(e, name, false, nil),
				stateCheck(func(statecheck.CheckStateRequest) error { return expectAllNamed(e, name, 2, false) }),
				// Authenticated with the key, the consumer saw the key itself as the only live one of its name.
				statecheck.ExpectKnownValue(consumerAddr, tfjsonpath.New("keys"), knownvalue.ListSizeExact(1)),
				statecheck.CompareValuePairs(consumerAddr, tfjsonpath.New("keys").AtSliceIndex(0).AtMapKey("id"),
					echoAddr, tfjsonpath.New("data").AtMapKey("id"), compare.ValuesSame()),
				stateHasNoPlaintext(e),
			},
			Check: func(s *terraform.State) error {
				for addr, rs := range s.RootModule().Resources {
					for attr, v := range rs.Primary.Attributes {
						if ids := plaintextsIn(e, v); len(ids) > 0 {
							return fmt.Errorf("%s.%s holds the plaintext of keys %v", addr, attr, ids)
						}
					}
				}
				return nil
			},
		}},
	})
}

func TestAccOrgAPIKeyEphemeralResource_keepOnClose(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	name := e.name("ephemeral-kept")
	t.Cleanup(func() {
		for _, k := range keysNamed(e, name) {
			e.emu.Revoke(k.ID)
		}
	})
	var minted int

	tfresource.Test(t, tfresource.TestCase{
		TerraformVersionChecks:   ephemeralVersions,
		ProtoV6ProviderFactories: e.ephemeralFactories(),
		CheckDestroy: func(*terraform.State) error {
			// The plans after the apply and the destroy open the ephemeral resource again; their
			// keys stay live as well.
			if n := len(keysNamed(e, name)); n <= minted {
				return fmt.Errorf("no key was minted after the apply: %d then, %d now", minted, n)
			}
			return expectAllNamed(e, name, minted, true)
		},
		Steps: []tfresource.TestStep{{
			Config: ephemeralKeyConfig(e, name, "  revoke_on_close = false\n"),
			ConfigStateChecks: []statecheck.StateCheck{
				expectEchoedKey(e, name, true, nil),
				stateCheck(func(statecheck.CheckStateRequest) error {
					minted = len(keysNamed(e, name))
					return expectAllNamed(e, name, 2, true)
				}),
				stateHasNoPlaintext(e),
			},
		}},
	})
}

func TestAccOrgAPIKeyEphemeralResource_invalidName(t *testing.T) {
	t.Parallel()
	for label, name := range map[string]string{"blank": "   ", "101 bytes": strings.Repeat("é", 50) + "k"} {
		t.Run(label, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, emulatorOnly)
			tfresource.Test(t, tfresource.TestCase{
				TerraformVersionChecks:   ephemeralVersions,
				ProtoV6ProviderFactories: e.ephemeralFactories(),
				Steps: []tfresource.TestStep{{
					Config:      ephemeralKeyConfig(e, name, ""),
					PlanOnly:    true,
					ExpectError: errorPattern("Invalid Org API Key Name"),
				}},
			})
			if n := e.emu.RequestCount(emulator.EndpointMint); n != 0 {
				t.Fatalf("an invalid name reached the mint endpoint %d times", n)
			}
		})
	}
}

// A mint answer lost during the apply's Open still hands the consumers a working key, and the key
// the lost answer created is revoked by reconciliation, before the replacement is minted.
func TestAccOrgAPIKeyEphemeralResource_lostMintAnswer(t *testing.T) {
	needsFaults(t)
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	name := e.name("ephemeral-lost")
	var before []string
	var delivered emulator.Key

	// Runs between plan and apply, so the fault hits the Open whose key reaches the consumers.
	armFault := planCheck(func(plancheck.CheckPlanRequest) error {
		for _, k := range e.emu.AllKeys() {
			before = append(before, k.ID)
		}
		e.emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502})
		return nil
	})
	orphanRevokedFirst := stateCheck(func(statecheck.CheckStateRequest) error {
		var fresh []emulator.Key
		for _, k := range keysNamed(e, name) {
			if !slices.Contains(before, k.ID) {
				fresh = append(fresh, k)
			}
		}
		if len(fresh) != 2 {
			return fmt.Errorf("want 2 keys minted during apply (the lost answer's and its replacement), got %+v", fresh)
		}
		orphan := fresh[0]
		if orphan.ID == delivered.ID {
			orphan = fresh[1]
		}
		if orphan.ID == delivered.ID || orphan.RevokedAt == nil || orphan.LastUsedAt != nil {
			return fmt.Errorf("the lost answer's key must be revoked and never used, apart from the delivered key %s: %+v", delivered.ID, fresh)
		}
		var orphanRevoked, deliveredMinted int
		for _, ev := range e.emu.Events() {
			switch {
			case ev.Type == "revoke" && ev.ID == orphan.ID:
				orphanRevoked = ev.Seq
			case ev.Type == "mint" && ev.ID == delivered.ID:
				deliveredMinted = ev.Seq
			}
		}
		if orphanRevoked == 0 || orphanRevoked > deliveredMinted {
			return fmt.Errorf("orphan %s was not revoked before key %s was minted: %+v", orphan.ID, delivered.ID, e.emu.Events())
		}
		return nil
	})

	tfresource.Test(t, tfresource.TestCase{
		TerraformVersionChecks:   ephemeralVersions,
		ProtoV6ProviderFactories: e.ephemeralFactories(),
		CheckDestroy: func(*terraform.State) error {
			if live := mintedKeys(e.emu); len(live) != 0 {
				return fmt.Errorf("live keys after destroy: %+v", live)
			}
			return nil
		},
		Steps: []tfresource.TestStep{{
			Config: ephemeralKeyConfig(e, name, ""),
			ConfigPlanChecks: tfresource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{armFault},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				expectEchoedKey(e, name, false, &delivered),
				orphanRevokedFirst,
				stateCheck(func(statecheck.CheckStateRequest) error { return expectAllNamed(e, name, 3, false) }),
				statecheck.CompareValuePairs(consumerAddr, tfjsonpath.New("keys").AtSliceIndex(0).AtMapKey("id"),
					echoAddr, tfjsonpath.New("data").AtMapKey("id"), compare.ValuesSame()),
				stateHasNoPlaintext(e),
			},
		}},
	})
}

// rpcProvider drives the provider through the plugin protocol, for what the Terraform CLI cannot
// be made to do on cue: closing a key that was revoked meanwhile, or closing on a failing service.
type rpcProvider struct {
	t   *testing.T
	srv tfprotov6.ProviderServer
}

func newRPCProvider(t *testing.T, e *testEnv) *rpcProvider {
	t.Helper()
	// No retries: a fault injected on revoke must reach Close as it is.
	env := map[string]string{envEndpoint: e.endpoint, envAdminToken: e.token, envMaxRetries: "0"}
	srv, err := providerserver.NewProtocol6WithError(e.provider(env))()
	if err != nil {
		t.Fatal(err)
	}
	p := &rpcProvider{t: t, srv: srv}
	schema, err := srv.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ, ok := schema.Provider.ValueType().(tftypes.Object)
	if !ok {
		t.Fatalf("the provider's configuration is a %T, want an object", schema.Provider.ValueType())
	}
	cfg := p.value(typ, nil)
	resp, err := srv.ConfigureProvider(context.Background(), &tfprotov6.ConfigureProviderRequest{TerraformVersion: "1.11.4", Config: cfg})
	p.check("ConfigureProvider", resp, err)
	return p
}

// value encodes an object whose attributes are all null except those in set.
func (p *rpcProvider) value(typ tftypes.Object, set map[string]tftypes.Value) *tfprotov6.DynamicValue {
	p.t.Helper()
	vals := map[string]tftypes.Value{}
	for k, at := range typ.AttributeTypes {
		vals[k] = tftypes.NewValue(at, nil)
		if v, ok := set[k]; ok {
			vals[k] = v
		}
	}
	dv, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, vals))
	if err != nil {
		p.t.Fatal(err)
	}
	return &dv
}

func (p *rpcProvider) check(rpc string, resp any, err error) {
	p.t.Helper()
	if err != nil {
		p.t.Fatalf("%s: %v", rpc, err)
	}
	var diags []*tfprotov6.Diagnostic
	switch r := resp.(type) {
	case *tfprotov6.ConfigureProviderResponse:
		diags = r.Diagnostics
	case *tfprotov6.OpenEphemeralResourceResponse:
		diags = r.Diagnostics
	}
	for _, d := range diags {
		p.t.Fatalf("%s: %s: %s", rpc, d.Summary, d.Detail)
	}
}

// open opens an ephemeral key and returns the private data Terraform would hand to Close.
func (p *rpcProvider) open(name string) []byte {
	p.t.Helper()
	return p.openWith(map[string]string{"name": name})
}

// openWith opens the ephemeral key with the given string attributes set.
func (p *rpcProvider) openWith(attrs map[string]string) []byte {
	p.t.Helper()
	schema, err := p.srv.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		p.t.Fatal(err)
	}
	typ, ok := schema.EphemeralResourceSchemas["molecule_org_api_key"].ValueType().(tftypes.Object)
	if !ok {
		p.t.Fatal("the ephemeral resource's configuration is not an object")
	}
	set := map[string]tftypes.Value{}
	for k, v := range attrs {
		set[k] = tftypes.NewValue(tftypes.String, v)
	}
	cfg := p.value(typ, set)
	resp, err := p.srv.OpenEphemeralResource(context.Background(), &tfprotov6.OpenEphemeralResourceRequest{TypeName: "molecule_org_api_key", Config: cfg})
	p.check("OpenEphemeralResource", resp, err)
	return resp.Private
}

func (p *rpcProvider) close(ctx context.Context, private []byte) []*tfprotov6.Diagnostic {
	p.t.Helper()
	resp, err := p.srv.CloseEphemeralResource(ctx, &tfprotov6.CloseEphemeralResourceRequest{TypeName: "molecule_org_api_key", Private: private})
	if err != nil {
		p.t.Fatalf("CloseEphemeralResource: %v", err)
	}
	return resp.Diagnostics
}

func onlyKeyNamed(t *testing.T, e *testEnv, name string) emulator.Key {
	t.Helper()
	keys := keysNamed(e, name)
	if len(keys) != 1 {
		t.Fatalf("want one key named %q, got %+v", name, keys)
	}
	return keys[0]
}

func TestOrgAPIKeyEphemeralResource_closeAfterOutOfBandRevoke(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	p := newRPCProvider(t, e)
	private := p.open("closed-twice")
	e.revokeOutOfBand(onlyKeyNamed(t, e, "closed-twice").ID)

	if diags := p.close(context.Background(), private); len(diags) != 0 {
		t.Fatalf("closing an already revoked key: %s: %s", diags[0].Summary, diags[0].Detail)
	}
	if n := e.emu.RequestCount(emulator.EndpointRevoke); n != 1 {
		t.Fatalf("Close sent %d revoke requests, want 1 (answered 404)", n)
	}
}

func TestOrgAPIKeyEphemeralResource_closeAfterCancellation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	p := newRPCProvider(t, e)
	private := p.open("interrupted")

	// Terraform cancels the calls in flight when a run is interrupted.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if diags := p.close(ctx, private); len(diags) != 0 {
		t.Fatalf("close after cancellation: %s: %s", diags[0].Summary, diags[0].Detail)
	}
	if k := onlyKeyNamed(t, e, "interrupted"); k.RevokedAt == nil {
		t.Fatalf("key %s is still live after an interrupted run closed it", k.ID)
	}
}

func TestOrgAPIKeyEphemeralResource_closeFailure(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	p := newRPCProvider(t, e)
	private := p.open("unrevokable")
	k := onlyKeyNamed(t, e, "unrevokable")
	e.emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointRevoke, Status: 503})

	diags := p.close(context.Background(), private)
	if len(diags) != 1 || diags[0].Severity != tfprotov6.DiagnosticSeverityError {
		t.Fatalf("want one error diagnostic, got %+v", diags)
	}
	d := diags[0]
	if d.Summary != "Unable to Revoke Ephemeral Org API Key" {
		t.Fatalf("summary %q", d.Summary)
	}
	for _, want := range []string{k.ID, "503", "may still be live", "Canvas"} {
		if !strings.Contains(d.Detail, want) {
			t.Errorf("detail %q does not mention %q", d.Detail, want)
		}
	}
	if ids := plaintextsIn(e, d.Detail); len(ids) > 0 || strings.Contains(d.Detail, e.token) {
		t.Error("the diagnostic shows a secret")
	}
	if !e.emu.IsLive(k.ID) {
		t.Fatal("the fault did not keep the key live; the test proves nothing")
	}
}

// A revocation answered by a router's bare 404 says nothing about the key: Close reports it, with
// the URL, rather than count the key as revoked.
func TestOrgAPIKeyEphemeralResource_closeForeign404(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	p := newRPCProvider(t, e)
	private := p.open("routed-away")
	k := onlyKeyNamed(t, e, "routed-away")
	e.emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointRevoke, Status: 404, NoBody: true})

	diags := p.close(context.Background(), private)
	if len(diags) != 1 || diags[0].Severity != tfprotov6.DiagnosticSeverityError || diags[0].Summary != "Unable to Revoke Ephemeral Org API Key" {
		t.Fatalf("want the revoke error, got %+v", diags)
	}
	for _, want := range []string{"DELETE " + e.endpoint + "/org/tokens/" + k.ID, "HTTP 404 Not Found (empty body)", "looks wrong", "may still be live"} {
		if !strings.Contains(diags[0].Detail, want) {
			t.Errorf("detail %q does not say %q", diags[0].Detail, want)
		}
	}
	if !e.emu.IsLive(k.ID) {
		t.Fatal("the fault did not keep the key live; the test proves nothing")
	}
}

// The plaintext checks above pass only if they can fail: a document holding a key is caught, by
// the key's value (a deployed key has no pattern to match), wherever it sits in a string.
func TestOrgAPIKeyEphemeralResource_plaintextScan(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	k, plaintext := e.emu.Seed(emulator.SeedKey{Name: "scan"})
	requireOpaque(t, "the seeded plaintext", plaintext)
	for label, doc := range map[string]any{
		"as a value":         map[string]any{"values": map[string]any{"data": map[string]any{"key": plaintext}}},
		"inside a header":    map[string]any{"header": "Authorization: Bearer " + plaintext + "\r\n"},
		"run into its label": map[string]any{"log": "token=" + plaintext + "_suffix"},
	} {
		if err := noPlaintext(e, "state", doc); err == nil || !strings.Contains(err.Error(), k.ID) {
			t.Errorf("a plaintext key %s went unnoticed (%v)", label, err)
		}
	}
	sum := sha256.Sum256([]byte(plaintext))
	if err := noPlaintext(e, "state", map[string]any{"key_sha256": hex.EncodeToString(sum[:]), "id": k.ID, "prefix": k.Prefix}); err != nil {
		t.Fatal(err)
	}
}

// A Close whose record of the opened key is missing or unreadable cannot revoke anything, and
// must say so, with how to find and revoke a key left live, rather than return in silence.
func TestOrgAPIKeyEphemeralResource_closeWithoutRecord(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	p := newRPCProvider(t, e)
	// A key this run opened, whose record is then lost: it must stay live, and be findable.
	p.open("record-lost")
	k := onlyKeyNamed(t, e, "record-lost")
	private := func(record string) []byte {
		b, err := json.Marshal(map[string][]byte{privateKeyOpened: []byte(record)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	expectWarning := func(t *testing.T, warning bool, summary, detail, why string) {
		t.Helper()
		if !warning || summary != "Unable to Identify Ephemeral Org API Key to Revoke" {
			t.Fatalf("want the warning that no key could be identified, got (warning: %t) %q: %s", warning, summary, detail)
		}
		for _, want := range []string{"could not be identified", why, "may still be live", "molecule_org_api_keys data source",
			"terraform query", "molecule_revoke_org_api_keys action", "Canvas"} {
			if !strings.Contains(detail, want) {
				t.Errorf("the warning does not say %q: %s", want, detail)
			}
		}
	}

	const missing, unreadable = "no record of it", "could not be read"
	for _, tc := range []struct {
		name    string
		private []byte
		why     string
	}{
		{"no private data", nil, missing},
		{"no record among the private data", []byte(`{}`), missing},
		{"a record without an id", private(`{"name":"record-lost","revoke_on_close":true}`), unreadable},
		{"a record that is not an object", private(`"opened"`), unreadable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diags := p.close(context.Background(), tc.private)
			if len(diags) != 1 {
				t.Fatalf("want one warning, got %d diagnostics: %+v", len(diags), diags)
			}
			d := diags[0]
			expectWarning(t, d.Severity == tfprotov6.DiagnosticSeverityWarning, d.Summary, d.Detail, tc.why)
		})
	}

	t.Run("called without private data", func(t *testing.T) {
		var resp ephemeral.CloseResponse
		(&orgAPIKeyEphemeralResource{data: e.providerData(nil)}).Close(context.Background(), ephemeral.CloseRequest{}, &resp)
		if len(resp.Diagnostics) != 1 {
			t.Fatalf("want one warning, got %v", resp.Diagnostics)
		}
		d := resp.Diagnostics[0]
		expectWarning(t, d.Severity() == diag.SeverityWarning, d.Summary(), d.Detail(), missing)
	})

	if n := e.emu.RequestCount(emulator.EndpointRevoke); n != 0 {
		t.Fatalf("a Close that knows no key sent %d revoke requests", n)
	}
	if !e.emu.IsLive(k.ID) {
		t.Fatalf("key %s was revoked, though no Close could identify it", k.ID)
	}
}
