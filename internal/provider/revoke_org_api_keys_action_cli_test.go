//go:build unix

package provider

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// The revoke action through the terraform CLI (1.14 or later), against an emulator of the deployed
// service or, with MOLECULE_ACC_REAL=1, the real organization: `terraform apply -invoke` and an
// action_trigger, asserting on the service what was and was not revoked.

// newActionCLI returns a CLI working directory whose provider talks to e's organization, after
// skipping when the CLI under test cannot run actions.
func newActionCLI(t *testing.T) (*cliEnv, *testEnv) {
	t.Helper()
	// Decide whether to skip before newCLIEnv builds the provider.
	if os.Getenv("TF_ACC") == "" {
		t.Skip("runs the terraform CLI; set TF_ACC=1 (make test does)")
	}
	requireCLI(t, featureActions)
	c := newCLIEnv(t, emulator.Options{})
	e := newTestEnv(t)
	var env []string
	for _, kv := range c.env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case envEndpoint, envAdminToken, envOrgToken:
			continue
		case "HTTP_PROXY", "HTTPS_PROXY":
			// The harness blocks everything beyond loopback; a real organization may be beyond it.
			if e.emu == nil && !loopbackURL(e.endpoint) {
				continue
			}
		}
		env = append(env, kv)
	}
	env = append(env, envEndpoint+"="+e.endpoint, envAdminToken+"="+e.token)
	c.env = env
	c.emu, c.secrets = e.emu, []string{e.token}
	return c, e
}

func loopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == "localhost" || ip != nil && ip.IsLoopback()
}

// cliSecrets are the credential and the plaintexts, as leaks looks for them.
func cliSecrets(credential string, plaintexts []string) []secret {
	out := secretsOf("the provider's credential", credential)
	for i, p := range plaintexts {
		out = append(out, secretsOf(fmt.Sprintf("plaintext #%d", i+1), p)...)
	}
	return out
}

func (c *cliEnv) requireNoLeaks(t *testing.T, secrets []secret, runs map[string]cliResult, logs ...string) {
	t.Helper()
	var found []string
	for name, res := range runs {
		found = append(found, leaks(name+" stdout", res.stdout, secrets)...)
		found = append(found, leaks(name+" stderr", res.stderr, secrets)...)
	}
	for _, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, leaks(filepath.Base(path), data, secrets)...)
	}
	if len(found) > 0 {
		t.Errorf("secrets were written to the console or logs:\n  %s", strings.Join(found, "\n  "))
	}
}

func requireOutput(t *testing.T, res cliResult, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(string(res.stdout), l) {
			t.Errorf("the output lacks %q\n%s", l, res)
		}
	}
}

const revokeInvokeConfig = `
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

variable "dry_run" {
  type    = bool
  default = false
}

action "molecule_revoke_org_api_keys" "incident" {
  config {
    ids     = [%q]
    cascade = true
    dry_run = var.dry_run
  }
}
`

