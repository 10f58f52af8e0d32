package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator/emulatortest"
)

// A data source read forces the provider to configure and call the API during plan.
const listAllConfig = "data \"molecule_org_api_keys\" \"test\" {}\n"

// Misconfigurations fail before any request. The cases go through the provider's protocol
// server, validation then Configure, as Terraform calls them; two go through Terraform itself:
// a missing credential, and an endpoint that is unknown until apply, which only Terraform's
// planning produces.
func TestAccProviderConfig_errors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)

	// The group returns only when its parallel cases are done, so the count below sees them all.
	t.Run("cases", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			env   map[string]string
			attrs map[string]any
			want  string
		}{
			{"missing endpoint", map[string]string{envAdminToken: e.token}, nil, `(?s)Missing Molecule Endpoint.*MOLECULE_ORG.*MOLECULE_ENDPOINT`},
			{"both in configuration", map[string]string{envAdminToken: e.token},
				map[string]any{"endpoint": "https://acme.moleculesai.app", "org": "acme"}, `(?s)Conflicting Molecule Endpoint.*exactly one`},
			{"both in environment", map[string]string{envAdminToken: e.token, envEndpoint: e.endpoint, envOrg: "acme"}, nil,
				`(?s)Conflicting Molecule Endpoint.*environment`},
			{"plain http to a remote host", map[string]string{envAdminToken: e.token},
				map[string]any{"endpoint": "http://acme.example.invalid"}, `(?s)Invalid Molecule Endpoint.*https`},
			{"malformed endpoint", map[string]string{envAdminToken: e.token}, map[string]any{"endpoint": "acme.moleculesai.app"}, `Invalid Molecule Endpoint`},
			{"endpoint with query", map[string]string{envAdminToken: e.token}, map[string]any{"endpoint": "https://acme.moleculesai.app/?x=1"}, `Invalid Molecule Endpoint`},
			{"endpoint with fragment", map[string]string{envAdminToken: e.token}, map[string]any{"endpoint": "https://acme.moleculesai.app/#top"}, `Invalid Molecule Endpoint`},
			{"org is not a DNS label", map[string]string{envAdminToken: e.token}, map[string]any{"org": "Acme Corp"}, `Invalid Molecule Organization`},
			{"max_retries out of range", e.env(), map[string]any{"max_retries": 50}, `(?s)max_retries.*between 0 and 20`},
			{"request_timeout not a duration", e.env(), map[string]any{"request_timeout": "soon"}, `(?s)Invalid Duration.*not a duration`},
			{"max_retry_wait out of range", e.env(), map[string]any{"max_retry_wait": "2h"}, `(?s)Invalid Duration.*out of range`},
			{"MOLECULE_MAX_RETRY_WAIT garbage", map[string]string{envEndpoint: e.endpoint, envAdminToken: e.token, envMaxRetryWait: "-1s"}, nil,
				`MOLECULE_MAX_RETRY_WAIT`},
			{"MOLECULE_MAX_RETRIES garbage", map[string]string{envEndpoint: e.endpoint, envAdminToken: e.token, envMaxRetries: "lots"}, nil,
				`MOLECULE_MAX_RETRIES must be a whole number`},
			{"MOLECULE_REQUEST_TIMEOUT garbage", map[string]string{envEndpoint: e.endpoint, envAdminToken: e.token, envRequestTimeout: "1 hour"}, nil,
				`MOLECULE_REQUEST_TIMEOUT`},
			{"org_id is a slug", e.env(), map[string]any{"org_id": "acme"}, `(?s)Invalid Molecule Organization ID.*not a UUID`},
			{"org_id in upper case", e.env(), map[string]any{"org_id": "EA3CFCF1-CB9C-53B4-90FD-C53123569C4A"}, `(?s)Invalid Molecule Organization ID.*lower case`},
			{"MOLECULE_ORG_ID garbage", map[string]string{envEndpoint: e.endpoint, envAdminToken: e.token, envOrgID: "acme"}, nil,
				`(?s)Invalid Molecule Organization ID.*MOLECULE_ORG_ID: the organization id is not a UUID`},
			{"unknown org_id", e.env(), map[string]any{"org_id": tftypes.UnknownValue}, `(?s)Unknown Molecule Provider Configuration.*"org_id"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				diags := configureThroughProtocol(t, e.provider(tc.env), tc.attrs)
				if text := protocolErrorText(diags); !regexp.MustCompile(tc.want).MatchString(text) {
					t.Fatalf("want an error matching %s, got:\n%s", tc.want, text)
				}
			})
		}
		for _, tc := range []struct {
			name   string
			env    map[string]string
			config string
			want   string
		}{
			{"missing token", map[string]string{envEndpoint: e.endpoint}, "", `(?s)Missing Molecule Credential.*MOLECULE_ORG_TOKEN.*MOLECULE_ADMIN_TOKEN`},
			{"unknown endpoint", e.env(), "  endpoint = terraform_data.later.output\n", `Unknown Molecule Provider Configuration`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				config := "provider \"molecule\" {\n" + tc.config + "}\n" + listAllConfig
				if strings.Contains(tc.config, "terraform_data") {
					config += "resource \"terraform_data\" \"later\" {\n  input = \"x\"\n}\n"
				}
				tfresource.Test(t, tfresource.TestCase{
					ProtoV6ProviderFactories: e.factoriesWithEnv(tc.env),
					Steps:                    []tfresource.TestStep{{Config: config, ExpectError: regexp.MustCompile(tc.want)}},
				})
			})
		}
	})
	if n := e.emu.RequestCount(emulator.EndpointList); n != 0 {
		t.Fatalf("a misconfigured provider must not call the API, got %d list requests", n)
	}
}

// configureThroughProtocol validates p's configuration, attrs (see objectValue), and then
// configures p with it, through p's protocol server as Terraform does; it returns the
// diagnostics of validation when they hold an error, else those of Configure.
func configureThroughProtocol(t *testing.T, p provider.Provider, attrs map[string]any) []*tfprotov6.Diagnostic {
	t.Helper()
	ctx := context.Background()
	server, err := providerserver.NewProtocol6WithError(p)()
	if err != nil {
		t.Fatal(err)
	}
	var sch provider.SchemaResponse
	p.Schema(ctx, provider.SchemaRequest{}, &sch)
	typ := sch.Schema.Type().TerraformType(ctx)
	config, err := tfprotov6.NewDynamicValue(typ, objectValue(t, typ, attrs))
	if err != nil {
		t.Fatal(err)
	}
	validated, err := server.ValidateProviderConfig(ctx, &tfprotov6.ValidateProviderConfigRequest{Config: &config})
	if err != nil {
		t.Fatal(err)
	}
	if protocolErrorText(validated.Diagnostics) != "" {
		return validated.Diagnostics
	}
	configured, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{TerraformVersion: "1.11.4", Config: &config})
	if err != nil {
		t.Fatal(err)
	}
	return configured.Diagnostics
}

// protocolErrorText is the errors among diags, each its summary and detail.
func protocolErrorText(diags []*tfprotov6.Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			fmt.Fprintf(&b, "%s\n%s\n", d.Summary, d.Detail)
		}
	}
	return b.String()
}

func TestAccProviderConfig_envFallbacks(t *testing.T) {
	t.Parallel()
	// The April build, where ADMIN_TOKEN mints at once: this is about which credential is used.
	e := newTestEnv(t, onEmulator(emulator.Options{Build: emulator.BuildApril2026}))
	admin := e.emu.AdminToken()
	orgKey, orgPlain := e.emu.Seed(emulator.SeedKey{Name: "automation"})
	name := e.name("fallback")

	createdByCheck := func(want string) []statecheck.StateCheck {
		return []statecheck.StateCheck{statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("created_by"), knownvalue.StringExact(want))}
	}
	for _, tc := range []struct {
		name      string
		env       map[string]string
		config    string
		createdBy string
	}{
		{"admin token from MOLECULE_ADMIN_TOKEN", map[string]string{envEndpoint: e.endpoint, envAdminToken: admin}, "", "admin-token"},
		// MOLECULE_ORG_TOKEN wins over MOLECULE_ADMIN_TOKEN (here a wrong one, which would fail).
		{"org key from MOLECULE_ORG_TOKEN", map[string]string{envEndpoint: e.endpoint, envOrgToken: orgPlain, envAdminToken: "wrong"}, "",
			"org-token:" + orgPlain[:8]},
		// Configuration wins over the environment, for the endpoint and for the credential.
		{"configuration over environment", map[string]string{envOrg: "unreachable", envAdminToken: "wrong"},
			"  endpoint = \"" + e.endpoint + "\"\n  token = \"" + admin + "\"\n", "admin-token"},
	} {
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: e.factoriesWithEnv(tc.env),
			CheckDestroy:             e.checkDestroy,
			Steps: []tfresource.TestStep{{
				Config:            "provider \"molecule\" {\n" + tc.config + "}\n" + keyConfig(name),
				ConfigStateChecks: createdByCheck(tc.createdBy),
			}},
		})
	}
	if !e.emu.IsLive(orgKey.ID) {
		t.Fatal("the org key used as the credential must stay live")
	}
}

// Each retry setting read from the environment takes effect, and the attribute in configuration
// wins over it: every case fails at its first read of the list, so the emulator's count of list
// requests is that read's attempts exactly. Where the default would have let the read through
// (a 3s answer within 30s; a 5s Retry-After within 60s), the failure proves the setting is used.
// A refused Retry-After is refused before any wait ("not retrying: ..."), so the single request
// and that text show nothing waited it out; no wall-clock bound is needed.
func TestAccProviderConfig_retrySettings(t *testing.T) {
	t.Parallel()
	unavailable := func(n int, retryAfter string) emulator.Fault {
		return emulator.Fault{Endpoint: emulator.EndpointList, Status: http.StatusServiceUnavailable, RetryAfter: retryAfter, Times: n}
	}
	slow := emulator.Fault{Endpoint: emulator.EndpointList, Latency: 3 * time.Second, Times: 10}
	for _, tc := range []struct {
		name     string
		env      map[string]string // besides the endpoint and the credential
		config   string
		fault    emulator.Fault
		want     []string // in the error, in this order
		requests int
	}{
		{"MOLECULE_MAX_RETRIES=0 sends once", map[string]string{envMaxRetries: "0", envMaxRetryWait: "100ms"}, "",
			unavailable(10, ""), []string{"HTTP 503"}, 1},
		{"MOLECULE_MAX_RETRIES=2 sends three times", map[string]string{envMaxRetries: "2", envMaxRetryWait: "100ms"}, "",
			unavailable(10, ""), []string{"HTTP 503", "(after 3 attempts)"}, 3},
		{"max_retries over MOLECULE_MAX_RETRIES", map[string]string{envMaxRetries: "0", envMaxRetryWait: "100ms"}, "  max_retries = 1\n",
			unavailable(10, ""), []string{"HTTP 503", "(after 2 attempts)"}, 2},
		{"MOLECULE_REQUEST_TIMEOUT=1s times out a 3s answer", map[string]string{envRequestTimeout: "1s", envMaxRetries: "0"}, "",
			slow, []string{"Client.Timeout exceeded"}, 1},
		{"request_timeout over MOLECULE_REQUEST_TIMEOUT", map[string]string{envRequestTimeout: "5m", envMaxRetries: "0"}, "  request_timeout = \"1s\"\n",
			slow, []string{"Client.Timeout exceeded"}, 1},
		{"MOLECULE_MAX_RETRY_WAIT=100ms refuses a 5s Retry-After", map[string]string{envMaxRetryWait: "100ms"}, "",
			unavailable(10, "5"), []string{"HTTP 503", "not retrying: the service asked to wait 5s, longer than the longest wait allowed (100ms, max_retry_wait)"}, 1},
		{"max_retry_wait over MOLECULE_MAX_RETRY_WAIT", map[string]string{envMaxRetryWait: "10m"}, "  max_retry_wait = \"100ms\"\n",
			unavailable(10, "5"), []string{"HTTP 503", "not retrying: the service asked to wait 5s, longer than the longest wait allowed (100ms, max_retry_wait)"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, emulatorOnly)
			env := map[string]string{envEndpoint: e.endpoint, envAdminToken: e.token}
			for k, v := range tc.env {
				env[k] = v
			}
			e.emu.AddFault(tc.fault)
			tfresource.Test(t, tfresource.TestCase{
				ProtoV6ProviderFactories: e.factoriesWithEnv(env),
				Steps: []tfresource.TestStep{{
					Config:      "provider \"molecule\" {\n" + tc.config + "}\n" + listAllConfig,
					ExpectError: errorPattern(append([]string{"Unable to List Org API Keys"}, tc.want...)...),
				}},
			})
			if n := e.emu.RequestCount(emulator.EndpointList); n != tc.requests {
				t.Errorf("%d list requests, want %d", n, tc.requests)
			}
		})
	}
}

func TestAccProviderConfig_userAgent(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	emu := e.emu
	var mu sync.Mutex
	var agents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents = append(agents, r.UserAgent())
		mu.Unlock()
		emu.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{envEndpoint: srv.URL, envAdminToken: emu.AdminToken()}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factoriesWithEnv(env),
		Steps:                    []tfresource.TestStep{{Config: listAllConfig}},
	})
	mu.Lock()
	defer mu.Unlock()
	want := regexp.MustCompile(`^terraform-provider-molecule/test Terraform/\d+\.\d+\.\d+`)
	if len(agents) == 0 {
		t.Fatal("no request reached the server")
	}
	for _, a := range agents {
		if !want.MatchString(a) {
			t.Fatalf("User-Agent %q does not match %s", a, want)
		}
	}
}

// Without injection the provider reads the real process environment.
func TestProviderConfig_processEnvironment(t *testing.T) {
	emu := emulatortest.New(t, emulator.Options{})
	t.Setenv(envEndpoint, emu.URL())
	t.Setenv(envOrg, "")
	t.Setenv(envOrgToken, "")
	t.Setenv(envAdminToken, emu.AdminToken())
	for _, k := range []string{envOrgID, envMaxRetries, envRequestTimeout, envMaxRetryWait} {
		t.Setenv(k, "")
	}

	ctx := context.Background()
	resp := configure(t, New("test")(), nil)
	if resp.Diagnostics.HasError() {
		t.Fatalf("configure from the process environment: %v", resp.Diagnostics)
	}
	data, ok := resp.ResourceData.(*providerData)
	if !ok {
		t.Fatalf("ResourceData = %T, want *providerData", resp.ResourceData)
	}
	if resp.DataSourceData != data || resp.EphemeralResourceData != data {
		t.Fatal("resources, data sources and ephemeral resources must share one client")
	}
	if _, err := data.client.Snapshot(ctx); err != nil {
		t.Fatalf("the configured client cannot list: %v", err)
	}
	if n := emu.RequestCount(emulator.EndpointList); n != 1 {
		t.Fatalf("want 1 list request on the emulator from the environment's endpoint, got %d", n)
	}
}

func TestDurationText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{10 * time.Millisecond, "10ms"},
		{500 * time.Millisecond, "500ms"},
		{time.Second, "1s"},
		{30 * time.Second, "30s"},
		{time.Minute, "60s"},
		{1500 * time.Millisecond, "1500ms"},
		{61 * time.Second, "61s"},
		{90 * time.Second, "90s"},
		{2 * time.Minute, "2m"},
		{10 * time.Minute, "10m"},
		{90 * time.Minute, "90m"},
		{time.Hour, "1h"},
		{720 * time.Hour, "720h"},
		{87600 * time.Hour, "87600h"},
		{1500 * time.Microsecond, "1.5ms"},
		{0, "0s"},
	} {
		got := durationText(tc.d)
		if got != tc.want {
			t.Errorf("durationText(%v) = %q, want %q", tc.d, got, tc.want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != tc.d {
			t.Errorf("%q parses back to %v (%v), want %v", got, back, err, tc.d)
		}
	}
}

// Each retry setting's default reads the same in its schema description (and so docs/index.md)
// as in the README's table of provider attributes, and no description spells a duration as
// time.Duration prints it ("1m0s").
func TestProviderSchema_defaultsMatchREADME(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var sr provider.SchemaResponse
	New("test")().Schema(context.Background(), provider.SchemaRequest{}, &sr)
	described := regexp.MustCompile("Defaults to `([^`]+)`")
	goSpelling := regexp.MustCompile(`\d+[hm]0s|\d+h0m`)
	for attr, env := range map[string]string{"max_retries": envMaxRetries, "request_timeout": envRequestTimeout, "max_retry_wait": envMaxRetryWait} {
		desc := sr.Schema.Attributes[attr].GetMarkdownDescription()
		if goSpelling.MatchString(desc) {
			t.Errorf("%s: the description spells a duration the way time.Duration prints it: %s", attr, desc)
		}
		m := described.FindStringSubmatch(desc)
		if m == nil {
			t.Errorf("%s: the description states no default: %s", attr, desc)
			continue
		}
		row := regexp.MustCompile("(?m)^\\| `" + attr + "` \\| `" + env + "` \\| `([^`]+)` \\|").FindSubmatch(readme)
		if row == nil {
			t.Errorf("README.md has no row for %s (%s) in its table of provider attributes", attr, env)
			continue
		}
		if string(row[1]) != m[1] {
			t.Errorf("%s defaults to `%s` in the README and `%s` in the schema (and docs/index.md)", attr, row[1], m[1])
		}
	}
}

// A setting that holds the credential by mistake (pasted into the wrong variable or attribute)
// is refused without showing it: at most its first characters and its length, and never the rest.
func TestProviderConfig_settingsNeverEchoTheCredential(t *testing.T) {
	t.Parallel()
	// Shaped like no guide-style key, so that only what Configure knows can hide it.
	const token = "canary-Credential-7Qm2vX9pL4sR8tY1wE6uI3oA5dF0gH"
	const tail = "7Qm2vX9pL4sR8tY1wE6uI3oA5dF0gH"
	base := map[string]string{envEndpoint: "http://127.0.0.1:1", envAdminToken: token}
	with := func(k, v string) map[string]string {
		env := map[string]string{k: v}
		for bk, bv := range base {
			env[bk] = bv
		}
		return env
	}
	for _, tc := range []struct {
		name  string
		env   map[string]string
		attrs map[string]any
		want  string
	}{
		{"MOLECULE_REQUEST_TIMEOUT", with(envRequestTimeout, token), nil, envRequestTimeout},
		{"MOLECULE_MAX_RETRY_WAIT", with(envMaxRetryWait, token), nil, envMaxRetryWait},
		{"MOLECULE_MAX_RETRIES", with(envMaxRetries, token), nil, envMaxRetries},
		{"MOLECULE_APPROVAL_TIMEOUT", with(envApprovalWait, token), nil, envApprovalWait},
		{"MOLECULE_ORG_ID", with(envOrgID, token), nil, envOrgID},
		{"MOLECULE_ENDPOINT", map[string]string{envEndpoint: token, envAdminToken: token}, nil, "Invalid Molecule Endpoint"},
		{"request_timeout", base, map[string]any{"request_timeout": token}, "request_timeout"},
		{"max_retry_wait", base, map[string]any{"max_retry_wait": token}, "max_retry_wait"},
		{"approval_timeout", base, map[string]any{"approval_timeout": token}, "approval_timeout"},
		// The same credential in the token attribute, so that it is the configuration's.
		{"request_timeout with token in configuration", map[string]string{envEndpoint: "http://127.0.0.1:1"},
			map[string]any{"token": token, "request_timeout": token}, "request_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp := configure(t, newTestProvider(client.SystemClock{}, tc.env), tc.attrs)
			if !resp.Diagnostics.HasError() {
				t.Fatalf("the credential as %s was accepted", tc.name)
			}
			var all strings.Builder
			for _, d := range resp.Diagnostics {
				all.WriteString(d.Summary() + ": " + d.Detail() + "\n")
			}
			if !strings.Contains(all.String(), tc.want) {
				t.Errorf("the error does not name %s:\n%s", tc.want, all.String())
			}
			if strings.Contains(all.String(), tail) {
				t.Errorf("the error shows the credential:\n%s", all.String())
			}
		})
	}
	// The schema's validators run before Configure, on the same text.
	for _, v := range []func(string) error{
		func(s string) error { _, err := parseDuration(s, 0, time.Hour); return err },
		func(s string) error { _, err := parseNotUsedSince(s, time.Now()); return err },
	} {
		if err := v(token); err == nil || strings.Contains(err.Error(), tail) {
			t.Errorf("a duration check shows the credential: %v", err)
		}
	}
}
