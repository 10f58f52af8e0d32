package provider

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator/emulatortest"
)

// Acceptance tests run against a fresh in-process emulator each. They reach a real organization
// only on explicit opt-in: MOLECULE_ACC_REAL=1 together with the dedicated MOLECULE_ACC_ENDPOINT
// and MOLECULE_ACC_TOKEN. The ordinary MOLECULE_* variables of a user's shell are never read by
// the tests, so `make test` cannot touch a real org by accident.
//
// Two more variables describe a self-hosted test deployment such as the Molecule platform server
// that `make testacc-server` starts: MOLECULE_ACC_DIRECT_ENDPOINT reaches the server without the
// proxy that makes each of MOLECULE_ACC_ENDPOINT's requests a new caller (a new client address,
// and on newer builds a new X-Molecule-Org-Id), so the mint quota applies as deployed; MOLECULE_ACC_DATABASE_URL is its Postgres, where revoked keys can be
// seen. The quota test skips, saying so, without MOLECULE_ACC_DIRECT_ENDPOINT; without
// MOLECULE_ACC_DATABASE_URL a destroy is checked by the list and by the key's own secret alone.
const (
	envAccReal           = "MOLECULE_ACC_REAL"
	envAccEndpoint       = "MOLECULE_ACC_ENDPOINT"
	envAccToken          = "MOLECULE_ACC_TOKEN"
	envAccDirectEndpoint = "MOLECULE_ACC_DIRECT_ENDPOINT"
	envAccDatabaseURL    = "MOLECULE_ACC_DATABASE_URL"
	// The Molecule platform server that make testacc-server starts, for the tests of what only a
	// server of one's own allows: its deployment's ADMIN_TOKEN (when MOLECULE_ACC_TOKEN is an org
	// key), its run script and directory (to approve or deny as a person in Canvas would, and to
	// start servers configured otherwise), and its platform workspace (June 2026 builds and newer,
	// which have the approval gate).
	envAccAdminToken          = "MOLECULE_ACC_ADMIN_TOKEN"
	envAccServerRun           = "MOLECULE_ACC_SERVER_RUN"
	envAccServerDir           = "MOLECULE_ACC_SERVER_DIR"
	envAccPlatformWorkspaceID = "MOLECULE_ACC_PLATFORM_WORKSPACE_ID"

	// testKeyPrefix starts the name of every key a test mints, so the sweeper can find leftovers.
	testKeyPrefix = "tf-acc-"
)

func TestMain(m *testing.M) {
	resource.TestMain(m)
}

func realOrg() bool { return os.Getenv(envAccReal) == "1" }

// testEnv is one test's view of the organization it runs against.
type testEnv struct {
	t        *testing.T
	emu      *emulator.Server // nil against a real organization
	endpoint string
	token    string
	api      *client.Client
	// clock is the clock of the provider under test: the emulator's too, when the test moves it.
	clock client.Clock
	// dialect is the emulator's dialect, "" against a real organization.
	dialect emulator.Dialect
	// orgID is the organization's UUID that endpoint requires in X-Molecule-Org-Id, when it
	// routes like a hosted organization (hostedOrg); "" otherwise.
	orgID string
	// adminToken is the deployment's ADMIN_TOKEN, whose mints wait for a person's approval on
	// June 2026 builds; "" against a real organization that did not give it.
	adminToken string
	// databaseURL is a self-hosted server's Postgres, where revoked keys and approvals can be
	// seen; "" when the test cannot reach it.
	databaseURL string
}

// envSettings is what newTestEnv's options choose.
type envSettings struct {
	// local runs the test against an emulator even when a real organization is configured: for
	// tests that rely on what only the emulator can do (seeded keys, faults, a moved clock, an
	// older build or the guide's shape) or that never need a real organization.
	local bool
	opts  emulator.Options
	clock client.Clock
	// tenant routes requests like a hosted organization of this build; "" for a self-hosted one.
	tenant emulator.Build
}

type envOption func(*envSettings)

