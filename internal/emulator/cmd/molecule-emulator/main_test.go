package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// lockedBuffer collects stderr written from the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func noEnv(string) string { return "" }

func waitForFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil {
			return string(b)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return ""
}

func do(t *testing.T, method, url, token, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// mint returns the status and the plaintext, whichever dialect's field carries it.
func mint(t *testing.T, url, token, name string) (int, string) {
	t.Helper()
	resp := do(t, http.MethodPost, url+"/org/tokens", token, `{"name":"`+name+`"}`)
	defer resp.Body.Close()
	var body struct {
		Key       string `json:"key"`
		AuthToken string `json:"auth_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Key + body.AuthToken
}

func listLen(t *testing.T, url, token string) int {
	t.Helper()
	resp := do(t, http.MethodGet, url+"/org/tokens", token, "")
	defer resp.Body.Close()
	var body struct {
		Tokens []json.RawMessage `json:"tokens"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		t.Fatalf("list: %d", resp.StatusCode)
	}
	return len(body.Tokens)
}

// serveInBackground runs the command until the test ends and returns its URL and a stop
// function that waits for a clean exit.
func serveInBackground(t *testing.T, args []string, getenv func(string) string) (string, *lockedBuffer, func()) {
	t.Helper()
	urlFile := filepath.Join(t.TempDir(), "url")
	ctx, cancel := context.WithCancel(t.Context())
	var stderr lockedBuffer
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, append([]string{"-url-file", urlFile}, args...), getenv, &stderr) }()
	url := waitForFile(t, urlFile)
	stopped := false
	stop := func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-exited:
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("run did not stop")
		}
		if _, err := os.Stat(urlFile); !os.IsNotExist(err) {
			t.Fatalf("url file left behind after shutdown: %v", err)
		}
	}
	t.Cleanup(stop)
	return url, &stderr, stop
}

func TestRedactKeys(t *testing.T) {
	t.Parallel()
	const deployedKey = "UyJhAK6q4R_er9xO_F_vZ7vbnmzlOd6AgNPxlR6YEg0"
	cases := map[string]string{
		"/org/tokens":                           "/org/tokens",
		"/org/tokens/mola_abc123":               "/org/tokens/mola_[REDACTED]",
		"/x/mola_AbC9/y/mola_zz":                "/x/mola_[REDACTED]/y/mola_[REDACTED]",
		"/mola_":                                "/mola_",
		"/mola_/mola_TESTfakeKEYnotReal0000000": "/mola_/mola_[REDACTED]",
		// Ids stay readable; the service's keys do not.
		"/org/tokens/a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e": "/org/tokens/a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e",
		"/org/tokens/" + deployedKey:                       "/org/tokens/[REDACTED]",
		"/x/" + deployedKey + "/y?" + deployedKey:          "/x/[REDACTED]/y?[REDACTED]",
		"/" + deployedKey[:39]:                             "/" + deployedKey[:39],
	}
	for in, want := range cases {
		if got := redactKeys(in); got != want {
			t.Errorf("redactKeys(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRunRefusesBadInvocations(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-listen", "0.0.0.0:0"}, 1, "refusing"},
		{[]string{"-listen", "example.invalid:0"}, 1, "refusing"},
		{[]string{"-listen", ":0"}, 1, "refusing"},
		{[]string{"-no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"stray"}, 2, "unexpected arguments"},
		{[]string{"-dialect", "docs"}, 2, "invalid -dialect"},
		{[]string{"-build", "2026-05"}, 2, "invalid -build"},
		{[]string{"-mint-limit", "10"}, 2, "N/DURATION"},
		{[]string{"-mint-limit", "0/1h"}, 2, "N/DURATION"},
		{[]string{"-mint-limit", "10/-1h"}, 2, "N/DURATION"},
		{[]string{"-request-limit", "x/1m"}, 2, "N/DURATION"},
		{[]string{"-request-limit", "600/fortnight"}, 2, "N/DURATION"},
		{[]string{"-h"}, 0, "-url-file"},
		{[]string{"-h"}, 0, "-mint-limit"},
	}
	for _, tc := range cases {
		var stderr lockedBuffer
		if code := run(t.Context(), append(tc.args, "-admin-token", "x"), noEnv, &stderr); code != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, code, tc.code, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, stderr.String(), tc.want)
		}
	}
}

