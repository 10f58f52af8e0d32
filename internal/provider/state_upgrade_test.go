//go:build unix

package provider

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// stateFixtures holds one directory per earlier shape of state; testdata/state/README.md says
// what each holds and how it is made.
const stateFixtures = "testdata/state"

// fixtureState is the part of a terraform.tfstate this test reads.
type fixtureState struct {
	Resources []struct {
		Mode      string `json:"mode"`
		Type      string `json:"type"`
		Name      string `json:"name"`
		Instances []struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"instances"`
	} `json:"resources"`
}

// TestCLI_stateFromEarlierVersions runs the current provider, through the real CLI, on state that
// earlier versions wrote, against an emulator holding the organization they wrote it for. The
// provider must take it as it is: an empty plan after refresh, every attribute it had kept
// (above all the key, which exists nowhere else), no mint and no revocation.
func TestCLI_stateFromEarlierVersions(t *testing.T) {
	t.Parallel()
	dirs, err := os.ReadDir(stateFixtures)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		n++
		dir := filepath.Join(stateFixtures, d.Name())
		t.Run(d.Name(), func(t *testing.T) {
			t.Parallel()
			stateFromEarlierVersion(t, dir)
		})
	}
	if n == 0 {
		t.Fatalf("no fixtures under %s", stateFixtures)
	}
}

func stateFromEarlierVersion(t *testing.T, dir string) {
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	config, tfstate, emuState := read("main.tf"), read("tfstate.json"), read("emulator-state.json")

	// The emulator runs from a copy: it rewrites its state file, and the fixture must stay as made.
	emuPath := filepath.Join(t.TempDir(), "emulator-state.json")
	if err := os.WriteFile(emuPath, emuState, 0o600); err != nil {
		t.Fatal(err)
	}
	c := newCLIEnv(t, emulator.Options{Dialect: fixtureDialect(t, emuState), StatePath: emuPath})
	c.writeConfig(string(config))
	// As the CLI under test would have written it: OpenTofu names the provider on its own registry.
	tfstate = []byte(strings.ReplaceAll(string(tfstate), "registry.terraform.io/", c.cli.registry()+"/"))
	if err := os.WriteFile(filepath.Join(c.dir, "terraform.tfstate"), tfstate, 0o600); err != nil {
		t.Fatal(err)
	}

	var fixture fixtureState
	if err := json.Unmarshal(tfstate, &fixture); err != nil {
		t.Fatalf("%s/tfstate.json: %v", dir, err)
	}
	want := map[string]map[string]any{}
	for _, r := range fixture.Resources {
		if r.Mode != "managed" || r.Type != "molecule_org_api_key" || len(r.Instances) != 1 {
			continue
		}
		a := r.Instances[0].Attributes
		want[r.Type+"."+r.Name] = a
		if key, _ := a["key"].(string); key != "" {
			c.secrets = append(c.secrets, key)
		}
		if at, _ := a["rotate_at"].(string); at != "" {
			if due, err := time.Parse(time.RFC3339, at); err == nil && !time.Now().Before(due) {
				t.Fatalf("%s: the rotate_at of %s.%s has passed, so the key is rotated; make the fixture again", dir, r.Type, r.Name)
			}
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s/tfstate.json holds no molecule_org_api_key", dir)
	}

	if plan := c.run(nil, "plan", "-detailed-exitcode", "-input=false", "-no-color"); plan.code != 0 {
		t.Fatalf("want an empty plan (exit code 0) on state from %s\n%s", dir, plan)
	}
	// The state is then written by the current provider, and planned once more from there.
	c.mustRun(nil, "apply", "-auto-approve", "-input=false", "-no-color")
	got := map[string]stateResource{}
	for _, r := range c.managedKeys() {
		got[r.Address] = r
	}
	for _, addr := range slices.Sorted(maps.Keys(want)) {
		r, ok := got[addr]
		if !ok {
			t.Errorf("%s is no longer in state", addr)
			continue
		}
		for attr, v := range want[addr] {
			// Refreshed on every read; a change never causes a diff.
			if attr == "last_used_at" {
				continue
			}
			if !reflect.DeepEqual(r.Values[attr], v) {
				if attr == "key" {
					t.Errorf("%s.key changed", addr)
				} else {
					t.Errorf("%s.%s = %v; the earlier version wrote %v", addr, attr, r.Values[attr], v)
				}
			}
		}
	}
	if plan := c.run(nil, "plan", "-detailed-exitcode", "-input=false", "-no-color"); plan.code != 0 {
		t.Fatalf("want an empty plan (exit code 0) once the current provider has written the state\n%s", plan)
	}

	if m, r := c.emu.RequestCount(emulator.EndpointMint), c.emu.RequestCount(emulator.EndpointRevoke); m != 0 || r != 0 {
		t.Errorf("reading state from %s made %d mint and %d revoke requests; want none", dir, m, r)
	}
	if live := len(mintedKeys(c.emu)); live != len(want) {
		t.Errorf("%d live keys on the emulator; want the %d the state holds", live, len(want))
	}
	// The emulator keeps only digests: a key that still authenticates is the one minted.
	for addr, a := range want {
		key, _ := a["key"].(string)
		api, err := client.New(client.Config{Endpoint: c.emu.URL(), Token: key, UserAgent: "state-fixture"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.Snapshot(context.Background()); err != nil {
			t.Errorf("the key of %s does not authenticate: %s", addr, c.redact([]byte(err.Error())))
		}
	}
}

// fixtureDialect is the dialect of the organization in an emulator state file. Format 1 predates
// dialects and was written by the guide-only emulator.
func fixtureDialect(t *testing.T, emuState []byte) emulator.Dialect {
	t.Helper()
	var f struct {
		Format  int              `json:"format"`
		Dialect emulator.Dialect `json:"dialect"`
	}
	if err := json.Unmarshal(emuState, &f); err != nil {
		t.Fatalf("emulator-state.json: %v", err)
	}
	switch {
	case f.Format == 1:
		return emulator.DialectGuide
	case f.Dialect == "":
		return emulator.DialectDeployed
	}
	return f.Dialect
}
