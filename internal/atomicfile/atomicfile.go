// Package atomicfile replaces files so that a reader, or a crash, sees either the old content or
// the new, never a torn write.
package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// syncFile is (*os.File).Sync; a test replaces it to see when it runs.
var syncFile = (*os.File).Sync

// Write replaces path with data and gives it perm (the umask does not apply). The data goes to
// a temporary file in the same directory, which is synced to disk and then renamed over path, so
// that the rename never exposes a file whose content is still in flight. On any error path is
// left as it was and the temporary file is removed.
func Write(path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(perm); err != nil {
		return err
	}
	if err = syncFile(tmp); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Syncing the directory makes the rename itself durable. Some platforms cannot, which only
	// weakens crash safety, so that error is ignored.
	if d, derr := os.Open(dir); derr == nil { //nolint:gosec // G304: the directory of the file the caller names
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
