package provider

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client/clocktest"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// The fault matrix: each row injects faults through the emulator's hooks at one point of a
// key's life and asserts the emulator's final set of live keys against Terraform's state.

// stateIDs returns the ids of the molecule_org_api_key instances in state.
func stateIDs(s *terraform.State) []string {
	var ids []string
	for _, rs := range s.RootModule().Resources {
		if rs.Type == "molecule_org_api_key" {
			ids = append(ids, rs.Primary.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// liveMatchState asserts the invariant: the live keys carrying the configured names are exactly
// the keys in state — nothing minted twice, nothing live and untracked.
func liveMatchState(e *testEnv, names ...string) tfresource.TestCheckFunc {
	return func(s *terraform.State) error { return liveMatch(e, stateIDs(s), names...) }
}

// liveMatch is liveMatchState's invariant, with ids (sorted) the keys in state.
func liveMatch(e *testEnv, ids []string, names ...string) error {
	var live []string
	for _, k := range mintedKeys(e.emu) {
		if slices.Contains(names, k.Name) {
			live = append(live, k.ID)
		}
	}
	slices.Sort(live)
	if !slices.Equal(live, ids) {
		return fmt.Errorf("live keys %v != keys in state %v", live, ids)
	}
	return nil
}

// requestsSince asserts how many requests an endpoint received since *base.
func requestsSince(e *testEnv, endpoint string, base *int, want int) tfresource.TestCheckFunc {
	return func(*terraform.State) error { return countSince(e, endpoint, *base, want) }
}

// countSince is requestsSince's check, once.
func countSince(e *testEnv, endpoint string, base, want int) error {
	if got := e.emu.RequestCount(endpoint) - base; got != want {
		return fmt.Errorf("%s requests: got %d, want %d", endpoint, got, want)
	}
	return nil
}

// retryAfterDate is a Retry-After HTTP date d after now by the environment's clock.
func retryAfterDate(e *testEnv, d time.Duration) string {
	return e.clock.Now().Add(d).UTC().Format(http.TimeFormat)
}

// onFakeClock runs a test on a fake clock that the emulator and the provider share: the
// provider's waits (retries, the grace window after a lost answer) end at once and move it, so
// that a row costs no real time beyond Terraform's own. A row whose fault takes real time (a
// commit that lands after the provider gave up) runs on the real clock.
func onFakeClock(s *envSettings) { withClock(clocktest.New(time.Now()))(s) }

// onFakeClockWaiting is a row's environment on the fake clock, and the environment its provider
// sees: retries wait at most maxRetryWait ("" for the harness's 100ms).
func onFakeClockWaiting(t *testing.T, maxRetryWait string) (*testEnv, map[string]string) {
	e := newTestEnv(t, onFakeClock)
	env := e.env()
	if maxRetryWait != "" {
		env[envMaxRetryWait] = maxRetryWait
	}
	return e, env
}

// faultRow is a row of a fault matrix that runs through Terraform when cli is set, else directly.
type faultRow interface {
	about() (name, maxRetryWait string, cli bool)
}

// runFaultRows runs each row as a parallel subtest, in its own environment on the fake clock (see
// onFakeClockWaiting).
func runFaultRows[R faultRow](t *testing.T, rows []R, throughTerraform, directly func(*testing.T, *testEnv, map[string]string, R)) {
	for _, row := range rows {
		name, maxRetryWait, cli := row.about()
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, env := onFakeClockWaiting(t, maxRetryWait)
			if cli {
				throughTerraform(t, e, env, row)
			} else {
				directly(t, e, env, row)
			}
		})
	}
}

// answerWithoutKey is a successful mint response that lacks the plaintext.
var answerWithoutKey = emulator.Fault{Status: 200,
	Body: `{"id":"a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e","prefix":"UyJhAK6q","name":"x","warning":"copy this token now; it will not be shown again"}`}

// mintRow is one row of TestAccFaultMatrix_mint.
type mintRow struct {
	name           string
	faults         func(e *testEnv) []emulator.Fault
	maxRetryWait   string // "" => the harness's 100ms
	requestTimeout string // "" => the default
	// cli runs the row through Terraform, to prove its handling of a mint that fails and then
	// converges, and of one that succeeds after a lost answer; the other rows call the resource.
	cli bool
	// commits, when set, is how many keys the service creates in all, some perhaps after
	// the apply: the checks wait for them first. Such a row runs through Terraform on the real
	// clock.
	commits     int
	wantMints   int
	wantOrphans int
	wantErr     *regexp.Regexp
}

// orphans checks that the row's faults left wantOrphans keys minted and revoked.
func (row mintRow) orphans(e *testEnv) error {
	if got := len(e.emu.AllKeys()) - len(e.emu.LiveKeys()); got != row.wantOrphans {
		return fmt.Errorf("want %d revoked orphan keys, got %d", row.wantOrphans, got)
	}
	return nil
}

// inject adds faults to endpoint's next requests.
func inject(e *testEnv, endpoint string, faults ...emulator.Fault) {
	for _, f := range faults {
		f.Endpoint = endpoint
		e.emu.AddFault(f)
	}
}

func TestAccFaultMatrix_mint(t *testing.T) {
	needsFaults(t)
	t.Parallel()
	rows := []mintRow{
		{name: "429 Retry-After seconds", wantMints: 2, maxRetryWait: "2s",
			faults: func(*testEnv) []emulator.Fault { return []emulator.Fault{{Status: 429, RetryAfter: "1"}} }},
		{name: "429 Retry-After HTTP date", wantMints: 2, maxRetryWait: "2s", faults: func(e *testEnv) []emulator.Fault {
			return []emulator.Fault{{Status: 429, RetryAfter: retryAfterDate(e, time.Second)}}
		}},
		// Waiting less than the service asked would only be refused again: the mint fails at once,
		// saying when the quota refills, and nothing is left behind.
		{name: "429 Retry-After beyond max_retry_wait fails at once", wantMints: 1,
			wantErr: errorPattern("Unable to Mint Org API Key", "mint quota is used up", "10 mints an hour: per organization on the hosted service", "per credential on a self-hosted deployment",
				"quota refills at", "(in ", "keys already minted are in state"),
			faults: func(*testEnv) []emulator.Fault { return []emulator.Fault{{Status: 429, RetryAfter: "3600", Times: 5}} }},
		{name: "429 Retry-After negative", wantMints: 2, faults: func(*testEnv) []emulator.Fault { return []emulator.Fault{{Status: 429, RetryAfter: "-5"}} }},
		{name: "429 Retry-After garbage", wantMints: 2, faults: func(*testEnv) []emulator.Fault { return []emulator.Fault{{Status: 429, RetryAfter: "soon"}} }},
		{name: "429 Retry-After missing", wantMints: 2, faults: func(*testEnv) []emulator.Fault { return []emulator.Fault{{Status: 429}} }},
		{name: "503 Retry-After before commit", wantMints: 2, faults: func(*testEnv) []emulator.Fault { return []emulator.Fault{{Status: 503, RetryAfter: "1"}} }},
		{name: "500 before commit", wantMints: 2, faults: func(*testEnv) []emulator.Fault { return []emulator.Fault{{Status: 500}} }},
		{name: "502 before commit", wantMints: 2, faults: func(*testEnv) []emulator.Fault { return []emulator.Fault{{Status: 502}} }},
		{name: "504 before commit", wantMints: 2, faults: func(*testEnv) []emulator.Fault { return []emulator.Fault{{Status: 504}} }},
		{name: "success without the key", wantMints: 2, faults: func(*testEnv) []emulator.Fault { return []emulator.Fault{answerWithoutKey} }},
		{name: "success with truncated JSON", wantMints: 2, faults: func(*testEnv) []emulator.Fault {
			return []emulator.Fault{{Status: 200, Body: `{"id":"a80eeef4-3d9e`}}
		}},
		{name: "success with an HTML proxy page", wantMints: 2, faults: func(*testEnv) []emulator.Fault {
			return []emulator.Fault{{Status: 200, Body: "<html><body>Bad gateway</body></html>", ContentType: "text/html"}}
		}},
		{name: "committed then 502", cli: true, wantMints: 2, wantOrphans: 1, faults: func(*testEnv) []emulator.Fault {
			return []emulator.Fault{{Mode: emulator.FaultCommitThenStatus, Status: 502}}
		}},
		{name: "committed then connection dropped", wantMints: 2, wantOrphans: 1, faults: func(*testEnv) []emulator.Fault {
			return []emulator.Fault{{Mode: emulator.FaultCommitThenDrop}}
		}},
		// The first attempt times out, and the service commits it half a second after the
		// provider gave up on it and minted again: the lists over the grace window find it.
		{name: "committed late, after the attempt timed out", cli: true, wantMints: 2, wantOrphans: 1, requestTimeout: "1s", commits: 2,
			faults: func(*testEnv) []emulator.Fault {
				return []emulator.Fault{{Mode: emulator.FaultCommitLate, Latency: 1500 * time.Millisecond}}
			}},
		{name: "committed then 500, twice", cli: true, wantMints: 2, wantOrphans: 2, wantErr: errorPattern("Unable to Mint Org API Key", "was not tried again", "listed the keys", "Nothing was recorded in state"),
			faults: func(*testEnv) []emulator.Fault {
				return []emulator.Fault{{Mode: emulator.FaultCommitThenStatus, Status: 500, Times: 2}}
			}},
		{name: "501 is not retried", wantMints: 1, wantErr: errorPattern("Unable to Mint Org API Key", "501", "No key was created"),
			faults: func(*testEnv) []emulator.Fault { return []emulator.Fault{{Status: 501, Times: 5}} }},
		{name: "400 is not retried", wantMints: 1, wantErr: errorPattern("Unable to Mint Org API Key", "400", "name rejected", "No key was created"),
			faults: func(*testEnv) []emulator.Fault {
				return []emulator.Fault{{Status: 400, Body: `{"message":"name rejected"}`, Times: 5}}
			}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			clock := onFakeClock
			if row.commits > 0 {
				clock = emulatorOnly
			}
			e := newTestEnv(t, clock)
			env := e.env()
			if row.maxRetryWait != "" {
				env[envMaxRetryWait] = row.maxRetryWait
			}
			if row.requestTimeout != "" {
				env[envRequestTimeout] = row.requestTimeout
			}
			if row.cli || row.commits > 0 {
				mintThroughTerraform(t, e, env, row)
			} else {
				mintRowDirectly(t, e, env, row)
			}
		})
	}
}

// mintRowDirectly runs a mint row against the resource's Create, each call by a fresh provider as
// each Terraform command is, and checks what mintThroughTerraform checks.
func mintRowDirectly(t *testing.T, e *testEnv, env map[string]string, row mintRow) {
	name := e.name("mint")
	mints := e.emu.RequestCount(emulator.EndpointMint)
	inject(e, emulator.EndpointMint, row.faults(e)...)
	resp := newResourceHarness(t, e, env).create(toMint(name))
	for _, err := range []error{countSince(e, emulator.EndpointMint, mints, row.wantMints), row.orphans(e)} {
		if err != nil {
			t.Error(err)
		}
	}
	if row.wantErr != nil {
		// Nothing is in state after the failure; nothing may be live either, and the next
		// create converges to exactly one key.
		failedWith(t, resp.Diagnostics, row.wantErr)
		if !resp.State.Raw.IsNull() {
			t.Error("the failed create wrote state")
		}
		if live := liveNamed(e, name); len(live) != 0 {
			t.Errorf("after the failed create, live keys %v are in no state", live)
		}
		e.emu.ClearFaults()
		resp = newResourceHarness(t, e, env).create(toMint(name))
	}
	destroyDirectly(t, e, env, mintedDirectly(t, e, env, name, resp))
}

// faultAfterMint mints a key named name through a fresh provider, checks it as mintedDirectly
// does, and then injects faults into endpoint; it returns the state, and the endpoint's count of
// requests before the faults.
func faultAfterMint(t *testing.T, e *testEnv, env map[string]string, name, endpoint string, faults ...emulator.Fault) (tfsdk.State, int) {
	t.Helper()
	state := mintedDirectly(t, e, env, name, newResourceHarness(t, e, env).create(toMint(name)))
	before := e.emu.RequestCount(endpoint)
	inject(e, endpoint, faults...)
	return state, before
}

// failedWith fails the test unless diags hold an error and pattern matches their text.
func failedWith(t *testing.T, diags diag.Diagnostics, pattern *regexp.Regexp) {
	t.Helper()
	if !diags.HasError() {
		t.Fatalf("want an error matching %s, got %v", pattern, diags)
	}
	if text := diagText(diags); !pattern.MatchString(text) {
		t.Fatalf("the diagnostics do not match %s:\n%s", pattern, text)
	}
}

// mintedDirectly checks that created succeeded and holds the key as keyHolds does; it returns
// the state.
func mintedDirectly(t *testing.T, e *testEnv, env map[string]string, name string, created resource.CreateResponse) tfsdk.State {
	t.Helper()
	if created.Diagnostics.HasError() {
		t.Fatalf("create: %v", created.Diagnostics)
	}
	keyHolds(t, e, env, name, created.State)
	return created.State
}

// keyHolds checks that state holds the one live key named name, a real one with the service's
// prefix, which a refresh by a fresh provider keeps as it is.
func keyHolds(t *testing.T, e *testEnv, env map[string]string, name string, state tfsdk.State) {
	t.Helper()
	h := newResourceHarness(t, e, env)
	m := h.model(state)
	if !e.keyRegexp().MatchString(m.Key.ValueString()) {
		t.Errorf("the key in state does not have the %s dialect's shape", e.dialect)
	}
	for _, err := range []error{
		e.keyPrefixHolds(keyAddr, m.ID.ValueString(), m.Key.ValueString(), m.Prefix.ValueString()),
		liveMatch(e, []string{m.ID.ValueString()}, name),
	} {
		if err != nil {
			t.Error(err)
		}
	}
	keptByRefresh(t, h, state)
	if err := e.authenticates(m.Key.ValueString()); err != nil {
		t.Error(err)
	}
}

// keptByRefresh checks that a read of state succeeds and changes nothing, so that the plan
// that follows is empty.
func keptByRefresh(t *testing.T, h *resourceHarness, state tfsdk.State) {
	t.Helper()
	resp := h.read(state)
	if resp.Diagnostics.HasError() {
		t.Fatalf("refresh: %v", resp.Diagnostics)
	}
	if !sameKey(t, resp.State, state) {
		t.Error("the refresh changed state")
	}
}

// sameKey reports whether got holds what want holds but for last_used_at, which moves whenever
// the key is used and which a plan never shows as a change.
func sameKey(t *testing.T, got, want tfsdk.State) bool {
	t.Helper()
	ctx := context.Background()
	var used types.String
	d := want.GetAttribute(ctx, path.Root("last_used_at"), &used)
	got = tfsdk.State{Schema: got.Schema, Raw: got.Raw.Copy()}
	if d.Append(got.SetAttribute(ctx, path.Root("last_used_at"), used)...); d.HasError() {
		t.Fatal(d)
	}
	return got.Raw.Equal(want.Raw)
}

// destroyDirectly deletes the key in state through a fresh provider, as terraform destroy does,
// and checks that the service revoked it.
func destroyDirectly(t *testing.T, e *testEnv, env map[string]string, state tfsdk.State) {
	t.Helper()
	h := newResourceHarness(t, e, env)
	if resp := h.delete(state); resp.Diagnostics.HasError() {
		t.Fatalf("destroy: %v", resp.Diagnostics)
	}
	m := h.model(state)
	if err := e.revoked(m.ID.ValueString(), m.Key.ValueString()); err != nil {
		t.Error(err)
	}
}

// mintThroughTerraform runs a mint row through Terraform.
func mintThroughTerraform(t *testing.T, e *testEnv, env map[string]string, row mintRow) {
	name := e.name("mint")
	var mints int
	injectRow := func() {
		mints = e.emu.RequestCount(emulator.EndpointMint)
		inject(e, emulator.EndpointMint, row.faults(e)...)
	}
	steps := []tfresource.TestStep{{
		PreConfig: injectRow,
		Config:    keyConfig(name),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.StringRegexp(e.keyRegexp())),
			e.expectKeyPrefix(keyAddr),
		},
		Check: tfresource.ComposeAggregateTestCheckFunc(
			func(*terraform.State) error { return waitForCommits(e, name, row.commits) },
			liveMatchState(e, name),
			requestsSince(e, emulator.EndpointMint, &mints, row.wantMints),
			func(*terraform.State) error { return row.orphans(e) },
			keyAuthenticates(e),
		),
	}}
	if row.wantErr != nil {
		steps = []tfresource.TestStep{
			{
				PreConfig:   injectRow,
				Config:      keyConfig(name),
				ExpectError: row.wantErr,
			},
			{
				// Nothing is in state after the failure; nothing may be live either, and the
				// next apply converges to exactly one key.
				PreConfig: func() {
					if got := e.emu.RequestCount(emulator.EndpointMint) - mints; got != row.wantMints {
						t.Errorf("mint requests during the failed apply: got %d, want %d", got, row.wantMints)
					}
					if live := liveNamed(e, name); len(live) != 0 {
						t.Errorf("after the failed apply, live keys %v are in no state", live)
					}
					if err := row.orphans(e); err != nil {
						t.Error(err)
					}
					e.emu.ClearFaults()
				},
				Config: keyConfig(name),
				Check:  tfresource.ComposeAggregateTestCheckFunc(liveMatchState(e, name), keyAuthenticates(e)),
			},
		}
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factoriesWithEnv(env),
		CheckDestroy:             e.checkDestroy,
		Steps:                    steps,
	})
}

