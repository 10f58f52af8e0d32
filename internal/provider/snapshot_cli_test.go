//go:build unix

package provider

import (
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// One terraform plan over many keys, with both data sources reading too, makes exactly one list
// request: every read in the provider process shares one snapshot.
func TestCLI_planListsOnce(t *testing.T) {
	t.Parallel()
	// Six times Terraform's parallelism, so that the refreshes run in several waves; make bench
	// counts the lists of plans over 1,000 keys.
	const n = 60
	// The service's limits are off: this counts requests, and 60 mints exceed the hour's quota.
	c := newCLIEnv(t, emulator.Options{OrgKey: newCanary(), MintLimit: emulator.NoLimit, RequestLimit: emulator.NoLimit, MintCeiling: -1})
	prefix := testKeyPrefix + "snap-" + acctest.RandString(6) + "-"
	c.writeConfig(fmt.Sprintf(`
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

resource "molecule_org_api_key" "many" {
  count = %d
  name  = "%s${count.index}"
}

data "molecule_org_api_keys" "all" {
  name_prefix = %q
}

data "molecule_org_api_key" "first" {
  name = "%s0"
}
`, n, prefix, prefix, prefix))
	// The data sources read at plan time, before any key exists, so the first apply needs the
	// keys first.
	c.mustRun(nil, "apply", "-auto-approve", "-input=false", "-no-color", "-target=molecule_org_api_key.many")
	c.mustRun(nil, "apply", "-auto-approve", "-input=false", "-no-color")

	c.emu.ResetCounts()
	if res := c.run(nil, "plan", "-detailed-exitcode", "-input=false", "-no-color"); res.code != 0 {
		t.Fatalf("want an empty plan: %s", res)
	}
	counts := c.emu.RequestCounts()
	if counts[emulator.EndpointList] != 1 || counts[emulator.EndpointMint] != 0 || counts[emulator.EndpointRevoke] != 0 {
		t.Fatalf("a plan refreshing %d keys and reading 2 data sources made %v requests; want exactly 1 list", n, counts)
	}

	c.emu.ResetCounts()
	c.mustRun(nil, "destroy", "-auto-approve", "-input=false", "-no-color")
	counts = c.emu.RequestCounts()
	if counts[emulator.EndpointRevoke] != n || counts[emulator.EndpointList] != 1 {
		t.Fatalf("destroy of %d keys made %v requests; want %d revokes and 1 list (its refresh)", n, counts, n)
	}
	if live := len(mintedKeys(c.emu)); live != 0 {
		t.Fatalf("%d keys live after destroy", live)
	}
}
