package provider

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/hashicorp/go-version"

	"github.com/molecule-ai/terraform-provider-molecule/internal/tfcli"
)

// The acceptance suite runs on several CLIs (make testacc-matrix): Terraform 1.11, Terraform 1.16
// and OpenTofu 1.12. A test of a feature that the CLI under test lacks skips, naming the CLI and
// the feature; requireCLI decides by capability, from the binary's own version output.

// cliInfo is what the CLI under test (TF_ACC_TERRAFORM_PATH) says about itself.
type cliInfo struct {
	Path     string
	OpenTofu bool
	Version  *version.Version
	cli      tfcli.CLI
}

func (c cliInfo) String() string { return c.cli.String() }

var (
	cliOnce sync.Once
	cliSeen cliInfo
	cliErr  error
)

// testCLI returns the CLI under test, asking it once per test binary.
func testCLI(t *testing.T) cliInfo {
	t.Helper()
	cliOnce.Do(func() {
		// Asked once per test binary, outside any one test's lifetime.
		c, err := tfcli.Identify(context.Background(), os.Getenv("TF_ACC_TERRAFORM_PATH"))
		if err != nil {
			cliErr = err
			return
		}
		cliSeen = cliInfo{Path: c.Path, OpenTofu: c.OpenTofu(), cli: c}
		cliSeen.Version, cliErr = version.NewVersion(c.Version)
	})
	if cliErr != nil {
		t.Fatalf("cannot tell which CLI runs the tests: %v", cliErr)
	}
	return cliSeen
}

// registry is the host the CLI gives a provider source address that names none, such as
// "molecule-ai/molecule". A CLI configuration has to name the provider by that full address:
// an entry for another host does not apply, and the CLI then looks for the provider in a lock
// file that `init` never wrote.
func (c cliInfo) registry() string { return c.cli.Registry() }

// cliFeature is something only some CLIs can do.
type cliFeature struct {
	name      string
	terraform string // first Terraform version with it; "" => none
	openTofu  string // first OpenTofu version with it; "" => none
}

var (
	featureIdentity = cliFeature{name: "resource identity", terraform: "1.12.0", openTofu: "1.12.0"}
	featureQuery    = cliFeature{name: "terraform query (list resources)", terraform: "1.14.0"}
	featureActions  = cliFeature{name: "actions (terraform apply -invoke)", terraform: "1.14.0"}
)

// supports reports whether the CLI has the feature.
func (c cliInfo) supports(f cliFeature) bool {
	first := f.terraform
	if c.OpenTofu {
		first = f.openTofu
	}
	return first != "" && c.Version.Core().GreaterThanOrEqual(version.Must(version.NewVersion(first)))
}

// requireCLI skips the test, saying why, when the CLI under test lacks the feature.
func requireCLI(t *testing.T, f cliFeature) cliInfo {
	t.Helper()
	c := testCLI(t)
	if !c.supports(f) {
		since := "no version of it"
		if first := map[bool]string{false: f.terraform, true: f.openTofu}[c.OpenTofu]; first != "" {
			since = "it since " + first
		}
		t.Skipf("%s cannot do %s (%s has %s); make testacc-matrix runs this test on a CLI that can", c, f.name,
			map[bool]string{false: "Terraform", true: "OpenTofu"}[c.OpenTofu], since)
	}
	return c
}
