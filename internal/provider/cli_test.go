//go:build unix

package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator/emulatortest"
	"github.com/molecule-ai/terraform-provider-molecule/internal/tfcli"
)

// These tests drive the real CLI under test (terraform, or tofu: OpenTofu runs them the same way)
// against the provider built as a plugin, the way a user runs it: a separate process speaking
// gRPC, with core's own logging and signal handling in the loop. The in-process harness of
// resource.Test cannot show what core writes to its logs nor how an interrupted apply ends.
// Unix only: they send SIGINT and use process groups.

// cliCommandTimeout bounds any single terraform run, so that a hang fails the test instead of the
// whole package.
const cliCommandTimeout = 60 * time.Second

// builtProvider holds the provider binary, built once per package run. The bytes are kept in
// memory and the build directory removed straight away, so nothing outlives the test binary;
// each test writes its own copy into its own temporary directory.
var builtProvider struct {
	once sync.Once
	bin  []byte
	err  error
}

func providerBinary(t *testing.T) []byte {
	t.Helper()
	builtProvider.once.Do(func() { builtProvider.bin, builtProvider.err = buildProvider(t.Context()) })
	if builtProvider.err != nil {
		t.Fatalf("building the provider: %v", builtProvider.err)
	}
	return builtProvider.bin
}

func buildProvider(ctx context.Context) ([]byte, error) {
	dir, err := os.MkdirTemp("", "molecule-cli-test-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin, err := tfcli.Build(ctx, dir, tfcli.MirrorVersion)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(bin)
}

// cliEnv is one test's Terraform working directory, wired to its own emulator.
type cliEnv struct {
	t   *testing.T
	emu *emulator.Server
	// cli is the CLI under test (Terraform or OpenTofu), terraform the path of its binary.
	cli       cliInfo
	terraform string
	dir       string
	env       []string
	// secrets are the values redact hides: the credential and every plaintext read from state.
	secrets []string
}

// newCLIEnv starts an emulator and prepares a working directory whose CLI configuration points
// the CLI under test (TF_ACC_TERRAFORM_PATH: Terraform or OpenTofu) at the built provider with
// dev_overrides. `terraform init` is never run: with every provider overridden, plan and apply
// do not need it, and init would try to reach a registry.
func newCLIEnv(t *testing.T, opts emulator.Options) *cliEnv {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("runs the terraform CLI; set TF_ACC=1 (make test does)")
	}
	cli := testCLI(t)
	emu := emulatortest.New(t, opts)

	root := t.TempDir()
	pluginDir := filepath.Join(root, "plugin")
	work := filepath.Join(root, "work")
	for _, d := range []string{pluginDir, work} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := tfcli.WriteExecutable(filepath.Join(pluginDir, tfcli.BinaryName), providerBinary(t)); err != nil {
		t.Fatal(err)
	}
	cliConfig := filepath.Join(root, "dev.tfrc")
	if err := (tfcli.Config{Host: cli.registry(), DevOverride: pluginDir}).Write(cliConfig); err != nil {
		t.Fatal(err)
	}
	// The ambient environment minus everything that could steer Terraform or the provider
	// elsewhere (tfcli.Environ), pointed at this test's emulator.
	env := tfcli.Environ(os.Environ(), cliConfig,
		"MOLECULE_ENDPOINT="+emu.URL(),
		// An org key anchored to the organization mints without approval (see newEnv).
		"MOLECULE_ORG_TOKEN="+emu.OrgKey(),
	)
	return &cliEnv{t: t, emu: emu, cli: cli, terraform: cli.Path, dir: work, env: env, secrets: []string{emu.OrgKey(), emu.AdminToken()}}
}

// writeConfig replaces the working directory's configuration.
func (c *cliEnv) writeConfig(hcl string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, "main.tf"), []byte(hcl), 0o600); err != nil {
		c.t.Fatal(err)
	}
}

// command prepares a terraform run in its own process group, so that a run that has to be
// killed takes the provider plugin with it.
func (c *cliEnv) command(ctx context.Context, extraEnv []string, args ...string) *exec.Cmd {
	return c.invocation(extraEnv, args...).Command(ctx)
}