// waitForCommits waits until the emulator has created n keys named name, for commits that
// land after the provider gave up on them.
func waitForCommits(e *testEnv, name string, n int) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := 0
		for _, ev := range e.emu.Events() {
			if ev.Type == "mint" && ev.Name == name {
				got++
			}
		}
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the service created %d keys named %q within 10s, want %d", got, name, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func liveNamed(e *testEnv, name string) []string {
	var ids []string
	for _, k := range mintedKeys(e.emu) {
		if k.Name == name {
			ids = append(ids, k.ID)
		}
	}
	return ids
}

// refreshRow is one row of TestAccFaultMatrix_refresh.
type refreshRow struct {
	name         string
	faults       []emulator.Fault
	maxRetryWait string // "" => the harness's 100ms
	// cli runs the row through Terraform, to prove that a failed refresh leaves its state as it
	// was; the other rows call the resource directly.
	cli       bool
	wantLists int // requests during the refreshing plan
	wantErr   *regexp.Regexp
}

func (row refreshRow) about() (name, maxRetryWait string, cli bool) {
	return row.name, row.maxRetryWait, row.cli
}

func TestAccFaultMatrix_refresh(t *testing.T) {
	needsFaults(t)
	t.Parallel()
	rows := []refreshRow{
		{name: "500 then success", faults: []emulator.Fault{{Status: 500}}, wantLists: 2},
		{name: "502 then success", faults: []emulator.Fault{{Status: 502}}, wantLists: 2},
		{name: "503 Retry-After then success", faults: []emulator.Fault{{Status: 503, RetryAfter: "1"}}, maxRetryWait: "2s", wantLists: 2},
		{name: "504 then success", faults: []emulator.Fault{{Status: 504}}, wantLists: 2},
		{name: "429 then success", faults: []emulator.Fault{{Status: 429, RetryAfter: "1"}}, maxRetryWait: "2s", wantLists: 2},
		{name: "429 Retry-After beyond max_retry_wait fails at once", faults: []emulator.Fault{{Status: 429, RetryAfter: "60", Times: 10}}, wantLists: 1,
			wantErr: errorPattern("Unable to Read Org API Key", "429", "not retrying", "longer than the longest wait allowed", "State was left unchanged")},
		{name: "dropped connection then success", faults: []emulator.Fault{{Mode: emulator.FaultDropBeforeCommit}}, wantLists: 2},
		{name: "501 is not retried", faults: []emulator.Fault{{Status: 501, Times: 10}}, wantLists: 1,
			wantErr: errorPattern("Unable to Read Org API Key", "501", "State was left unchanged")},
		{name: "persistent 500", cli: true, faults: []emulator.Fault{{Status: 500, Times: 10}}, wantLists: 5,
			wantErr: errorPattern("Unable to Read Org API Key", "500", "after 5 attempts", "State was left unchanged")},
		{name: "unreadable body", faults: []emulator.Fault{{Status: 200, Body: `<html>proxy error</html>`, ContentType: "text/html", Times: 10}}, wantLists: 1,
			wantErr: errorPattern("Unable to Read Org API Key", "cannot understand the response", "State was left unchanged")},
	}
	runFaultRows(t, rows, refreshThroughTerraform, refreshDirectly)
}