// emulatorOnly runs the test against the default emulator (the newest build, in the deployed
// service's shape) even when a real organization is configured.
func emulatorOnly(s *envSettings) { s.local = true }

// onEmulator runs the test against an emulator with opts, even when a real organization is
// configured.
func onEmulator(opts emulator.Options) envOption {
	return func(s *envSettings) { s.local, s.opts = true, opts }
}

// withClock gives the emulator and the provider clock as their clock, so that a test moves time
// instead of waiting for it. Only an emulator's clock can be moved.
func withClock(clock client.Clock) envOption {
	return func(s *envSettings) { s.local, s.clock = true, clock }
}

// nowClock is a clock whose time a test sets; its waits take real time.
type nowClock func() time.Time

func (c nowClock) Now() time.Time                       { return c() }
func (nowClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// inGuideShape runs the test against an emulator that answers in the published guide's shape
// (tok_… ids, mola_… keys, lists without prefixes, 201 to a mint, 204 to a revocation): for the
// few tests of what the provider does differently there.
func inGuideShape(s *envSettings) { s.local, s.opts.Dialect = true, emulator.DialectGuide }

// hostedOrg routes requests like a hosted organization of build with a new random UUID (the
// server's TenantGuard): an emulator with its own guard or, against a real server, the same
// guard (emulator.TenantGuard) in front of a reverse proxy to it. The environment the provider
// sees sends the UUID (MOLECULE_ORG_ID).
func hostedOrg(build emulator.Build) envOption {
	return func(s *envSettings) { s.tenant = build }
}

// newTestEnv is the organization a test runs against: the real one when opted in (realOrg),
// else a fresh emulator of the newest server in the deployed service's shape; options choose
// otherwise.
func newTestEnv(t *testing.T, options ...envOption) *testEnv {
	t.Helper()
	var s envSettings
	for _, o := range options {
		o(&s)
	}
	e := &testEnv{t: t, clock: client.SystemClock{}}
	if realOrg() && !s.local {
		e.endpoint, e.token = os.Getenv(envAccEndpoint), os.Getenv(envAccToken)
		if e.endpoint == "" || e.token == "" {
			t.Fatalf("%s=1 needs %s and %s", envAccReal, envAccEndpoint, envAccToken)
		}
		e.adminToken, e.databaseURL = os.Getenv(envAccAdminToken), os.Getenv(envAccDatabaseURL)
		if s.tenant != "" {
			e.routeThroughGuard(s.tenant)
		}
	} else {
		if s.clock != nil {
			s.opts.Now, e.clock = s.clock.Now, s.clock
		}
		if s.tenant != "" {
			s.opts.Build, s.opts.TenantOrgID = s.tenant, newUUID()
		}
		e.emu = emulatortest.New(t, s.opts)
		// The credential that mints without approval on the June 2026 build the emulator follows,
		// as on the real June server (MOLECULE_SERVER_ORG_KEY): an org key anchored to the
		// organization; its ADMIN_TOKEN mints wait for a person. The guide's shape knows no
		// approvals: there the ADMIN_TOKEN mints, as the guide shows.
		e.endpoint, e.token, e.adminToken = e.emu.URL(), e.emu.AdminToken(), e.emu.AdminToken()
		if e.emu.Dialect() == emulator.DialectDeployed {
			e.token = e.emu.OrgKey()
		}
		e.dialect = e.emu.Dialect()
		e.orgID = s.opts.TenantOrgID
	}
	// Terraform changes the keys behind this client's back: every read lists anew.
	api, err := client.New(client.Config{Endpoint: e.endpoint, OrgID: e.orgID, Token: e.token, UserAgent: "molecule-acc-test", MaxRetries: 2,
		SnapshotMaxAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	e.api = api
	return e
}

// routeThroughGuard puts a hosted organization's routing guard of build, with a new UUID, in
// front of the real server.
func (e *testEnv) routeThroughGuard(build emulator.Build) {
	upstream, err := url.Parse(e.endpoint)
	if err != nil {
		e.t.Fatal(err)
	}
	e.orgID = newUUID()
	guard := httptest.NewServer(emulator.TenantGuard(e.orgID, build, httputil.NewSingleHostReverseProxy(upstream)))
	e.t.Cleanup(guard.Close)
	e.endpoint = guard.URL
}

// needsFaults skips a test in real-organization mode: it injects faults (lost answers, 5xx,
// rate limits), which only the emulator can do. make test runs it against the emulator.
func needsFaults(t *testing.T) {
	t.Helper()
	if realOrg() {
		t.Skip("injects faults, which only the emulator can do; make test runs it against the emulator")
	}
}

// withCredential appends to ids the id of the provider's credential when it is a key the
// emulator lists (its org key), for checks of every listed key.
func (e *testEnv) withCredential(ids ...string) []string {
	if id := e.emu.OrgKeyID(); id != "" {
		return append(ids, id)
	}
	return ids
}

// mintedKeys returns the emulator's live keys but the provider's own credential, its org key
// (which a real organization lists too): the keys that tests and the provider made.
func mintedKeys(emu *emulator.Server) []emulator.Key {
	own := emu.OrgKeyID()
	return slices.DeleteFunc(emu.LiveKeys(), func(k emulator.Key) bool { return k.ID == own })
}

// createdBy is the attribution of keys the provider mints with this environment's credential:
// an org key's prefix when the credential is a live org key, else the ADMIN_TOKEN's.
func (e *testEnv) createdBy() string {
	e.t.Helper()
	if len(e.token) >= client.PrefixLength {
		for _, k := range e.liveKeys() {
			if k.Prefix == e.token[:client.PrefixLength] {
				return "org-token:" + k.Prefix
			}
		}
		if strings.HasPrefix(e.token, "mola_") {
			return "org-token:" + e.token[:client.PrefixLength]
		}
	}
	return "admin-token"
}

// guide reports whether the service answers in the published guide's shape.
func (e *testEnv) guide() bool { return e.dialect == emulator.DialectGuide }

// env is the environment the provider under test sees.
func (e *testEnv) env() map[string]string {
	env := map[string]string{envEndpoint: e.endpoint, envAdminToken: e.token}
	if e.orgID != "" {
		env[envOrgID] = e.orgID
	}
	if e.emu != nil {
		// Retries against the emulator need not wait for real.
		env[envMaxRetryWait] = "100ms"
		// After a lost mint answer the keys are listed again for as long as the request timeout
		// (at least 2s): a short one keeps those tests quick, and a loopback answer is never slower.
		env[envRequestTimeout] = "3s"
	}
	return env
}

func (e *testEnv) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return e.factoriesWithEnv(e.env())
}

func (e *testEnv) factoriesWithEnv(env map[string]string) map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		"molecule": ProtocolServer(e.provider(env)),
	}
}