func (c *cliEnv) invocation(extraEnv []string, args ...string) tfcli.Invocation {
	return tfcli.Invocation{CLI: c.terraform, Dir: c.dir, Env: append(slices.Clone(c.env), extraEnv...), Args: args}
}

// cliResult is what one terraform run printed. It may hold secrets (show -json does by design),
// so it is printed only through its environment's redact.
type cliResult struct {
	cli            cliInfo
	args           []string
	stdout, stderr []byte
	code           int
	redact         func([]byte) string
}

func (r cliResult) String() string {
	return fmt.Sprintf("terraform %s exited %d (%s)\nstdout:\n%s\nstderr:\n%s",
		strings.Join(r.args, " "), r.code, r.cli, r.redact(r.stdout), r.redact(r.stderr))
}

// run runs terraform to completion; it fails the test only if terraform cannot be run at all.
func (c *cliEnv) run(extraEnv []string, args ...string) cliResult {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliCommandTimeout)
	defer cancel()
	out, err := c.invocation(extraEnv, args...).Run(ctx)
	switch {
	case ctx.Err() != nil:
		c.t.Fatalf("terraform %s did not finish within %s", args[0], cliCommandTimeout)
	case err != nil:
		c.t.Fatalf("running terraform %s: %v", args[0], err)
	}
	return cliResult{cli: c.cli, args: args, stdout: out.Stdout, stderr: out.Stderr, code: out.Code, redact: c.redact}
}

// mustRun runs terraform and fails the test unless it exits 0.
func (c *cliEnv) mustRun(extraEnv []string, args ...string) cliResult {
	c.t.Helper()
	res := c.run(extraEnv, args...)
	if res.code != 0 {
		c.t.Fatalf("%s", res)
	}
	return res
}

// stateResource is one resource of `terraform show -json`. Values holds sensitive attributes in
// plaintext: never print it.
type stateResource struct {
	Address string         `json:"address"`
	Mode    string         `json:"mode"`
	Type    string         `json:"type"`
	Values  map[string]any `json:"values"`
}

