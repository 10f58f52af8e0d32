package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The new content arrives by rename, not by rewriting the old file in place: a second link to
// the old file keeps the old content whole, as a reader holding it open would.
func TestWriteReplacesByRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("old content"), 0o600); err != nil {
		t.Fatal(err)
	}
	held := filepath.Join(dir, "held")
	if err := os.Link(path, held); err != nil {
		t.Fatal(err)
	}

	if err := Write(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "new" {
		t.Errorf("%s holds %q, want %q", path, got, "new")
	}
	if got := readFile(t, held); got != "old content" {
		t.Errorf("the old file was changed in place to %q: a reader could have seen a torn write", got)
	}
	requireOnly(t, dir, "held", "state.json")
}

func TestWriteSetsMode(t *testing.T) {
	dir := t.TempDir()
	for _, perm := range []os.FileMode{0o600, 0o644, 0o640} {
		path := filepath.Join(dir, "out")
		if err := Write(path, []byte(perm.String()), perm); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != perm {
			t.Errorf("Write with %v made a file of mode %v", perm, got)
		}
	}
}

// The content is synced while it is still in the temporary file, so that a crash after the
// rename cannot leave path naming a file whose data never reached the disk.
func TestWriteSyncsBeforeRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "url")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	synced := 0
	syncFile = func(f *os.File) error {
		synced++
		if f.Name() == path {
			t.Errorf("synced %s itself, not a temporary file", path)
		}
		if got := readFile(t, path); got != "old" {
			t.Errorf("at the sync, %s already holds %q: it was renamed before its data was on disk", path, got)
		}
		if got := readFile(t, f.Name()); got != "new" {
			t.Errorf("the synced file holds %q, want the new content", got)
		}
		return f.Sync()
	}
	t.Cleanup(func() { syncFile = (*os.File).Sync })

	if err := Write(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if synced != 1 {
		t.Errorf("the file was synced %d times, want once", synced)
	}
	if got := readFile(t, path); got != "new" {
		t.Errorf("%s holds %q, want %q", path, got, "new")
	}
}

func TestWriteFailureLeavesFileAndNoTemporary(t *testing.T) {
	t.Run("sync fails", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "state.json")
		if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		failure := errors.New("disk full")
		syncFile = func(*os.File) error { return failure }
		t.Cleanup(func() { syncFile = (*os.File).Sync })

		if err := Write(path, []byte("new"), 0o600); !errors.Is(err, failure) {
			t.Fatalf("Write returned %v, want the sync's error", err)
		}
		if got := readFile(t, path); got != "old" {
			t.Errorf("after a failed write %s holds %q, want the old content", path, got)
		}
		requireOnly(t, dir, "state.json")
	})
	t.Run("rename fails", func(t *testing.T) {
		dir := t.TempDir()
		// A non-empty directory where the file should go: the rename cannot replace it.
		path := filepath.Join(dir, "state.json")
		if err := os.MkdirAll(filepath.Join(path, "inside"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := Write(path, []byte("new"), 0o600); err == nil {
			t.Fatal("Write over a directory succeeded")
		}
		requireOnly(t, dir, "state.json")
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// requireOnly fails unless dir holds exactly the named entries: no temporary file is left.
func requireOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Fatalf("%s holds %q, want only %q", dir, got, names)
	}
}