// provider is the provider under test, on this environment's clock, seeing env as its
// environment.
func (e *testEnv) provider(env map[string]string) provider.Provider {
	return newTestProvider(e.clock, env)
}

// newTestProvider is the provider on clock, seeing env as its environment.
func newTestProvider(clock client.Clock, env map[string]string) provider.Provider {
	return newProvider("test", clock, func(k string) string { return env[k] })()
}

// providerData is what the provider's Configure hands every resource, data source and action
// (see configured): for tests that call their methods directly.
func (e *testEnv) providerData(env map[string]string) *providerData {
	e.t.Helper()
	data, ok := e.configured(env).ResourceData.(*providerData)
	if !ok {
		e.t.Fatal("the provider handed resources no *providerData")
	}
	return data
}

// configured is the provider under test configured as Terraform configures it, with an empty
// configuration and env as its environment (e.env() when nil).
func (e *testEnv) configured(env map[string]string) provider.ConfigureResponse {
	e.t.Helper()
	if env == nil {
		env = e.env()
	}
	resp := configure(e.t, e.provider(env), nil)
	if resp.Diagnostics.HasError() {
		e.t.Fatalf("configuring the provider: %v", resp.Diagnostics)
	}
	return resp
}

// configure runs p's Configure as Terraform does, after its Schema, with attrs as its
// configuration (see objectValue).
func configure(t *testing.T, p provider.Provider, attrs map[string]any) provider.ConfigureResponse {
	t.Helper()
	ctx := context.Background()
	var sch provider.SchemaResponse
	p.Schema(ctx, provider.SchemaRequest{}, &sch)
	var resp provider.ConfigureResponse
	p.Configure(ctx, provider.ConfigureRequest{
		TerraformVersion: "1.15.9",
		Config:           tfsdk.Config{Schema: sch.Schema, Raw: objectValue(t, sch.Schema.Type().TerraformType(ctx), attrs)},
	}, &resp)
	return resp
}