func TestRunServesLogsAndStops(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		dialect    []string
		mintStatus int
	}{
		{nil, http.StatusOK}, // the deployed service by default
		{[]string{"-dialect", "deployed"}, http.StatusOK},
		{[]string{"-dialect", "guide"}, http.StatusCreated},
	} {
		t.Run(strings.Join(append([]string{"default"}, tc.dialect...), " "), func(t *testing.T) {
			t.Parallel()
			statePath := filepath.Join(t.TempDir(), "state.json")
			const admin, orgKey = "admin-from-env", "org-key-from-env"
			getenv := func(k string) string {
				return map[string]string{envAdminToken: admin, envOrgKey: orgKey}[k]
			}
			url, stderr, stop := serveInBackground(t, append([]string{"-state", statePath, "-rate-limit", "100"}, tc.dialect...), getenv)
			if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(url) {
				t.Fatalf("url file holds %q", url)
			}
			// The deployed service's ADMIN_TOKEN mints wait for approval; the org key mints.
			status, key := mint(t, url, orgKey, "from-test")
			if status != tc.mintStatus || key == "" {
				t.Fatalf("mint: %d, want %d", status, tc.mintStatus)
			}
			if status, _ := mint(t, url, "wrong", "x"); status != http.StatusUnauthorized {
				t.Fatalf("mint with a wrong token: %d", status)
			}
			// A key in a path, as a confused client might send it, stays out of the log.
			do(t, http.MethodDelete, url+"/org/tokens/"+key, admin, "").Body.Close()
			stop()

			logs := stderr.String()
			for _, want := range []string{fmt.Sprintf(`method=POST path="/org/tokens" status=%d duration=`, tc.mintStatus), `status=401`, "listening on " + url} {
				if !strings.Contains(logs, want) {
					t.Errorf("log lacks %q:\n%s", want, logs)
				}
			}
			if strings.Contains(logs, key) || strings.Contains(logs, admin) || strings.Contains(logs, orgKey) || strings.Contains(logs, "from-test") {
				t.Fatalf("log leaks a credential or a body:\n%s", logs)
			}
			state, err := os.ReadFile(statePath)
			if err != nil || !strings.Contains(string(state), "from-test") || strings.Contains(string(state), key) {
				t.Fatalf("state file after shutdown: %v\n%s", err, state)
			}
		})
	}
}

func TestRunAppliesLimitFlags(t *testing.T) {
	t.Parallel()
	const admin, orgKey = "admin-for-limits", "org-key-for-limits"
	getenv := func(string) string { return "" }

	url, _, _ := serveInBackground(t, []string{"-admin-token", admin, "-org-key", orgKey, "-mint-limit", "2/h", "-list-cap", "1"}, getenv)
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		if status, _ := mint(t, url, orgKey, "limited"); status != want {
			t.Fatalf("mint %d: %d, want %d", i+1, status, want)
		}
	}
	if n := listLen(t, url, admin); n != 1 {
		t.Fatalf("-list-cap 1 listed %d keys", n)
	}

	url, _, _ = serveInBackground(t, []string{"-admin-token", admin, "-mint-limit", "off", "-request-limit", "off", "-list-cap", "-1", "-dialect", "guide"}, getenv)
	for i := range 15 {
		if status, _ := mint(t, url, admin, "unlimited"); status != http.StatusCreated {
			t.Fatalf("mint %d with -mint-limit off: %d", i+1, status)
		}
	}
	if n := listLen(t, url, admin); n != 16 {
		t.Fatalf("-list-cap -1 listed %d keys, want the 15 minted and the org key", n)
	}

	url, _, _ = serveInBackground(t, []string{"-admin-token", admin, "-request-limit", "2/1m"}, getenv)
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		resp := do(t, http.MethodGet, url+"/org/tokens", admin, "")
		resp.Body.Close()
		if resp.StatusCode != want || resp.Header.Get("X-RateLimit-Limit") != "2" {
			t.Fatalf("request %d: %d limit %q, want %d under 2/1m", i+1, resp.StatusCode, resp.Header.Get("X-RateLimit-Limit"), want)
		}
	}
}