// TestAccRevokeOrgAPIKeysAction_invoke runs `terraform apply -invoke` on a tree of keys, first as
// a dry run: the leaked key and every key it minted, transitively, are revoked and nothing else.
func TestAccRevokeOrgAPIKeysAction_invoke(t *testing.T) {
	t.Parallel()
	c, e := newActionCLI(t)
	tree := e.mintTree("cli")
	c.writeConfig(fmt.Sprintf(revokeInvokeConfig, tree.a.ID))
	const addr = "action.molecule_revoke_org_api_keys.incident"
	const from = "Action " + addr + " (triggered by CLI): "
	invoke := []string{"apply", "-invoke=" + addr, "-auto-approve", "-input=false", "-no-color"}
	incident := []client.Token{tree.a, tree.b, tree.c, tree.d}

	dry := c.mustRun(nil, append(invoke, "-var", "dry_run=true")...)
	for _, k := range append(incident, tree.x, tree.y) {
		if !e.isLive(k.ID) {
			t.Fatalf("the dry run revoked key %s (%q)", k.ID, k.Name)
		}
	}
	for _, k := range incident {
		requireOutput(t, dry, from+"Dry run: would revoke key "+k.ID)
	}
	requireOutput(t, dry, from+"Dry run: 4 keys would be revoked; nothing was revoked.")

	logPath := filepath.Join(t.TempDir(), "invoke.log")
	res := c.mustRun([]string{"TF_LOG=DEBUG", "TF_LOG_PATH=" + logPath}, invoke...)
	for _, k := range incident {
		if e.isLive(k.ID) {
			t.Errorf("key %s (%q) of the incident is still live", k.ID, k.Name)
		}
	}
	for _, k := range []client.Token{tree.x, tree.y} {
		if !e.isLive(k.ID) {
			t.Errorf("bystander key %s (%q) was revoked", k.ID, k.Name)
		}
	}
	requireOutput(t, res,
		from+"Revoked key "+tree.a.ID, "selected by explicit id",
		from+"Revoked key "+tree.b.ID, from+"Revoked key "+tree.c.ID, "minted by key "+tree.a.ID,
		from+"Revoked key "+tree.d.ID, "minted by key "+tree.b.ID,
		from+"Summary: 4 keys selected; 4 revoked, 0 already not live, 0 failed.",
		"Actions: 1 invoked.")
	c.requireNoLeaks(t, cliSecrets(e.token, tree.secrets), map[string]cliResult{"dry run": dry, "invoke": res}, logPath)
}

const revokeTriggerConfig = `
terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

action "molecule_revoke_org_api_keys" "cleanup" {
  config {
    name_prefix = %q
  }
}

resource "terraform_data" "incident" {
  input = "INC-1"

  lifecycle {
    action_trigger {
      events  = [after_create]
      actions = [action.molecule_revoke_org_api_keys.cleanup]
    }
  }
}
`

// TestAccRevokeOrgAPIKeysAction_actionTrigger invokes the action from a resource's lifecycle:
// creating the resource revokes the keys the filter selects, and a later apply with nothing to
// create invokes nothing.
func TestAccRevokeOrgAPIKeysAction_actionTrigger(t *testing.T) {
	t.Parallel()
	c, e := newActionCLI(t)
	prefix := e.name("trigger") + "-"
	k1, p1 := e.seedWithSecret(prefix + "1")
	k2, p2 := e.seedWithSecret(prefix + "2")
	bystander, p3 := e.seedWithSecret(e.name("trigger-bystander"))
	c.writeConfig(fmt.Sprintf(revokeTriggerConfig, prefix))
	const from = "Action action.molecule_revoke_org_api_keys.cleanup (triggered by terraform_data.incident): "
	apply := []string{"apply", "-auto-approve", "-input=false", "-no-color"}

	res := c.mustRun(nil, apply...)
	if e.isLive(k1.ID) || e.isLive(k2.ID) {
		t.Errorf("the keys the filter selects are still live\n%s", res)
	}
	if !e.isLive(bystander.ID) {
		t.Errorf("key %s, which the filter does not select, was revoked", bystander.ID)
	}
	requireOutput(t, res,
		from+"Revoked key "+k1.ID, from+"Revoked key "+k2.ID, fmt.Sprintf("selected by filter name_prefix = %q", prefix),
		from+"Summary: 2 keys selected; 2 revoked, 0 already not live, 0 failed.",
		"Resources: 1 added, 0 changed, 0 destroyed. Actions: 1 invoked.")

	again := c.mustRun(nil, apply...)
	if strings.Contains(string(again.stdout), "Action started") {
		t.Errorf("an apply that creates nothing invoked the after_create action\n%s", again)
	}
	if !e.isLive(bystander.ID) {
		t.Errorf("key %s was revoked by the second apply", bystander.ID)
	}
	if r := c.state(); !slices.ContainsFunc(r, func(s stateResource) bool { return s.Address == "terraform_data.incident" }) {
		t.Errorf("terraform_data.incident is not in state")
	}
	c.requireNoLeaks(t, cliSecrets(e.token, []string{p1, p2, p3}), map[string]cliResult{"apply": res, "second apply": again})
}