// name returns a unique key name for this test.
func (e *testEnv) name(label string) string {
	return fmt.Sprintf("%s%s-%s", testKeyPrefix, label, acctest.RandString(8))
}

func (e *testEnv) liveKeys() []client.Token {
	e.t.Helper()
	snap, err := e.api.Snapshot(context.Background())
	if err != nil {
		e.t.Fatalf("listing keys: %v", err)
	}
	return snap.Tokens
}

// isLive reports whether a key is live. Against a real deployment whose database the test can
// read, that is asked of the database: the list shows only the newest 500 keys.
func (e *testEnv) isLive(id string) bool {
	e.t.Helper()
	if e.emu != nil {
		for _, k := range e.emu.LiveKeys() {
			if k.ID == id {
				return true
			}
		}
		return false
	}
	if db := e.databaseURL; db != "" {
		revoked, found := dbRevoked(e.t, db, id)
		return found && !revoked
	}
	for _, k := range e.liveKeys() {
		if k.ID == id {
			return true
		}
	}
	return false
}

func (e *testEnv) liveWithName(name string) []client.Token {
	var out []client.Token
	for _, k := range e.liveKeys() {
		if k.Name == name {
			out = append(out, k)
		}
	}
	return out
}

// seed mints a key outside Terraform, as someone in Canvas or a script would.
func (e *testEnv) seed(name string) client.Token {
	e.t.Helper()
	k, _ := e.seedWithSecret(name)
	return k
}

// seedWithSecret is seed that also returns the key's plaintext, for tests of what happens when
// it is pasted where it does not belong.
func (e *testEnv) seedWithSecret(name string) (client.Token, string) {
	e.t.Helper()
	if e.emu != nil {
		// Made by the credential and anchored to the organization, as on a real server.
		k, plaintext := e.emu.Seed(emulator.SeedKey{Name: name, CreatedBy: e.createdBy(), OrgID: e.emu.OrganizationID()})
		return client.Token{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedBy: k.CreatedBy, OrgID: k.OrgID, CreatedAt: k.CreatedAt}, plaintext
	}
	m, _, err := e.api.MintReconciled(context.Background(), name, client.MintOptions{})
	if err != nil {
		e.t.Fatalf("seeding key %q: %v", name, err)
	}
	e.t.Cleanup(func() { _ = e.api.Revoke(context.Background(), m.ID) })
	return m.Token, m.Key
}

// revokeOutOfBand revokes a key the way someone in Canvas would, behind Terraform's back.
func (e *testEnv) revokeOutOfBand(id string) {
	e.t.Helper()
	if e.emu != nil {
		if !e.emu.Revoke(id) {
			e.t.Fatalf("key %s was not live", id)
		}
		return
	}
	if err := e.api.Revoke(context.Background(), id); err != nil {
		e.t.Fatalf("revoking %s: %v", id, err)
	}
}

// checkDestroy asserts that every org API key left in the final state is revoked on the service.
func (e *testEnv) checkDestroy(s *terraform.State) error {
	for addr, rs := range s.RootModule().Resources {
		if rs.Type != "molecule_org_api_key" {
			continue
		}
		if err := e.revoked(rs.Primary.ID, rs.Primary.Attributes["key"]); err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
	}
	return nil
}

