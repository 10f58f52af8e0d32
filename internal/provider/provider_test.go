package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// Acceptance tests run against a fresh in-process emulator each. They reach a real organization
// only on explicit opt-in: MOLECULE_ACC_REAL=1 together with the dedicated MOLECULE_ACC_ENDPOINT
// and MOLECULE_ACC_TOKEN. The ordinary MOLECULE_* variables of a user's shell are never read by
// the tests, so `make test` cannot touch a real org by accident.
const (
	envAccReal     = "MOLECULE_ACC_REAL"
	envAccEndpoint = "MOLECULE_ACC_ENDPOINT"
	envAccToken    = "MOLECULE_ACC_TOKEN"

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
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newEnv(t, realOrg(), emulator.Options{})
}

// newLocalEnv always runs against an in-process emulator: for tests that never need a real
// organization (configuration errors) or that rely on emulator-only controls.
func newLocalEnv(t *testing.T) *testEnv {
	t.Helper()
	return newEnv(t, false, emulator.Options{})
}

// newLocalEnvWithOptions is newLocalEnv with a configured emulator, such as one whose clock
// runs in the past so that keys are minted old.
func newLocalEnvWithOptions(t *testing.T, opts emulator.Options) *testEnv {
	t.Helper()
	return newEnv(t, false, opts)
}

func newEnv(t *testing.T, useRealOrg bool, opts emulator.Options) *testEnv {
	t.Helper()
	e := &testEnv{t: t}
	if useRealOrg {
		e.endpoint, e.token = os.Getenv(envAccEndpoint), os.Getenv(envAccToken)
		if e.endpoint == "" || e.token == "" {
			t.Fatalf("%s=1 needs %s and %s", envAccReal, envAccEndpoint, envAccToken)
		}
	} else {
		e.emu = emulator.NewTestServer(t, opts)
		e.endpoint, e.token = e.emu.URL(), e.emu.AdminToken()
	}
	api, err := client.New(client.Config{Endpoint: e.endpoint, Token: e.token, UserAgent: "molecule-acc-test", MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	e.api = api
	return e
}

// createdBy is the attribution of keys the provider mints with this environment's credential.
func (e *testEnv) createdBy() string {
	if strings.HasPrefix(e.token, "mola_") {
		return "org-token:" + e.token[:8]
	}
	return "admin-token"
}

// env is the environment the provider under test sees.
func (e *testEnv) env() map[string]string {
	env := map[string]string{envEndpoint: e.endpoint, envAdminToken: e.token}
	if e.emu != nil {
		// Retries against the emulator need not wait for real.
		env[envMaxRetryWait] = "100ms"
	}
	return env
}

func (e *testEnv) factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return e.factoriesWithEnv(e.env())
}

func (e *testEnv) factoriesWithEnv(env map[string]string) map[string]func() (tfprotov6.ProviderServer, error) {
	getenv := func(k string) string { return env[k] }
	return map[string]func() (tfprotov6.ProviderServer, error){
		"molecule": providerserver.NewProtocol6WithError(newWithEnv("test", getenv)()),
	}
}

// name returns a unique key name for this test.
func (e *testEnv) name(label string) string {
	return fmt.Sprintf("%s%s-%s", testKeyPrefix, label, acctest.RandString(8))
}

func (e *testEnv) liveKeys() []client.Token {
	e.t.Helper()
	keys, err := e.api.List(context.Background())
	if err != nil {
		e.t.Fatalf("listing keys: %v", err)
	}
	return keys
}

func (e *testEnv) isLive(id string) bool {
	e.t.Helper()
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
	if e.emu != nil {
		k, _ := e.emu.Seed(emulator.SeedKey{Name: name})
		return client.Token{ID: k.ID, Name: k.Name, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt}
	}
	m, err := e.api.Mint(context.Background(), name)
	if err != nil {
		e.t.Fatalf("seeding key %q: %v", name, err)
	}
	e.t.Cleanup(func() { _ = e.api.Revoke(context.Background(), m.ID) })
	return m.Token
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
		if e.isLive(rs.Primary.ID) {
			return fmt.Errorf("%s (%s) is still live after destroy", addr, rs.Primary.ID)
		}
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

func mustContainNone(t *testing.T, haystack string, needles ...string) {
	t.Helper()
	for _, n := range needles {
		if n != "" && strings.Contains(haystack, n) {
			t.Fatalf("output contains a secret it must never show")
		}
	}
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