// -tenant-org-id answers only requests that carry the organization's UUID; -build picks how a
// request without it is refused.
func TestRunServesAHostedTenant(t *testing.T) {
	t.Parallel()
	const admin, org = "admin-for-tenants", "5d1c1d7e-7c53-4a55-9f1e-2f4cbb0a8f01"
	for build, missing := range map[string]int{"2026-06": http.StatusBadRequest, "2026-04": http.StatusNotFound} {
		url, _, _ := serveInBackground(t, []string{"-admin-token", admin, "-tenant-org-id", org, "-build", build}, noEnv)
		for header, want := range map[string]int{"": missing, org: http.StatusOK, "00000000-0000-4000-8000-000000000000": http.StatusNotFound} {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/org/tokens", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+admin)
			if header != "" {
				req.Header.Set("X-Molecule-Org-Id", header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("-build %s, X-Molecule-Org-Id %q: %d, want %d", build, header, resp.StatusCode, want)
			}
		}
	}
}

// The flags of the June 2026 build's mint rules: who may mint, the approval gate, the ceiling.
func TestRunAppliesMintRuleFlags(t *testing.T) {
	t.Parallel()
	const admin, orgKey = "admin-for-rules", "org-key-for-rules"
	for _, tc := range []struct {
		args         []string
		token        string
		want         int
		withoutFlags int
	}{
		{[]string{"-no-platform-workspace"}, admin, http.StatusBadRequest, http.StatusAccepted},
		{[]string{"-approval-gate"}, orgKey, http.StatusAccepted, http.StatusOK},
		{[]string{"-mint-ceiling", "1"}, orgKey, http.StatusTooManyRequests, http.StatusOK}, // the org key itself fills it
	} {
		for _, flags := range [][]string{tc.args, nil} {
			url, _, _ := serveInBackground(t, append([]string{"-admin-token", admin, "-org-key", orgKey}, flags...), noEnv)
			want := tc.want
			if flags == nil {
				want = tc.withoutFlags
			}
			if status, _ := mint(t, url, tc.token, "x"); status != want {
				t.Errorf("%v: mint %d, want %d", flags, status, want)
			}
		}
	}
}

func TestLimitFlag(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]emulator.Limit{
		"off":      emulator.NoLimit,
		"OFF":      emulator.NoLimit,
		"10/1h":    {Requests: 10, Window: time.Hour},
		"10/h":     {Requests: 10, Window: time.Hour},
		"600/m":    {Requests: 600, Window: time.Minute},
		"5/90s":    {Requests: 5, Window: 90 * time.Second},
		"1/1500ms": {Requests: 1, Window: 1500 * time.Millisecond},
	} {
		var f limitFlag
		if err := f.Set(in); err != nil || f.Limit != want {
			t.Errorf("Set(%q) = %+v, %v; want %+v", in, f.Limit, err, want)
		}
	}
	for _, bad := range []string{"", "10", "/1h", "10/", "-1/1h", "0/1h", "10/0s", "10/-1h", "ten/1h", "10/1y", "on"} {
		var f limitFlag
		if err := f.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted %+v", bad, f.Limit)
		}
	}
	for l, want := range map[emulator.Limit]string{
		emulator.NoLimit:                        "off",
		{Requests: 10, Window: time.Hour}:       "10/1h",
		{Requests: 600, Window: time.Minute}:    "600/1m",
		{Requests: 5, Window: 90 * time.Second}: "5/1m30s",
	} {
		f := limitFlag{l}
		if got := f.String(); got != want {
			t.Errorf("String(%+v) = %q, want %q", l, got, want)
		}
		var back limitFlag
		if err := back.Set(want); err != nil || back.Limit != l {
			t.Errorf("Set(String()) of %+v gave %+v, %v", l, back.Limit, err)
		}
	}
}

func TestBinaryStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "molecule-emulator")
	build := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	urlFile := filepath.Join(dir, "url")
	var stderr lockedBuffer
	cmd := exec.CommandContext(t.Context(), bin, "-url-file", urlFile)
	cmd.Env = append(os.Environ(), envAdminToken+"=", envOrgKey+"=")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	url := waitForFile(t, urlFile)

	m := regexp.MustCompile(`generated admin token \(set [A-Z_]+ to choose one\): (\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no generated admin token announced:\n%s", stderr.String())
	}
	if n := listLen(t, url, m[1]); n != 1 {
		t.Fatalf("the admin token lists %d keys, want the org key", n)
	}
	k := regexp.MustCompile(`generated org key, anchored to the organization \(set MOLECULE_EMULATOR_ORG_KEY to choose one\): (\S+)`).FindStringSubmatch(stderr.String())
	if k == nil {
		t.Fatalf("no generated org key announced:\n%s", stderr.String())
	}
	if status, key := mint(t, url, k[1], "via-binary"); status != http.StatusOK || key == "" {
		t.Fatalf("mint: %d", status)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	if n := strings.Count(stderr.String(), m[1]); n != 1 {
		t.Fatalf("the generated admin token appears %d times in stderr, want once", n)
	}
}