// refreshDirectly runs a refresh row against the resource's Read, each call by a fresh provider
// as each Terraform command is, and checks what refreshThroughTerraform checks.
func refreshDirectly(t *testing.T, e *testEnv, env map[string]string, row refreshRow) {
	name := e.name("refresh")
	state, lists := faultAfterMint(t, e, env, name, emulator.EndpointList, row.faults...)
	resp := newResourceHarness(t, e, env).read(state)
	switch {
	case row.wantErr != nil:
		failedWith(t, resp.Diagnostics, row.wantErr)
		if !resp.State.Raw.Equal(state.Raw) {
			t.Error("the failed refresh changed state")
		}
	case resp.Diagnostics.HasError():
		t.Fatalf("the refresh failed: %v", resp.Diagnostics)
	case !sameKey(t, resp.State, state):
		t.Error("the refresh changed state")
	}
	if err := countSince(e, emulator.EndpointList, lists, row.wantLists); err != nil {
		t.Error(err)
	}
	e.emu.ClearFaults()
	// The next refresh keeps the same key, which is live and works.
	keyHolds(t, e, env, name, state)
	destroyDirectly(t, e, env, state)
}

// refreshThroughTerraform runs a refresh row through Terraform.
func refreshThroughTerraform(t *testing.T, e *testEnv, env map[string]string, row refreshRow) {
	name := e.name("refresh")
	var id, key string
	var lists int
	step2 := tfresource.TestStep{
		PreConfig: func() {
			lists = e.emu.RequestCount(emulator.EndpointList)
			inject(e, emulator.EndpointList, row.faults...)
		},
		Config:   keyConfig(name),
		PlanOnly: true,
	}
	if row.wantErr != nil {
		step2.ExpectError = row.wantErr
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factoriesWithEnv(env),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{Config: keyConfig(name), Check: tfresource.ComposeTestCheckFunc(captureAttr(keyAddr, "id", &id), captureAttr(keyAddr, "key", &key))},
			step2,
			{
				// Counted before anything else runs, then the state must be as it was.
				PreConfig: func() {
					if got := e.emu.RequestCount(emulator.EndpointList) - lists; got != row.wantLists {
						t.Errorf("list requests during the faulty refresh: got %d, want %d", got, row.wantLists)
					}
					e.emu.ClearFaults()
				},
				Config:            keyConfig(name),
				ConfigPlanChecks:  tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{e.expectKeyPrefix(keyAddr)},
				Check: tfresource.ComposeAggregateTestCheckFunc(
					tfresource.TestCheckResourceAttrPtr(keyAddr, "id", &id),
					tfresource.TestCheckResourceAttrPtr(keyAddr, "key", &key),
					liveMatchState(e, name),
					keyAuthenticates(e),
				),
			},
		},
	})
}

