// Package tfcli runs Terraform or OpenTofu against the provider built from this module, on this
// machine alone: it builds or finds the provider binary, lays out a filesystem mirror so that
// `terraform init` needs no registry, writes the CLI configuration that points the CLI at the
// binary, scrubs the environment the CLI runs in, and runs commands, capturing what they print.
// The demo, the benchmark, the examples check, the test matrix and the provider's CLI tests all
// drive the CLI through it. It does not import package testing: tests wrap it.
package tfcli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
)

const (
	// Namespace is the provider's namespace in a source address: molecule-ai/molecule.
	Namespace = "molecule-ai"
	// Type is the provider's type in a source address, and the local name configurations use.
	Type = "molecule"

	// BinaryName is the provider's executable, as `make build` names it and as dev_overrides
	// and filesystem mirrors expect it.
	BinaryName = "terraform-provider-" + Type

	// TerraformRegistry is the host Terraform gives a source address that names none, such as
	// "molecule-ai/molecule".
	TerraformRegistry = "registry.terraform.io"
	// OpenTofuRegistry is the host OpenTofu gives such an address.
	OpenTofuRegistry = "registry.opentofu.org"

	// MirrorVersion is the version a filesystem mirror offers the provider as. It is a
	// placeholder that satisfies any configuration without a version constraint: a CLI's
	// search for the latest version skips 0.0.0 and pre-releases.
	MirrorVersion = "0.0.1"
)

// Address is the provider's full source address under host, the form a CLI configuration
// must use: an entry for another host does not apply.
func Address(host string) string { return host + "/" + Namespace + "/" + Type }

// CLI is a Terraform-compatible binary, as it describes itself.
type CLI struct {
	Path    string // absolute
	Product string // "Terraform" or "OpenTofu"
	Version string // as the CLI prints it, without the "v": "1.11.4", "1.15.0-rc1"
}

func (c CLI) String() string { return c.Product + " " + c.Version }

// OpenTofu reports whether the CLI is OpenTofu rather than Terraform.
func (c CLI) OpenTofu() bool { return c.Product == "OpenTofu" }

// Registry is the host the CLI files a provider address without one under.
func (c CLI) Registry() string {
	if c.OpenTofu() {
		return OpenTofuRegistry
	}
	return TerraformRegistry
}

// AtLeast reports whether the CLI's version is major.minor or later; pre-releases of major.minor
// count as major.minor.
func (c CLI) AtLeast(major, minor int) bool {
	var gotMajor, gotMinor int
	if _, err := fmt.Sscanf(c.Version, "%d.%d", &gotMajor, &gotMinor); err != nil {
		return false
	}
	return gotMajor > major || gotMajor == major && gotMinor >= minor
}

// Find returns the absolute path of a CLI named by path or by a command on PATH; "" means the
// terraform on PATH.
func Find(name string) (string, error) {
	if name == "" {
		name = "terraform"
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("the CLI %q is missing (%w); install Terraform 1.10 or later (https://developer.hashicorp.com/terraform/install)", name, err)
	}
	return filepath.Abs(path)
}

// versionLine is the line of `terraform version` or `tofu version` that names the product. A CLI
// may print warnings before it, OpenTofu about its CLI configuration for one.
var versionLine = regexp.MustCompile(`(?m)^(Terraform|OpenTofu) v(\S+)`)

// Identify finds a CLI (as Find does) and asks it what it is. It runs `version` with no CLI
// configuration and the scrubbed environment of Environ: what the CLI is does not depend on
// either, and a user's configuration cannot make the answer unreadable.
func Identify(ctx context.Context, name string) (CLI, error) {
	path, err := Find(name)
	if err != nil {
		return CLI{}, err
	}
	res, err := Invocation{CLI: path, Env: Environ(os.Environ(), ""), Args: []string{"version"}}.Run(ctx)
	if err == nil && res.Code != 0 {
		err = fmt.Errorf("exited %d: %s", res.Code, res.Output)
	}
	if err != nil {
		return CLI{}, fmt.Errorf("%s version: %w", path, err)
	}
	c, ok := parseVersion(string(res.Stdout))
	if !ok {
		return CLI{}, fmt.Errorf("%s version printed no line naming Terraform or OpenTofu: %s", path, res.Output)
	}
	c.Path = path
	return c, nil
}

func parseVersion(out string) (CLI, bool) {
	m := versionLine.FindStringSubmatch(out)
	if m == nil {
		return CLI{}, false
	}
	return CLI{Product: m[1], Version: m[2]}, true
}
