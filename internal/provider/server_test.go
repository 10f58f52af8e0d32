package provider

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// What the tests need of the service beyond its API, whether it is an emulator or the real
// Molecule platform server that make testacc-server starts: the requests that reached it, a
// person's decision on an approval, and, for the real server, servers of its own configured
// otherwise.

// traffic counts what reached the service since it was made: mint requests, by key name, and
// decisions on approvals.
type traffic struct {
	emu              *emulator.Server
	baseDecisions    int
	mu               sync.Mutex
	mints, decisions int
	byName           map[string]int
}

// watchTraffic starts counting, with a proxy in front of e.endpoint (which it replaces), so it
// must come before anything is configured with that endpoint.
func (e *testEnv) watchTraffic(t *testing.T) *traffic {
	t.Helper()
	tr := &traffic{emu: e.emu, byName: map[string]int{}}
	if e.emu != nil {
		tr.baseDecisions = e.emu.RequestCount(emulator.EndpointDecide)
	}
	upstream, err := url.Parse(e.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.mu.Lock()
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/org/tokens":
			tr.mints++
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var req struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(body, &req)
			tr.byName[req.Name]++
		case strings.HasSuffix(r.URL.Path, "/decide"):
			tr.decisions++
		}
		tr.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	e.endpoint = front.URL
	return tr
}

// mintRequests is how many mint requests reached the service, and mintsOf how many for name.
func (tr *traffic) mintRequests() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.mints
}

func (tr *traffic) mintsOf(name string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.byName[name]
}

// decisionRequests is how many decisions on approvals the provider sent, which must be none: on
// the emulator, every decision but the test's own (which takes the Go API), and through the proxy.
func (tr *traffic) decisionRequests() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := tr.decisions
	if tr.emu != nil {
		n += tr.emu.RequestCount(emulator.EndpointDecide) - tr.baseDecisions
	}
	return n
}

// requireApprovalGate skips the test unless the service makes ADMIN_TOKEN mints wait for
// approval and the test can decide them as a person would: the emulator, or the June 2026
// server of make testacc-server.
func (e *testEnv) requireApprovalGate(t *testing.T) {
	t.Helper()
	if e.emu != nil {
		return
	}
	for _, v := range []string{envAccAdminToken, envAccServerRun, envAccServerDir, envAccPlatformWorkspaceID} {
		if os.Getenv(v) == "" {
			t.Skipf("needs %s: a server of one's own with the approval gate (the June 2026 build, as make testacc-server "+
				"starts it), whose approvals the test decides as a person in Canvas would", v)
		}
	}
}

