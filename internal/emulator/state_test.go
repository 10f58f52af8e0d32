package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "org.json")
	clock := newFakeClock()
	const admin = "admin-for-state-test"

	first, err := New(Options{AdminToken: admin, Now: clock.Now, StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = first.Close() })
	if err := first.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	a := &testAPI{t: t, emu: first, hc: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	a.emu.AddSession("canvas", "user_7")
	parent := a.mint(admin, "parent")
	clock.Advance(time.Minute)
	child := a.mint(parent.Key, "child")
	clock.Advance(time.Minute)
	doomed := a.mint("canvas", "doomed")
	a.expect(http.StatusNoContent, http.MethodDelete, "/org/tokens/"+doomed.ID, child.Key, "")
	seeded, seededKey := a.emu.Seed(SeedKey{Name: "seeded", CreatedBy: "session:user_9", CreatedAt: clock.Now().Add(-time.Hour)})
	a.emu.Touch(seeded.ID, clock.Now())
	revokedOOB, _ := a.emu.Seed(SeedKey{Name: "revoked in canvas"})
	a.emu.Revoke(revokedOOB.ID)

	wantKeys, wantEvents := first.AllKeys(), first.Events()

	// Every mutation is on disk already, before any Close.
	peek, err := New(Options{StatePath: path})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(peek.AllKeys(), wantKeys) {
		t.Fatalf("state on disk before Close\n got %+v\nwant %+v", peek.AllKeys(), wantKeys)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if plaintextPattern.Match(data) {
		t.Fatal("the state file contains a plaintext key")
	}
	for _, key := range []string{parent.Key, child.Key, doomed.Key, seededKey} {
		sum := sha256.Sum256([]byte(key))
		if strings.Contains(string(data), key) || !strings.Contains(string(data), hex.EncodeToString(sum[:])) {
			t.Fatal("the state file must hold each key's SHA-256 and never the key")
		}
	}
	if strings.Contains(string(data), admin) {
		t.Fatal("the state file contains the admin token")
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v (%v), want 0600", info.Mode().Perm(), err)
	}

	second := NewTestServer(t, Options{AdminToken: admin, Now: clock.Now, StatePath: path})
	if !reflect.DeepEqual(second.AllKeys(), wantKeys) {
		t.Fatalf("keys after restart\n got %+v\nwant %+v", second.AllKeys(), wantKeys)
	}
	if !reflect.DeepEqual(second.Events(), wantEvents) {
		t.Fatalf("events after restart\n got %+v\nwant %+v", second.Events(), wantEvents)
	}

	b := &testAPI{t: t, emu: second, hc: a.hc}
	b.expect(http.StatusOK, http.MethodGet, "/org/tokens", parent.Key, "")
	b.expect(http.StatusOK, http.MethodGet, "/org/tokens", seededKey, "")
	b.expect(http.StatusUnauthorized, http.MethodGet, "/org/tokens", doomed.Key, "")
	if got := b.mint(child.Key, "after restart"); got.CreatedBy != "org-token:"+child.Key[:8] {
		t.Fatalf("created_by after restart %q", got.CreatedBy)
	}
	if n := len(second.Events()); n != len(wantEvents)+1 || second.Events()[n-1].Seq != n {
		t.Fatalf("event numbering did not continue: %+v", second.Events())
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("temporary files left next to the state: %v", entries)
	}
}

func TestStateFileProblems(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := map[string]string{
		"garbage":       write("garbage.json", "{not json"),
		"future format": write("future.json", `{"format": 99, "keys": [], "events": []}`),
		"bad digest":    write("digest.json", `{"format": 1, "keys": [{"id": "tok_1", "name": "x", "created_by": "admin-token", "created_at": "2026-04-21T00:00:00Z", "key_sha256": "abc"}], "events": []}`),
		"duplicate id": write("dup.json", `{"format": 1, "keys": [`+
			`{"id": "tok_1", "name": "x", "created_by": "admin-token", "created_at": "2026-04-21T00:00:00Z", "key_sha256": "`+strings.Repeat("ab", 32)+`"},`+
			`{"id": "tok_1", "name": "y", "created_by": "admin-token", "created_at": "2026-04-21T00:00:00Z", "key_sha256": "`+strings.Repeat("cd", 32)+`"}], "events": []}`),
		"unwritable": filepath.Join(dir, "missing-dir", "state.json"),
	}
	for name, path := range bad {
		if _, err := New(Options{StatePath: path}); err == nil {
			t.Errorf("%s: New accepted %s", name, path)
		}
	}

	fresh := filepath.Join(dir, "fresh.json")
	emu, err := New(Options{StatePath: fresh})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatalf("New did not create the state file: %v", err)
	}
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseReportsPersistenceFailure(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	emu, err := New(Options{StatePath: filepath.Join(dir, "org.json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	emu.Seed(SeedKey{Name: "cannot be saved"})
	if err := emu.Close(); err == nil {
		t.Fatal("Close hid a failure to save state")
	}
}
