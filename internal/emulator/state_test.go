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
	forEachDialect(t, func(t *testing.T, d Dialect) {
		path := filepath.Join(t.TempDir(), "org.json")
		clock := newFakeClock()
		const admin = "admin-for-state-test"

		first, err := New(aprilUnlessSet(Options{Dialect: d, AdminToken: admin, Now: clock.Now, StatePath: path}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = first.Close() })
		if err := first.Start("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		a := wrapServer(t, first)
		a.emu.AddSession("canvas", "user_7")
		parent := a.mint(admin, "parent")
		clock.Advance(time.Minute)
		child := a.mint(parent.secret(), "child")
		clock.Advance(time.Minute)
		doomed := a.mint("canvas", "doomed")
		a.revoke(child.secret(), doomed.ID)
		seeded, seededKey := a.emu.Seed(SeedKey{Name: "seeded", CreatedBy: "session:user_9", CreatedAt: clock.Now().Add(-time.Hour)})
		a.emu.Touch(seeded.ID, clock.Now())
		revokedOOB, _ := a.emu.Seed(SeedKey{Name: "revoked in canvas"})
		a.emu.Revoke(revokedOOB.ID)

		wantKeys, wantEvents := first.AllKeys(), first.Events()

		// Every mutation is on disk already, before any Close.
		peek, err := New(aprilUnlessSet(Options{Dialect: d, StatePath: path}))
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
		assertNoPlaintext(t, "the state file", data, parent.secret(), child.secret(), doomed.secret(), seededKey)
		for _, key := range []string{parent.secret(), child.secret(), doomed.secret(), seededKey} {
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

		second := StartFor(t, aprilUnlessSet(Options{Dialect: d, AdminToken: admin, Now: clock.Now, StatePath: path}))
		if !reflect.DeepEqual(second.AllKeys(), wantKeys) {
			t.Fatalf("keys after restart\n got %+v\nwant %+v", second.AllKeys(), wantKeys)
		}
		if !reflect.DeepEqual(second.Events(), wantEvents) {
			t.Fatalf("events after restart\n got %+v\nwant %+v", second.Events(), wantEvents)
		}

		b := wrapServer(t, second)
		b.expect(http.StatusOK, http.MethodGet, "/org/tokens", parent.secret(), "")
		b.expect(http.StatusOK, http.MethodGet, "/org/tokens", seededKey, "")
		b.expect(http.StatusUnauthorized, http.MethodGet, "/org/tokens", doomed.secret(), "")
		after := b.mint(child.secret(), "after restart")
		if got, _ := second.Key(after.ID); got.CreatedBy != "org-token:"+child.secret()[:8] {
			t.Fatalf("created_by after restart %q", got.CreatedBy)
		}
		if k, _ := second.Key(child.ID); k.Prefix != child.secret()[:8] {
			t.Fatalf("prefix after restart %q", k.Prefix)
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
	})
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
		if _, err := New(aprilUnlessSet(Options{StatePath: path})); err == nil {
			t.Errorf("%s: New accepted %s", name, path)
		}
	}

	// A file of one dialect is not served by the other; format 1 predates dialects and is
	// the guide's.
	legacy := write("legacy.json", `{"format": 1, "keys": [{"id": "tok_1", "name": "x", "created_by": "admin-token", "created_at": "2026-04-21T00:00:00Z", "key_sha256": "`+strings.Repeat("ab", 32)+`"}], "events": []}`)
	deployed := write("deployed.json", `{"format": 2, "dialect": "deployed", "keys": [], "events": []}`)
	for _, tc := range []struct {
		path string
		d    Dialect
		ok   bool
	}{
		{legacy, DialectDeployed, false},
		{legacy, DialectGuide, true}, // New rewrites it in the current format
		{deployed, DialectDeployed, true},
		{deployed, DialectGuide, false},
	} {
		emu, err := New(aprilUnlessSet(Options{Dialect: tc.d, StatePath: tc.path}))
		if (err == nil) != tc.ok {
			t.Errorf("%s served as %s: %v", filepath.Base(tc.path), tc.d, err)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), "dialect") {
			t.Errorf("%s served as %s: the error does not say why: %v", filepath.Base(tc.path), tc.d, err)
		}
		if err == nil {
			if err := emu.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if k, ok := mustNew(t, Options{Dialect: DialectGuide, StatePath: legacy}).Key("tok_1"); !ok || k.Prefix != "" || k.Name != "x" {
		t.Fatalf("legacy key %+v, %v", k, ok)
	}

	fresh := filepath.Join(dir, "fresh.json")
	emu, err := New(aprilUnlessSet(Options{StatePath: fresh}))
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

func mustNew(t *testing.T, opts Options) *Server {
	t.Helper()
	emu, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	return emu
}

func TestCloseReportsPersistenceFailure(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	emu, err := New(aprilUnlessSet(Options{StatePath: filepath.Join(dir, "org.json")}))
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
