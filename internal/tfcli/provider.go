package tfcli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
)

// Locate returns the provider binary in dir, where `make build` leaves it (bin/), as an absolute
// path with symlinks resolved, or an error that says how to build it.
func Locate(dir string) (string, error) {
	abs, err := filepath.Abs(filepath.Join(dir, BinaryName))
	if err != nil {
		return "", err
	}
	exe, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("the provider is not built (run make build): %w", err)
	}
	return exe, nil
}

// Build compiles the provider of the module that holds the working directory into dir, with its
// version set as `make build` sets it, and returns the binary's path.
func Build(ctx context.Context, dir, version string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	bin := filepath.Join(dir, BinaryName)
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", "-X main.version="+version, "-o", bin, ".") //nolint:gosec // G204: go build of this module, into the caller's directory
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// WriteMirror puts the provider binary bin into an unpacked filesystem mirror at root, as
// version MirrorVersion under host for this machine's platform.
func WriteMirror(root, host string, bin []byte) error {
	dir := MirrorPackageDir(root, host, MirrorVersion, runtime.GOOS, runtime.GOARCH)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return WriteExecutable(filepath.Join(dir, BinaryName), bin)
}

// WriteExecutable writes a program that is run next. Other goroutines may start processes
// meanwhile, and a child forked while the file is open for writing keeps it open until it
// execs, so that running the program fails with "text file busy"; holding ForkLock for reading
// keeps forks out until the file is closed.
func WriteExecutable(path string, data []byte) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	return os.WriteFile(path, data, 0o700) //nolint:gosec // G306: a program, which its owner must be able to run
}

// Offline is the provider made installable with no registry: a filesystem mirror holding a copy
// of the binary, and a CLI configuration whose only installation method is that mirror.
type Offline struct {
	Exe       string // the provider binary, resolved (Locate)
	Mirror    string // the mirror's root
	CLIConfig string // the CLI configuration's path
}

// InstallOffline copies the provider binary in providerDir into a filesystem mirror under work
// (work/mirror, as the provider's version MirrorVersion under host) and writes a CLI
// configuration for it, work/cli.tfrc. With devOverrides the configuration also makes plan and
// apply run the binary in providerDir itself; init installs the copy in the mirror either way.
func InstallOffline(work, providerDir, host string, devOverrides bool) (Offline, error) {
	exe, err := Locate(providerDir)
	if err != nil {
		return Offline{}, err
	}
	bin, err := os.ReadFile(exe) //nolint:gosec // G304: the binary the developer built
	if err != nil {
		return Offline{}, err
	}
	o := Offline{Exe: exe, Mirror: filepath.Join(work, "mirror"), CLIConfig: filepath.Join(work, "cli.tfrc")}
	if err := WriteMirror(o.Mirror, host, bin); err != nil {
		return Offline{}, err
	}
	cfg := Config{Host: host, Mirror: o.Mirror}
	if devOverrides {
		// dev_overrides names a directory; the unresolved one is where the developer built it.
		if cfg.DevOverride, err = filepath.Abs(providerDir); err != nil {
			return Offline{}, err
		}
	}
	return o, cfg.Write(o.CLIConfig)
}