// state reads the current state through `terraform show -json`; no state yet means no
// resources.
func (c *cliEnv) state() []stateResource {
	c.t.Helper()
	res := c.run(nil, "show", "-json", "-no-color")
	if res.code != 0 {
		c.t.Fatalf("terraform show -json exited %d\nstderr:\n%s", res.code, c.redact(res.stderr))
	}
	var doc struct {
		Values *struct {
			RootModule struct {
				Resources []stateResource `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(res.stdout, &doc); err != nil {
		c.t.Fatalf("terraform show -json printed something that is not its JSON format: %v", err)
	}
	if doc.Values == nil {
		return nil
	}
	for _, r := range doc.Values.RootModule.Resources {
		if key, ok := r.Values["key"].(string); ok && key != "" && !slices.Contains(c.secrets, key) {
			c.secrets = append(c.secrets, key)
		}
	}
	return doc.Values.RootModule.Resources
}

// managedKeys returns the state's molecule_org_api_key resources.
func (c *cliEnv) managedKeys() []stateResource {
	c.t.Helper()
	var out []stateResource
	for _, r := range c.state() {
		if r.Mode == "managed" && r.Type == "molecule_org_api_key" {
			out = append(out, r)
		}
	}
	return out
}

// keyLikeRun is a run of characters as long as a deployed key: it may be a plaintext the test
// never saw (one whose mint answer was lost), so output shown on failure hides it too.
var keyLikeRun = regexp.MustCompile(`(^|[^A-Za-z0-9_-])[A-Za-z0-9_-]{43}($|[^A-Za-z0-9_-])`)

// redact hides every secret the environment knows, anything shaped like a guide-style key and
// anything as long as a deployed key, so that output can be shown when a test fails.
func (c *cliEnv) redact(b []byte) string {
	s := string(b)
	for _, v := range c.secrets {
		s = strings.ReplaceAll(s, v, "<redacted secret>")
	}
	s = plaintextKeyPattern.ReplaceAllString(s, "<redacted key>")
	return keyLikeRun.ReplaceAllString(s, "${1}<redacted key-like text>${2}")
}

// newCanary returns a credential that appears nowhere but where a test puts it. It is shaped like
// a deployed key, with no pattern a redaction could match: only redaction by value hides it.
func newCanary() string { return newOpaqueSecret() }

// secret is a value that must never be written anywhere but the state; label names it in
// failure messages, which never show the value itself.
type secret struct{ label, value string }

// secretsOf returns the value and all of it but its first 8 characters: a leak that cut or
// re-prefixed the value would still contain the latter. Those 8 characters alone are a key's
// prefix, which is not secret and is logged on purpose.
func secretsOf(label, value string) []secret {
	out := []secret{{label, value}}
	if rest := value[min(client.PrefixLength, len(value)):]; len(rest) >= 16 {
		out = append(out, secret{label + " without its first " + fmt.Sprint(client.PrefixLength) + " characters", rest})
	}
	return out
}

// leaks reports each line of data, named source, that holds a secret: where, never what.
func leaks(source string, data []byte, secrets []secret) []string {
	var out []string
	for i, line := range bytes.Split(data, []byte("\n")) {
		for _, s := range secrets {
			if col := bytes.Index(line, []byte(s.value)); col >= 0 {
				out = append(out, fmt.Sprintf("%s line %d column %d: %s", source, i+1, col+1, s.label))
			}
		}
	}
	return out
}

func cliKeysConfig(ciName, agentName, prefix string) string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

resource "molecule_org_api_key" "ci" {
  name = %q
}

resource "molecule_org_api_key" "agent" {
  name = %q
}

data "molecule_org_api_keys" "listed" {
  name_prefix = %q
  depends_on  = [molecule_org_api_key.ci, molecule_org_api_key.agent]
}

output "ci_key" {
  value     = molecule_org_api_key.ci.key
  sensitive = true
}

output "listed" {
  value = [for k in data.molecule_org_api_keys.listed.keys : k.id]
}
`, ciName, agentName, prefix)
}

// TestCLI_secretsNeverLogged runs apply, a replacing plan, a plan against a proxy that quotes the
// credential back, and destroy with TRACE logging, and checks that neither the credential nor any
// minted key reaches a log or the console. The deployed dialect's secrets have no pattern to
// match, so only redaction by value passes; the guide's variant has guide-shaped ones.
func TestCLI_secretsNeverLogged(t *testing.T) {
	t.Parallel()
	for _, d := range []emulator.Dialect{emulator.DialectDeployed, emulator.DialectGuide} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			canary := newCanary()
			if d == emulator.DialectGuide {
				canary = newGuideSecret()
			} else {
				requireOpaque(t, "the canary credential", canary)
			}
			cliSecretsNeverLogged(t, d, canary)
		})
	}
}