// revokeRow is one row of TestAccFaultMatrix_revoke.
type revokeRow struct {
	name         string
	fault        emulator.Fault
	maxRetryWait string // "" => the harness's 100ms
	// cli runs the row through Terraform's destroy; the other rows call the resource directly.
	cli         bool
	wantRevokes int
}

func (row revokeRow) about() (name, maxRetryWait string, cli bool) {
	return row.name, row.maxRetryWait, row.cli
}

func TestAccFaultMatrix_revoke(t *testing.T) {
	needsFaults(t)
	t.Parallel()
	rows := []revokeRow{
		{"500 then success", emulator.Fault{Status: 500}, "", false, 2},
		{"502 then success", emulator.Fault{Status: 502}, "", false, 2},
		{"503 Retry-After then success", emulator.Fault{Status: 503, RetryAfter: "1"}, "2s", false, 2},
		{"504 then success", emulator.Fault{Status: 504}, "", false, 2},
		{"429 then success", emulator.Fault{Status: 429, RetryAfter: "1"}, "2s", false, 2},
		// The revocation happens, its answer is lost, the retry gets 404: that is success.
		{"answer lost, retry answered 404", emulator.Fault{Mode: emulator.FaultCommitThenDrop}, "", false, 2},
		{"committed then 502, retry answered 404", emulator.Fault{Mode: emulator.FaultCommitThenStatus, Status: 502}, "", true, 2},
	}
	runFaultRows(t, rows, revokeThroughTerraform, revokeDirectly)
}

