package tfcli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestConfigString(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"dev_overrides and mirror": {
			Config{DevOverride: "/src/bin", Mirror: "/tmp/w/mirror"},
			`provider_installation {
  dev_overrides {
    "registry.terraform.io/molecule-ai/molecule" = "/src/bin"
  }
  filesystem_mirror {
    path    = "/tmp/w/mirror"
    include = ["registry.terraform.io/molecule-ai/molecule"]
  }
}
`,
		},
		"mirror only": {
			Config{Mirror: "/tmp/w/mirror"},
			`provider_installation {
  filesystem_mirror {
    path    = "/tmp/w/mirror"
    include = ["registry.terraform.io/molecule-ai/molecule"]
  }
}
`,
		},
		// OpenTofu files the provider under its own registry, and ignores an entry for another.
		"dev_overrides on OpenTofu": {
			Config{Host: OpenTofuRegistry, DevOverride: `/src/with "quotes"`},
			`provider_installation {
  dev_overrides {
    "registry.opentofu.org/molecule-ai/molecule" = "/src/with \"quotes\""
  }
}
`,
		},
		// Nothing configured: init cannot install the provider from anywhere.
		"nothing": {Config{}, "provider_installation {\n}\n"},
	} {
		if got := tc.cfg.String(); got != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", name, got, tc.want)
		}
	}
}

func TestConfigWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cli.tfrc")
	cfg := Config{Mirror: "/m"}
	if err := cfg.Write(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != cfg.String() {
		t.Errorf("wrote\n%s\nwant\n%s", b, cfg.String())
	}
	requireMode(t, path, 0o600)
}

// The unpacked layout a CLI reads a filesystem mirror in: HOSTNAME/NAMESPACE/TYPE/VERSION/TARGET.
func TestMirrorPackageDir(t *testing.T) {
	for _, tc := range []struct {
		host, version, goos, goarch, want string
	}{
		{TerraformRegistry, "0.0.1", "linux", "amd64", "/m/registry.terraform.io/molecule-ai/molecule/0.0.1/linux_amd64"},
		{OpenTofuRegistry, "1.2.3-rc1", "darwin", "arm64", "/m/registry.opentofu.org/molecule-ai/molecule/1.2.3-rc1/darwin_arm64"},
	} {
		if got := MirrorPackageDir("/m", tc.host, tc.version, tc.goos, tc.goarch); got != filepath.FromSlash(tc.want) {
			t.Errorf("MirrorPackageDir(%s, %s, %s_%s) = %s, want %s", tc.host, tc.version, tc.goos, tc.goarch, got, tc.want)
		}
	}
}

func TestInstallOffline(t *testing.T) {
	work, providerDir := t.TempDir(), t.TempDir()
	if _, err := InstallOffline(work, providerDir, TerraformRegistry, false); err == nil {
		t.Fatal("InstallOffline succeeded without a built provider")
	} else if want := "the provider is not built (run make build)"; !strings.Contains(err.Error(), want) {
		t.Errorf("the error %q does not say %q", err, want)
	}

	bin := []byte("#!/bin/sh\n# a provider\n")
	if err := os.WriteFile(filepath.Join(providerDir, BinaryName), bin, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, devOverrides := range []bool{false, true} {
		work := filepath.Join(work, map[bool]string{false: "plain", true: "dev"}[devOverrides])
		if err := os.Mkdir(work, 0o700); err != nil {
			t.Fatal(err)
		}
		o, err := InstallOffline(work, providerDir, OpenTofuRegistry, devOverrides)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := filepath.EvalSymlinks(filepath.Join(providerDir, BinaryName)); o.Exe != want {
			t.Errorf("Exe = %s, want %s", o.Exe, want)
		}
		copied := filepath.Join(MirrorPackageDir(o.Mirror, OpenTofuRegistry, MirrorVersion, runtime.GOOS, runtime.GOARCH), BinaryName)
		if got, err := os.ReadFile(copied); err != nil || string(got) != string(bin) {
			t.Errorf("the mirror does not hold the provider at %s (%v)", copied, err)
		}
		requireMode(t, copied, 0o700)
		want := Config{Host: OpenTofuRegistry, Mirror: filepath.Join(work, "mirror")}
		if devOverrides {
			want.DevOverride = providerDir
		}
		if got, _ := os.ReadFile(o.CLIConfig); string(got) != want.String() {
			t.Errorf("devOverrides %v: the CLI configuration is\n%s\nwant\n%s", devOverrides, got, want)
		}
	}
}

func requireMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %v, want %v", path, got, want)
	}
}
