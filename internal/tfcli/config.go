package tfcli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Config is a CLI configuration whose provider_installation decides where the CLI takes this
// provider from; no other installation method is configured, so no registry is ever contacted.
type Config struct {
	// Host is the registry host the CLI files the provider under (CLI.Registry); "" means the
	// Terraform registry.
	Host string
	// DevOverride, if set, is a directory holding the provider binary, which plan and apply then
	// run whatever init installed (dev_overrides). Init still needs an installation method: with
	// dev_overrides alone it would look for the provider in a registry.
	DevOverride string
	// Mirror, if set, is an unpacked filesystem mirror (WriteMirror), the only place init
	// installs the provider from. Without one, init has nowhere to install it from.
	Mirror string
}

// String is the configuration file's text.
func (c Config) String() string {
	addr := Address(c.host())
	var b strings.Builder
	b.WriteString("provider_installation {\n")
	if c.DevOverride != "" {
		fmt.Fprintf(&b, "  dev_overrides {\n    %q = %q\n  }\n", addr, c.DevOverride)
	}
	if c.Mirror != "" {
		fmt.Fprintf(&b, "  filesystem_mirror {\n    path    = %q\n    include = [%q]\n  }\n", c.Mirror, addr)
	}
	b.WriteString("}\n")
	return b.String()
}

func (c Config) host() string {
	if c.Host == "" {
		return TerraformRegistry
	}
	return c.Host
}

// Write writes the configuration to path, readable by the user only.
func (c Config) Write(path string) error {
	return os.WriteFile(path, []byte(c.String()), 0o600)
}

// MirrorPackageDir is where an unpacked filesystem mirror at root keeps the provider's binary
// for host, version and platform: root/host/molecule-ai/molecule/version/goos_goarch.
func MirrorPackageDir(root, host, version, goos, goarch string) string {
	return filepath.Join(root, filepath.FromSlash(Address(host)), version, goos+"_"+goarch)
}