func cliSecretsNeverLogged(t *testing.T, d emulator.Dialect, canary string) {
	c := newCLIEnv(t, emulator.Options{OrgKey: canary, Dialect: d})
	emu := c.emu

	prefix := testKeyPrefix + "cli-" + acctest.RandString(6) + "-"
	c.writeConfig(cliKeysConfig(prefix+"ci", prefix+"agent", prefix))
	logDir := t.TempDir()
	logs := map[string]string{}
	traced := func(step string) []string {
		logs[step] = filepath.Join(logDir, step+".log")
		return []string{"TF_LOG=TRACE", "TF_LOG_PATH=" + logs[step]}
	}
	outputs := map[string]cliResult{}

	outputs["apply"] = c.mustRun(traced("apply"), "apply", "-auto-approve", "-input=false", "-no-color")

	secrets := secretsOf("the credential", canary)
	keys := c.managedKeys()
	if len(keys) != 2 {
		t.Fatalf("want 2 keys in state after apply, got %d", len(keys))
	}
	for _, r := range keys {
		key, _ := r.Values["key"].(string)
		if !keyRegexpFor(d).MatchString(key) {
			t.Fatalf("%s has no plaintext key of the %s dialect's shape in state", r.Address, d)
		}
		if d == emulator.DialectDeployed {
			requireOpaque(t, "the plaintext of "+r.Address, key)
		}
		if prefix, _ := r.Values["prefix"].(string); prefix != key[:client.PrefixLength] {
			t.Fatalf("%s.prefix %q is not the start of its key", r.Address, prefix)
		}
		secrets = append(secrets, secretsOf("plaintext key of "+r.Address, key)...)
	}
	if n := len(mintedKeys(emu)); n != 2 {
		t.Fatalf("want 2 live keys on the emulator, got %d", n)
	}

	// Renaming forces a replacement, so the plan has to show (and hide) the old key.
	c.writeConfig(cliKeysConfig(prefix+"ci", prefix+"agent-renamed", prefix))
	plan := c.run(traced("plan"), "plan", "-detailed-exitcode", "-input=false", "-no-color")
	outputs["plan"] = plan
	if plan.code != 2 {
		t.Errorf("want a plan with changes (exit code 2)\n%s", plan)
	}
	if !strings.Contains(string(plan.stdout), "must be replaced") {
		t.Errorf("the plan does not replace the renamed key\n%s", plan)
	}
	if !strings.Contains(string(plan.stdout), "(sensitive value)") {
		t.Errorf("the plan does not show the key as (sensitive value)\n%s", plan)
	}

	// A proxy that quotes the request's Authorization header in its error: the diagnostic must
	// show that something was redacted, never what.
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Status: 400, Times: 20,
		Body: `{"error":"request refused: Authorization: Bearer ` + canary + `"}`})
	echoed := c.run(traced("echoed"), "plan", "-input=false", "-no-color")
	outputs["echoed"] = echoed
	emu.ClearFaults()
	if echoed.code != 1 || !errorPattern("Unable to Read Org API Key", "Bearer", "[redacted]").Match(echoed.stderr) {
		t.Errorf("want the refresh to fail with the quoted credential redacted\n%s", echoed)
	}

	outputs["destroy"] = c.mustRun(traced("destroy"), "destroy", "-auto-approve", "-input=false", "-no-color")
	if n := len(mintedKeys(emu)); n != 0 {
		t.Errorf("%d keys are still live after destroy", n)
	}

	var found []string
	for step, res := range outputs {
		found = append(found, leaks("terraform "+step+" stdout", res.stdout, secrets)...)
		found = append(found, leaks("terraform "+step+" stderr", res.stderr, secrets)...)
	}
	for step, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("reading the %s log: %v", step, err)
		}
		// A log without the provider's request lines would make the check below vacuous.
		if !bytes.Contains(data, []byte("Molecule API request")) {
			t.Errorf("the %s TRACE log (%d bytes) has no provider request lines", step, len(data))
		}
		found = append(found, leaks(step+" TRACE log ("+filepath.Base(path)+")", data, secrets)...)
	}
	if apply, _ := os.ReadFile(logs["apply"]); !bytes.Contains(apply, []byte("minted org API key")) {
		t.Errorf("the apply TRACE log does not record the mints")
	}
	if len(found) > 0 {
		t.Errorf("secrets were written outside the state:\n  %s", strings.Join(found, "\n  "))
	}
}