// revokeDirectly runs a revoke row against the resource's Delete, by a fresh provider as
// terraform destroy is, and checks what revokeThroughTerraform checks.
func revokeDirectly(t *testing.T, e *testEnv, env map[string]string, row revokeRow) {
	name := e.name("revoke")
	state, revokes := faultAfterMint(t, e, env, name, emulator.EndpointRevoke, row.fault)
	destroyDirectly(t, e, env, state)
	if err := countSince(e, emulator.EndpointRevoke, revokes, row.wantRevokes); err != nil {
		t.Error(err)
	}
	if live := liveNamed(e, name); len(live) != 0 {
		t.Errorf("keys %v still live after destroy", live)
	}
}

// revokeThroughTerraform runs a revoke row through Terraform.
func revokeThroughTerraform(t *testing.T, e *testEnv, env map[string]string, row revokeRow) {
	name := e.name("revoke")
	var revokes int
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factoriesWithEnv(env),
		CheckDestroy: func(s *terraform.State) error {
			if got := e.emu.RequestCount(emulator.EndpointRevoke) - revokes; got != row.wantRevokes {
				return fmt.Errorf("revoke requests: got %d, want %d", got, row.wantRevokes)
			}
			if live := liveNamed(e, name); len(live) != 0 {
				return fmt.Errorf("keys %v still live after destroy", live)
			}
			return e.checkDestroy(s)
		},
		Steps: []tfresource.TestStep{{
			Config: keyConfig(name),
			Check: tfresource.ComposeAggregateTestCheckFunc(
				liveMatchState(e, name),
				func(*terraform.State) error {
					revokes = e.emu.RequestCount(emulator.EndpointRevoke)
					inject(e, emulator.EndpointRevoke, row.fault)
					return nil
				},
			),
		}},
	})
}

