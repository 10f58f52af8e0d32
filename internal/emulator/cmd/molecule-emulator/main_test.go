package main

import (
	"bytes"
	"context"
	"encoding/json"
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

func mint(t *testing.T, url, token, name string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/org/tokens", strings.NewReader(`{"name":"`+name+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Key string `json:"key"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Key
}

func TestRedactKeys(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"/org/tokens":                           "/org/tokens",
		"/org/tokens/mola_abc123":               "/org/tokens/mola_[REDACTED]",
		"/x/mola_AbC9/y/mola_zz":                "/x/mola_[REDACTED]/y/mola_[REDACTED]",
		"/mola_":                                "/mola_",
		"/mola_/mola_k7x9p2q4r8s1t3u5v6w0x2y3z": "/mola_/mola_[REDACTED]",
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
		{[]string{"-h"}, 0, "-url-file"},
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
	dir := t.TempDir()
	urlFile, statePath := filepath.Join(dir, "url"), filepath.Join(dir, "state.json")
	const admin = "admin-from-env"
	getenv := func(k string) string {
		if k == envAdminToken {
			return admin
		}
		return ""
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stderr lockedBuffer
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"-url-file", urlFile, "-state", statePath, "-rate-limit", "100"}, getenv, &stderr)
	}()

	url := waitForFile(t, urlFile)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(url) {
		t.Fatalf("url file holds %q", url)
	}
	status, key := mint(t, url, admin, "from-test")
	if status != http.StatusCreated || key == "" {
		t.Fatalf("mint: %d", status)
	}
	if status, _ := mint(t, url, "wrong", "x"); status != http.StatusUnauthorized {
		t.Fatalf("mint with a wrong token: %d", status)
	}

	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not stop")
	}

	logs := stderr.String()
	for _, want := range []string{`method=POST path="/org/tokens" status=201 duration=`, `status=401`, "listening on " + url} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, key) || strings.Contains(logs, admin) || strings.Contains(logs, "from-test") {
		t.Fatalf("log leaks a credential or a body:\n%s", logs)
	}
	if _, err := os.Stat(urlFile); !os.IsNotExist(err) {
		t.Fatalf("url file left behind after shutdown: %v", err)
	}
	state, err := os.ReadFile(statePath)
	if err != nil || !strings.Contains(string(state), "from-test") || strings.Contains(string(state), key) {
		t.Fatalf("state file after shutdown: %v\n%s", err, state)
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
	cmd.Env = append(os.Environ(), envAdminToken+"=")
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
	if status, _ := mint(t, url, m[1], "via-binary"); status != http.StatusCreated {
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