// TestCLI_interruptApply interrupts an apply while the provider is stuck in a mint and checks
// that Terraform stops promptly and that no live key escapes the state.
func TestCLI_interruptApply(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		fault emulator.Fault
		// waiting, if set, is the provider log line that shows it has reached the state under
		// test; SIGINT is sent only once it appears.
		waiting *regexp.Regexp
		// commits says the service creates the key before the answer is lost, so the interrupted
		// provider must find and revoke it.
		commits bool
	}{
		// The mint hangs on the service side: cancellation must abort the request in flight.
		"slow mint": {
			fault: emulator.Fault{Endpoint: emulator.EndpointMint, Latency: 60 * time.Second, Times: 100},
		},
		// The key is created but its answer never comes: the interrupted mint must be reconciled.
		"committed mint, answer hanging": {
			fault:   emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenHang, Times: 100},
			commits: true,
		},
		// The mint is rate limited: cancellation must cut short the wait before the retry.
		"rate limited mint": {
			fault:   emulator.Fault{Endpoint: emulator.EndpointMint, Status: 429, RetryAfter: "60", Times: 100},
			waiting: regexp.MustCompile(`Retrying Molecule API request:.* wait_ms=60000`),
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			canary := newCanary()
			c := newCLIEnv(t, emulator.Options{OrgKey: canary})
			emu := c.emu
			emu.AddFault(tc.fault)
			prefix := testKeyPrefix + "cli-" + acctest.RandString(6) + "-"
			c.writeConfig(cliKeysConfig(prefix+"ci", prefix+"agent", prefix))
			logPath := filepath.Join(t.TempDir(), "apply.log")

			ctx, cancel := context.WithTimeout(context.Background(), cliCommandTimeout)
			defer cancel()
			cmd := c.command(ctx, []string{"TF_LOG=DEBUG", "TF_LOG_PATH=" + logPath},
				"apply", "-auto-approve", "-input=false", "-no-color")
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// fail kills terraform, if still running, before showing its output: the buffer is
			// only safe to read once the process has been waited for.
			fail := func(running bool, format string, args ...any) {
				t.Helper()
				if running {
					cancel()
					<-exited //nolint:errcheck // killed on purpose; only the wait matters
				}
				t.Fatalf(format+":\n%s", append(args, c.redact(out.Bytes()))...)
			}

			deadline := time.Now().Add(30 * time.Second)
			ready := func() bool {
				if emu.RequestCount(emulator.EndpointMint) == 0 {
					return false
				}
				if tc.waiting == nil {
					return true
				}
				log, _ := os.ReadFile(logPath)
				return tc.waiting.Match(log)
			}
			for !ready() {
				select {
				case err := <-exited:
					fail(false, "terraform apply ended (%v) before the provider was stuck in a mint", err)
				case <-time.After(50 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					fail(true, "the provider was not stuck in a mint within 30s")
				}
			}

			if err := cmd.Process.Signal(os.Interrupt); err != nil {
				fail(true, "sending SIGINT: %v", err)
			}
			signalled := time.Now()
			var err error
			select {
			case err = <-exited:
			case <-time.After(15 * time.Second):
				fail(true, "terraform apply was still running 15s after SIGINT")
			}
			t.Logf("terraform apply exited %.1fs after SIGINT (%v)", time.Since(signalled).Seconds(), err)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Errorf("want a non-zero exit after an interrupted apply, got %v:\n%s", err, c.redact(out.Bytes()))
			}
			if !strings.Contains(out.String(), "Interrupt received") {
				t.Errorf("terraform did not acknowledge the interrupt:\n%s", c.redact(out.Bytes()))
			}
			log, err := os.ReadFile(logPath)
			if err != nil {
				t.Fatal(err)
			}
			secrets := secretsOf("the credential", canary)
			found := append(leaks("terraform apply output", out.Bytes(), secrets), leaks("apply DEBUG log", log, secrets)...)
			if len(found) > 0 {
				t.Errorf("the credential was written outside the state:\n  %s", strings.Join(found, "\n  "))
			}

			tracked := map[string]bool{}
			for _, r := range c.managedKeys() {
				if id, _ := r.Values["id"].(string); id != "" {
					tracked[id] = true
				}
			}
			live := mintedKeys(emu)
			for _, k := range live {
				if !tracked[k.ID] {
					t.Errorf("live key %s (%q) is not in state: nobody can revoke it through Terraform", k.ID, k.Name)
				}
			}
			if tc.commits {
				revoked := 0
				for _, k := range emu.AllKeys() {
					if k.RevokedAt != nil {
						revoked++
					}
				}
				if revoked == 0 {
					t.Error("the service created keys whose answers were lost, but none was revoked: the test proves nothing")
				}
			}
			t.Logf("after the interrupt: %d mint requests, %d live keys, %d in state",
				emu.RequestCount(emulator.EndpointMint), len(live), len(tracked))
		})
	}
}