// decideWhenPending decides, as a person in Canvas would, each approval of a mint of a key whose
// name starts with prefix, a moment after it appears, until the test ends: through the
// emulator's Go API, or with the real server's `run approve|deny`, which calls the decide route
// as the Canvas banner does (other tests' approvals are left alone).
func (e *testEnv) decideWhenPending(t *testing.T, approve bool, prefix string) {
	t.Helper()
	decided := map[string]bool{}
	go func() {
		for t.Context().Err() == nil {
			for id, reason := range e.pendingApprovals(t) {
				if !decided[id] && strings.HasPrefix(reason, "mint org token "+prefix) {
					decided[id] = true
					time.Sleep(50 * time.Millisecond) // a person reads before clicking
					e.decide(t, approve, id)
				}
			}
			select {
			case <-t.Context().Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
}

// decidePending decides at once every pending approval of a mint of a key whose name starts
// with prefix, and returns how many it decided.
func (e *testEnv) decidePending(t *testing.T, approve bool, prefix string) int {
	t.Helper()
	n := 0
	for id, reason := range e.pendingApprovals(t) {
		if strings.HasPrefix(reason, "mint org token "+prefix) {
			e.decide(t, approve, id)
			n++
		}
	}
	return n
}

// decide decides approval id as a person in Canvas would: through the emulator's Go API, or
// with the real server's `run approve|deny`, which calls the decide route as the Canvas banner does.
func (e *testEnv) decide(t *testing.T, approve bool, id string) {
	if e.emu != nil {
		if approve {
			e.emu.Approve(id)
		} else {
			e.emu.Deny(id)
		}
		return
	}
	verb := map[bool]string{true: "approve", false: "deny"}[approve]
	if out, err := exec.CommandContext(context.Background(), os.Getenv(envAccServerRun), verb, os.Getenv(envAccServerDir), id).CombinedOutput(); err != nil {
		t.Errorf("run %s %s: %v: %s", verb, id, err, out)
	}
}

// pendingApprovals returns the approvals waiting for a person: their reasons by id.
func (e *testEnv) pendingApprovals(t *testing.T) map[string]string {
	out := map[string]string{}
	if e.emu != nil {
		for _, a := range e.emu.PendingApprovals() {
			out[a.ID] = a.Reason
		}
		return out
	}
	rows, err := exec.CommandContext(context.Background(), "psql", e.databaseURL, "-XAtF", "\t", "-c",
		"SELECT id, reason FROM approval_requests WHERE status = 'pending'").Output()
	if err != nil {
		if t.Context().Err() == nil {
			t.Errorf("listing pending approvals: %v", err)
		}
		return out
	}
	for _, row := range strings.Split(strings.TrimSpace(string(rows)), "\n") {
		if id, reason, ok := strings.Cut(row, "\t"); ok {
			out[id] = reason
		}
	}
	return out
}

// insertKey writes a live key into a self-hosted server's database the way the server does
// (a SHA-256 of the plaintext and its first 8 characters), for keys no route of the server makes
// at once: one of no organization, or one anchored to it. It returns the key's id.
func (e *testEnv) insertKey(t *testing.T, name, plaintext, orgID string) string {
	t.Helper()
	org := "NULL"
	if orgID != "" {
		org = "'" + orgID + "'"
	}
	sum := sha256.Sum256([]byte(plaintext))
	out, err := exec.CommandContext(context.Background(), "psql", e.databaseURL, "-XAtqc", fmt.Sprintf(
		"INSERT INTO org_api_tokens (token_hash, prefix, name, created_by, org_id) VALUES (decode('%x', 'hex'), '%s', '%s', 'session', %s) RETURNING id",
		sum, plaintext[:client.PrefixLength], name, org)).Output()
	if err != nil {
		t.Fatalf("inserting key %q: %v", name, err)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = e.api.Revoke(context.Background(), id) })
	return id
}

// serverVars are the variables a Molecule platform server's `run start` prints.
type serverVars map[string]string

// startServer starts another real server of the build make testacc-server runs, with env added
// to its run script's environment (ORG_TOKEN_MINT_CEILING, MOLECULE_SERVER_NO_PLATFORM_WORKSPACE_ID),
// and stops it when the test ends. It needs MOLECULE_ACC_SERVER_RUN; the test skips without it.
func startServer(t *testing.T, env ...string) serverVars {
	t.Helper()
	run := os.Getenv(envAccServerRun)
	if run == "" || os.Getenv(envAccPlatformWorkspaceID) == "" {
		t.Skipf("needs %s of a June 2026 server (make testacc-server) to start a server configured for this test", envAccServerRun)
	}
	var out []byte
	var err error
	for range 2 { // the run script picks free ports before it binds them, and may lose a race
		cmd := exec.CommandContext(context.Background(), run, "start")
		cmd.Env = append(os.Environ(), env...)
		if out, err = cmd.Output(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("starting a server with %v: %v", env, err)
	}
	vars := serverVars{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = v
		}
	}
	t.Cleanup(func() {
		_ = exec.CommandContext(context.Background(), run, "stop", vars["MOLECULE_SERVER_DIR"]).Run()
	})
	return vars
}

// envOn is a test environment against a server startServer started, with its org key as the
// credential, and its ADMIN_TOKEN as adminToken.
func envOn(t *testing.T, vars serverVars) *testEnv {
	t.Helper()
	e := &testEnv{t: t, clock: client.SystemClock{}, endpoint: vars["MOLECULE_SERVER_URL"], token: vars["MOLECULE_SERVER_ORG_KEY"],
		adminToken: vars["MOLECULE_SERVER_ADMIN_TOKEN"], databaseURL: vars["MOLECULE_SERVER_DATABASE_URL"]}
	api, err := client.New(client.Config{Endpoint: e.endpoint, Token: e.token, UserAgent: "molecule-acc-test", MaxRetries: 2,
		SnapshotMaxAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	e.api = api
	return e
}
