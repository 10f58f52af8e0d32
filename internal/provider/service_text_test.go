package provider

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// Names Canvas accepts and the provider would not mint: each must be adoptable, findable and
// shown without reaching the terminal raw.
var typedNames = []struct{ label, name, shown string }{
	{"tab", "tab\there", `tab\there`},
	{"blank", "   ", "   "},
	{"escape", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
	{"newline", "ok\nForged: line", `ok\nForged: line`},
	{"bidi", "abc\u202edcba", `abc\u202edcba`},
}

// Bytes that are not UTF-8 never reach the provider from the service (a JSON decoder replaces
// them), but an id typed into configuration may hold anything.
const badUTF8, badUTF8Shown = "caf\xe9", `caf\xe9`

func TestPrintable(t *testing.T) {
	t.Parallel()
	for _, tc := range typedNames {
		if got := printable(tc.name); got != tc.shown {
			t.Errorf("%s: printable(%q) = %q, want %q", tc.label, tc.name, got, tc.shown)
		}
		if got := keyDisplayName(client.Token{ID: "id", Name: tc.name}); got != tc.shown {
			t.Errorf("%s: the list shows %q, want %q", tc.label, got, tc.shown)
		}
	}
	if got := printable(badUTF8); got != badUTF8Shown {
		t.Errorf("printable(%q) = %q, want %q", badUTF8, got, badUTF8Shown)
	}
	for _, s := range []string{"ci-bot", "é ü 日本", "a b", `back\slash`} {
		if got := printable(s); got != s {
			t.Errorf("printable(%q) = %q, want it unchanged", s, got)
		}
	}
	raw := func(s string) bool {
		return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0
	}
	for _, tok := range []client.Token{{ID: "\x1b]0;x\a"}, {ID: "id", Prefix: "\x9b2J"}, {ID: "\x1b[2J", Name: "a\nb"}} {
		if got := keyDisplayName(tok); raw(got) {
			t.Errorf("the list shows %q raw", got)
		}
		if got := describeKey(tok); raw(got) {
			t.Errorf("diagnostics show %q raw", got)
		}
	}
}

// hclString writes s as an HCL quoted string that reads back as s exactly.
func hclString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteRune('\\')
			b.WriteRune(r)
		case r == '$' || r == '%':
			b.WriteRune(r) // names here hold no "${" or "%{"
		case r < utf8.RuneSelf && r >= 0x20 && r != 0x7f:
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// TestCLI_terraformQueryAnyName adopts keys whose names only Canvas gives, with the real CLI:
// terraform query shows them escaped, writes configuration that imports them with an empty plan
// after, dropping name from that configuration keeps the keys, and a new name the service would
// refuse fails at plan, before the replacement could revoke anything.
func TestCLI_terraformQueryAnyName(t *testing.T) {
	requireCLI(t, featureQuery)
	t.Parallel()
	c := newCLIEnv(t, emulator.Options{})
	ids := map[string]string{}
	for _, tc := range typedNames {
		k, _ := c.emu.Seed(emulator.SeedKey{Name: tc.name, OrgID: c.emu.OrganizationID()})
		ids[k.ID] = tc.name
	}
	c.writeConfig(cliProviderOnly)
	query := "list \"molecule_org_api_key\" \"all\" {\n  provider         = molecule\n  include_resource = true\n\n  config {\n    created_by = \"admin-token\"\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(c.dir, "all.tfquery.hcl"), []byte(query), 0o600); err != nil {
		t.Fatal(err)
	}

	res := c.mustRun(nil, "query", "-generate-config-out=generated.tf", "-no-color")
	if i := bytes.IndexFunc(res.stdout, func(r rune) bool { return r != '\n' && !unicode.IsPrint(r) }); i >= 0 {
		t.Errorf("terraform query printed a control character raw at byte %d:\n%q", i, res.stdout)
	}
	if regexp.MustCompile(`(?m)^Forged: line`).Match(res.stdout) {
		t.Errorf("a name's newline forged a line of terraform query's output:\n%s", res.stdout)
	}
	for _, tc := range typedNames {
		if !bytes.Contains(res.stdout, []byte(tc.shown)) {
			t.Errorf("terraform query does not show the %s name as %s\n%s", tc.label, tc.shown, res)
		}
	}
	generated, err := os.ReadFile(filepath.Join(c.dir, "generated.tf"))
	if err != nil {
		t.Fatalf("terraform query wrote no configuration: %v\n%s", err, res)
	}

	apply := c.mustRun(nil, "apply", "-auto-approve", "-input=false", "-no-color")
	if want := fmt.Sprintf("%d imported, 0 added, 0 changed, 0 destroyed", len(ids)); !strings.Contains(string(apply.stdout), want) {
		t.Fatalf("the apply did not only import (want %q)\n%s\n%s", want, apply, generated)
	}
	keys := c.managedKeys()
	if len(keys) != len(ids) {
		t.Errorf("%d keys in state, want %d", len(keys), len(ids))
	}
	for _, r := range keys {
		id, _ := r.Values["id"].(string)
		if name, _ := r.Values["name"].(string); name != ids[id] {
			t.Errorf("%s (key %s) holds the name %q, want %q", r.Address, id, name, ids[id])
		}
	}
	if plan := c.run(nil, "plan", "-detailed-exitcode", "-input=false", "-no-color"); plan.code != 0 {
		t.Fatalf("want an empty plan after the import (exit code 0)\n%s", plan)
	}

	// Configuration that leaves name out keeps each key as it is.
	nameLine := regexp.MustCompile(`(?m)^\s*name\s*=.*\n`)
	if n := len(nameLine.FindAll(generated, -1)); n != len(ids) {
		t.Fatalf("the generated configuration sets %d names, want %d:\n%s", n, len(ids), generated)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "generated.tf"), nameLine.ReplaceAll(generated, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if plan := c.run(nil, "plan", "-detailed-exitcode", "-input=false", "-no-color"); plan.code != 0 {
		t.Fatalf("want an empty plan without name (exit code 0)\n%s", plan)
	}

	// A new name is a new key: one the service would refuse fails the plan, so the replacement
	// never revokes the key it would have replaced.
	first := nameLine.FindIndex(generated)
	renamed := string(generated[:first[0]]) + "  name = \"bad\\u0007name\"\n" + string(generated[first[1]:])
	if err := os.WriteFile(filepath.Join(c.dir, "generated.tf"), []byte(renamed), 0o600); err != nil {
		t.Fatal(err)
	}
	c.emu.ResetCounts()
	apply = c.run(nil, "apply", "-auto-approve", "-input=false", "-no-color")
	if apply.code == 0 || !strings.Contains(string(apply.stderr), "Invalid Org API Key Name") {
		t.Fatalf("renaming a key to a name the service refuses did not fail the plan\n%s", apply)
	}
	counts := c.emu.RequestCounts()
	if counts[emulator.EndpointMint] != 0 || counts[emulator.EndpointRevoke] != 0 {
		t.Errorf("the refused rename made %d mint and %d revoke requests, want none", counts[emulator.EndpointMint], counts[emulator.EndpointRevoke])
	}
	for id := range ids {
		if !c.emu.IsLive(id) {
			t.Errorf("key %s was revoked", id)
		}
	}
}

// A key with any name the service holds is found by that name and imported by its id (import
// blocks, one Terraform run for every name), with an empty plan after.
func TestAccOrgAPIKeyResource_importAnyName(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	var lookups, imports, resources strings.Builder
	var found []statecheck.StateCheck
	var noops []plancheck.PlanCheck
	var importedAsListed []tfresource.TestCheckFunc
	var requests *requestCounter // taken once every key is seeded
	for _, tc := range typedNames {
		k := e.seed(tc.name)
		addr := "molecule_org_api_key." + tc.label
		fmt.Fprintf(&lookups, "data \"molecule_org_api_key\" %q {\n  name = %s\n}\n", tc.label, hclString(tc.name))
		fmt.Fprintf(&resources, "resource \"molecule_org_api_key\" %q {\n  name = %s\n}\n", tc.label, hclString(tc.name))
		fmt.Fprintf(&imports, "import {\n  to = %s\n  id = %q\n}\n", addr, k.ID)
		found = append(found, statecheck.ExpectKnownValue("data."+addr, tfjsonpath.New("id"), knownvalue.StringExact(k.ID)))
		noops = append(noops, plancheck.ExpectResourceAction(addr, plancheck.ResourceActionNoop))
		importedAsListed = append(importedAsListed, func(s *terraform.State) error {
			rs, ok := s.RootModule().Resources[addr]
			if !ok {
				return fmt.Errorf("%s (%s) is not in state", addr, tc.label)
			}
			return e.expectImported(k, requests)([]*terraform.InstanceState{rs.Primary})
		})
	}
	requests = e.countRequests()
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{
			{Config: lookups.String(), ConfigStateChecks: found},
			{
				Config:           resources.String() + imports.String(),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: noops},
				Check:            tfresource.ComposeAggregateTestCheckFunc(append(importedAsListed, untouchedSince(requests, "the imports"))...),
			},
			{
				Config:           resources.String(),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}