// revoked asserts that key id is revoked on the service and that its secret, when known, no
// longer authenticates.
func (e *testEnv) revoked(id, key string) error {
	if e.isLive(id) {
		return fmt.Errorf("key %s is still live after destroy", id)
	}
	if key == "" {
		return nil
	}
	// Revocation is immediate on the service: the key's own secret no longer authenticates.
	c, err := client.New(client.Config{Endpoint: e.endpoint, OrgID: e.orgID, Token: key, UserAgent: "molecule-acc-test"})
	if err != nil {
		return err
	}
	switch _, err := c.Snapshot(context.Background()); {
	case err == nil:
		return fmt.Errorf("key %s: after destroy its secret still authenticates", id)
	case !client.IsUnauthorized(err):
		return fmt.Errorf("key %s: after destroy its secret gets %w, want 401", id, err)
	}
	return nil
}

// captureAttr records a state attribute so later steps can compare against it.
func captureAttr(addr, attr string, dst *string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[addr]
		if !ok {
			return fmt.Errorf("%s not in state", addr)
		}
		*dst = rs.Primary.Attributes[attr]
		if *dst == "" {
			return fmt.Errorf("%s.%s is empty", addr, attr)
		}
		return nil
	}
}

// keyConfig is a configuration with one molecule_org_api_key named name.
func keyConfig(name string) string {
	return fmt.Sprintf(`
resource "molecule_org_api_key" "test" {
  name = %q
}
`, name)
}

func timeAgo(d time.Duration) time.Time { return time.Now().UTC().Add(-d).Truncate(time.Second) }