// Fifty keys at Terraform's default parallelism of 10, against a rate limit that forces 429s:
// every key is minted exactly once, and all are revoked on destroy. The service's own mint quota
// is off: it would stop the apply after 10 keys (TestAccOrgAPIKeyResource_mintQuota covers that).
func TestAccFaultMatrix_rateLimitedBulk(t *testing.T) {
	needsFaults(t)
	t.Parallel()
	e := newTestEnv(t, onEmulator(emulator.Options{MintLimit: emulator.NoLimit}))
	e.emu.SetRateLimit(emulator.RateLimit{Requests: 20, Per: time.Second, RetryAfter: "1"})
	env := e.env()
	env[envMaxRetryWait] = "2s"
	env[envMaxRetries] = "10"
	const n = 50
	prefix := e.name("bulk") + "-"
	config := fmt.Sprintf(`
resource "molecule_org_api_key" "bulk" {
  count = %d
  name  = "%s${count.index}"
}
`, n, prefix)

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factoriesWithEnv(env),
		CheckDestroy: func(*terraform.State) error {
			if live := len(mintedKeys(e.emu)); live != 0 {
				return fmt.Errorf("%d keys still live after destroy", live)
			}
			return nil
		},
		Steps: []tfresource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				mintedByName := map[string]int{}
				for _, ev := range e.emu.Events() {
					if ev.Type == "mint" && ev.ID != e.emu.OrgKeyID() {
						mintedByName[ev.Name]++
					}
				}
				for i := range n {
					if c := mintedByName[fmt.Sprintf("%s%d", prefix, i)]; c != 1 {
						return fmt.Errorf("key %s%d was minted %d times", prefix, i, c)
					}
				}
				if len(mintedByName) != n || len(mintedKeys(e.emu)) != n || len(stateIDs(s)) != n {
					return fmt.Errorf("want %d keys minted, live and in state; got %d, %d, %d",
						n, len(mintedByName), len(mintedKeys(e.emu)), len(stateIDs(s)))
				}
				if e.emu.RequestCount(emulator.EndpointMint) <= n {
					return fmt.Errorf("the rate limit never answered 429 (%d mint requests); the test proves nothing", e.emu.RequestCount(emulator.EndpointMint))
				}
				var live []string
				for _, k := range mintedKeys(e.emu) {
					live = append(live, k.ID)
					if !e.idRegexp().MatchString(k.ID) {
						return fmt.Errorf("key id %q does not have the %s dialect's shape", k.ID, e.dialect)
					}
				}
				slices.Sort(live)
				if !slices.Equal(live, stateIDs(s)) {
					return fmt.Errorf("live keys and state differ")
				}
				return nil
			},
		}},
	})
}

func TestAccFaultMatrix_rejectedCredential(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	k, plaintext := e.emu.Seed(emulator.SeedKey{Name: "old-automation"})
	e.emu.Revoke(k.ID)
	for _, tc := range []struct {
		name  string
		token string
	}{
		{"revoked org key", plaintext},
		{"wrong admin token", newOpaqueSecret()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{envEndpoint: e.endpoint, envOrgToken: tc.token}
			tfresource.Test(t, tfresource.TestCase{
				ProtoV6ProviderFactories: e.factoriesWithEnv(env),
				Steps: []tfresource.TestStep{{
					Config:      keyConfig(e.name("rejected")),
					ExpectError: errorPattern("Unable to Mint Org API Key", "401", "the token was rejected; it may have been revoked"),
				}},
			})
		})
	}
	if len(mintedKeys(e.emu)) != 0 {
		t.Fatal("a rejected credential must not mint anything")
	}
}