// errorPattern matches text that Terraform may have wrapped across lines.
func errorPattern(parts ...string) *regexp.Regexp {
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = strings.Join(strings.Fields(regexp.QuoteMeta(p)), `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(quoted, `.*`))
}

// expectError runs config in a one-step test case that must fail with pattern.
func (e *testEnv) expectError(t *testing.T, config string, pattern *regexp.Regexp) {
	t.Helper()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps:                    []resource.TestStep{{Config: config, ExpectError: pattern}},
	})
}

// dbRevoked asks a self-hosted deployment's database whether key id is revoked, and whether it
// exists at all. The API never shows revoked keys, so this is the only way to see one.
func dbRevoked(t *testing.T, databaseURL, id string) (revoked, found bool) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "psql", databaseURL, "-XAtc",
		"SELECT revoked_at IS NOT NULL FROM org_api_tokens WHERE id::text = '"+strings.ReplaceAll(id, "'", "''")+"'").CombinedOutput()
	if err != nil {
		t.Fatalf("asking the database about key %s: %v: %s", id, err, out)
	}
	switch strings.TrimSpace(string(out)) {
	case "t":
		return true, true
	case "f":
		return false, true
	}
	return false, false
}

// The shapes each dialect gives ids and plaintexts. The provider treats both as opaque; the tests
// check them to prove that what reaches state is what the service sent, untouched.
var (
	deployedIDRegexp  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	deployedKeyRegexp = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	guideIDRegexp     = regexp.MustCompile(`^tok_[0-9A-HJKMNP-TV-Z]{20}$`)
	guideKeyRegexp    = regexp.MustCompile(`^mola_[a-z0-9]{26}$`)
	timestampRegexp   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

// idRegexpFor is the shape of a key id in dialect d; a real organization is the deployed service.
func idRegexpFor(d emulator.Dialect) *regexp.Regexp {
	if d == emulator.DialectGuide {
		return guideIDRegexp
	}
	return deployedIDRegexp
}

// keyRegexpFor is the shape of a plaintext key in dialect d.
func keyRegexpFor(d emulator.Dialect) *regexp.Regexp {
	if d == emulator.DialectGuide {
		return guideKeyRegexp
	}
	return deployedKeyRegexp
}

func (e *testEnv) idRegexp() *regexp.Regexp  { return idRegexpFor(e.dialect) }
func (e *testEnv) keyRegexp() *regexp.Regexp { return keyRegexpFor(e.dialect) }

// unknownID is an id in this service's format that no key has.
func (e *testEnv) unknownID() string {
	if e.guide() {
		return "tok_00000000000000000000"
	}
	return "00000000-0000-4000-8000-000000000000"
}

// listedPrefix is what a data source reports as k's prefix: the guide's list has none.
func (e *testEnv) listedPrefix(k client.Token) knownvalue.Check {
	if e.guide() {
		return knownvalue.Null()
	}
	return knownvalue.StringExact(k.Prefix)
}

// newOpaqueSecret returns a value shaped like a deployed key: 43 characters of base64url without
// a fixed prefix. Only redaction by value can hide it, as the guide's mola_ pattern never matches.
func newOpaqueSecret() string {
	for {
		var b [32]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it aborts the program instead
		if s := base64.RawURLEncoding.EncodeToString(b[:]); !plaintextKeyPattern.MatchString(s) {
			return s
		}
	}
}

// newGuideSecret returns a value shaped like a guide-style key, which the mola_ pattern catches too.
func newGuideSecret() string {
	return "mola_" + acctest.RandStringFromCharSet(26, "abcdefghijklmnopqrstuvwxyz0123456789")
}

// requireOpaque fails the test when v would be masked by the guide's pattern anyway, which would
// let a leak check pass without redaction by value.
func requireOpaque(t *testing.T, label, v string) {
	t.Helper()
	if plaintextKeyPattern.MatchString(v) || !deployedKeyRegexp.MatchString(v) {
		t.Fatalf("%s is not an opaque deployed-shape value, so this test would not prove redaction by value", label)
	}
}

// stateValues returns the attribute values of the resource at addr in a checked state.
func stateValues(req statecheck.CheckStateRequest, addr string) (map[string]any, error) {
	if req.State == nil || req.State.Values == nil || req.State.Values.RootModule == nil {
		return nil, fmt.Errorf("no state to check %s against", addr)
	}
	for _, r := range req.State.Values.RootModule.Resources {
		if r.Address == addr {
			return r.AttributeValues, nil
		}
	}
	return nil, fmt.Errorf("%s not in state", addr)
}

// expectKeyPrefix checks that the prefix in state is the first 8 characters of the key in state,
// is the prefix the service keeps for the key, and is what its list reports (nothing, in the
// guide's shape). Failures never show the key.
func (e *testEnv) expectKeyPrefix(addr string) statecheck.StateCheck {
	return stateCheck(func(req statecheck.CheckStateRequest) error {
		v, err := stateValues(req, addr)
		if err != nil {
			return err
		}
		id, _ := v["id"].(string)
		key, _ := v["key"].(string)
		prefix, _ := v["prefix"].(string)
		return e.keyPrefixHolds(addr, id, key, prefix)
	})
}

// keyPrefixHolds is expectKeyPrefix's check of the key id, with key and prefix, that addr holds.
func (e *testEnv) keyPrefixHolds(addr, id, key, prefix string) error {
	if len(key) <= client.PrefixLength || prefix != key[:client.PrefixLength] {
		return fmt.Errorf("%s.prefix %q is not the first %d characters of its key", addr, prefix, client.PrefixLength)
	}
	if e.emu != nil {
		if k, ok := e.emu.Key(id); !ok || k.Prefix != prefix {
			return fmt.Errorf("%s.prefix %q differs from the service's record of key %s: %+v", addr, prefix, id, k)
		}
	}
	want := prefix
	if e.guide() {
		want = ""
	}
	for _, k := range e.liveKeys() {
		if k.ID == id {
			if k.Prefix != want {
				return fmt.Errorf("the list reports prefix %q for key %s, want %q", k.Prefix, id, want)
			}
			return nil
		}
	}
	return fmt.Errorf("%s (%s) is not in the list of live keys", addr, id)
}
