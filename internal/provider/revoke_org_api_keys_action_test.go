package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// These tests call the action's methods directly, as the framework would, against an emulator.
// The CLI tests (revoke_org_api_keys_action_cli_test.go) run it through Terraform.

// mintWith mints a key with another key as the credential, as a script holding that key would:
// the service records the minting key's prefix in the new key's created_by.
func (e *testEnv) mintWith(credential, name string) (client.Token, string) {
	e.t.Helper()
	c, err := client.New(client.Config{Endpoint: e.endpoint, Token: credential, UserAgent: "molecule-acc-test", MaxRetries: 2})
	if err != nil {
		e.t.Fatal(err)
	}
	m, _, err := c.MintReconciled(context.Background(), name, client.MintOptions{})
	if err != nil {
		e.t.Fatalf("minting %q with another key: %v", name, err)
	}
	e.t.Cleanup(func() { _ = e.api.Revoke(context.Background(), m.ID) })
	return m.Token, m.Key
}

// keyTree is the incident the cascade tests revoke: admin → a → {b, c}, b → d. x → y is a
// bystander tree of the same shape that must survive.
type keyTree struct {
	a, b, c, d, x, y client.Token
	// secrets are the plaintexts of all six keys.
	secrets []string
}

func (e *testEnv) mintTree(label string) keyTree {
	e.t.Helper()
	var k keyTree
	var aKey, bKey, cKey, dKey, xKey, yKey string
	k.a, aKey = e.seedWithSecret(e.name(label + "-a"))
	k.b, bKey = e.mintWith(aKey, e.name(label+"-b"))
	k.c, cKey = e.mintWith(aKey, e.name(label+"-c"))
	k.d, dKey = e.mintWith(bKey, e.name(label+"-d"))
	k.x, xKey = e.seedWithSecret(e.name(label + "-x"))
	k.y, yKey = e.mintWith(xKey, e.name(label+"-y"))
	k.secrets = []string{aKey, bKey, cKey, dKey, xKey, yKey}
	return k
}

// revokeHarness is a revoke action configured as Terraform would configure it.
type revokeHarness struct {
	e      *testEnv
	action *revokeOrgAPIKeysAction
	// secrets are values no event or diagnostic may contain.
	secrets []string
}

// newRevokeHarness configures the provider through its own Configure, with credential as the
// org token (the environment's admin token when ""), and hands the action what Configure gave
// actions: a provider that forgot ActionData fails here.
func newRevokeHarness(t *testing.T, e *testEnv, credential string) *revokeHarness {
	t.Helper()
	ctx := context.Background()
	env := e.env()
	if credential != "" {
		env[envOrgToken] = credential
	} else {
		credential = e.token
	}
	conf := e.configured(env)
	if conf.Diagnostics.HasError() {
		t.Fatalf("configuring the provider: %v", conf.Diagnostics)
	}
	a, ok := NewRevokeOrgAPIKeysAction().(*revokeOrgAPIKeysAction)
	if !ok {
		t.Fatal("NewRevokeOrgAPIKeysAction does not return *revokeOrgAPIKeysAction")
	}
	var ar action.ConfigureResponse
	a.Configure(ctx, action.ConfigureRequest{ProviderData: conf.ActionData}, &ar)
	if ar.Diagnostics.HasError() || a.data == nil {
		t.Fatalf("configuring the action: %v (provider data %T)", ar.Diagnostics, conf.ActionData)
	}
	return &revokeHarness{e: e, action: a, secrets: []string{e.token, credential}}
}

// mintTree mints the keys of e.mintTree, whose secrets no event or diagnostic may contain.
func (h *revokeHarness) mintTree(label string) keyTree {
	tree := h.e.mintTree(label)
	h.secrets = append(h.secrets, tree.secrets...)
	return tree
}

// cascadeFrom runs the action on root with cascade, a dry run or not, which must succeed.
func (h *revokeHarness) cascadeFrom(t *testing.T, root client.Token, dryRun bool) invocation {
	t.Helper()
	inv := h.invoke(t, map[string]any{"ids": []string{root.ID}, "cascade": true, "dry_run": dryRun})
	inv.requireSuccess(t)
	return inv
}

// objectValue builds a configuration object of typ: args holds the attributes that are set
// ([]string for a set of strings, string, bool), every other attribute is null.
func objectValue(t *testing.T, typ tftypes.Type, args map[string]any) tftypes.Value {
	t.Helper()
	obj, ok := typ.(tftypes.Object)
	if !ok {
		t.Fatalf("schema type %s is not an object", typ)
	}
	vals := map[string]tftypes.Value{}
	for name, at := range obj.AttributeTypes {
		switch v := args[name].(type) {
		case nil:
			vals[name] = tftypes.NewValue(at, nil)
		case []string:
			elems := make([]tftypes.Value, len(v))
			for i, s := range v {
				elems[i] = tftypes.NewValue(tftypes.String, s)
			}
			vals[name] = tftypes.NewValue(at, elems)
		default:
			vals[name] = tftypes.NewValue(at, v)
		}
	}
	for name := range args {
		if _, ok := obj.AttributeTypes[name]; !ok {
			t.Fatalf("the action has no attribute %q", name)
		}
	}
	return tftypes.NewValue(obj, vals)
}

func (h *revokeHarness) config(t *testing.T, args map[string]any) tfsdk.Config {
	t.Helper()
	ctx := context.Background()
	var sch action.SchemaResponse
	h.action.Schema(ctx, action.SchemaRequest{}, &sch)
	return tfsdk.Config{Schema: sch.Schema, Raw: objectValue(t, sch.Schema.Type().TerraformType(ctx), args)}
}

// invocation is what one Invoke reported.
type invocation struct {
	events []string
	diags  diag.Diagnostics
}

func (h *revokeHarness) invoke(t *testing.T, args map[string]any) invocation {
	t.Helper()
	var inv invocation
	var mu sync.Mutex
	resp := action.InvokeResponse{SendProgress: func(ev action.InvokeProgressEvent) {
		mu.Lock()
		defer mu.Unlock()
		inv.events = append(inv.events, ev.Message)
	}}
	h.action.Invoke(context.Background(), action.InvokeRequest{Config: h.config(t, args)}, &resp)
	inv.diags = resp.Diagnostics
	h.requireNoSecrets(t, inv)
	return inv
}

// requireNoSecrets fails the test if an event or diagnostic holds a secret, or all of one but
// its first 8 characters, which are a key's prefix and shown on purpose. It never shows the value.
func (h *revokeHarness) requireNoSecrets(t *testing.T, inv invocation) {
	t.Helper()
	texts := slices.Clone(inv.events)
	for _, d := range inv.diags {
		texts = append(texts, d.Summary(), d.Detail())
	}
	for i, s := range h.secrets {
		for _, v := range []string{s, s[min(client.PrefixLength, len(s)):]} {
			if len(v) < 16 {
				continue
			}
			for _, text := range texts {
				if strings.Contains(text, v) {
					t.Errorf("secret #%d (or its part after the prefix) appears in an event or diagnostic", i+1)
				}
			}
		}
	}
}

// event returns the one event about key id: the first key an event names is its subject, a
// second one the key that minted it.
func (inv invocation) event(t *testing.T, id string) string {
	t.Helper()
	var found []string
	for _, ev := range inv.events {
		if i := strings.Index(ev, "key "); i >= 0 && strings.HasPrefix(ev[i:], "key "+id) {
			found = append(found, ev)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one event about key %s, got %d:\n%s", id, len(found), inv)
	}
	return found[0]
}

// eventIndex returns where the event about key id is among the events.
func (inv invocation) eventIndex(t *testing.T, id string) int {
	t.Helper()
	return slices.Index(inv.events, inv.event(t, id))
}

func (inv invocation) String() string {
	var b strings.Builder
	for _, ev := range inv.events {
		fmt.Fprintf(&b, "  event: %s\n", ev)
	}
	for _, d := range inv.diags {
		fmt.Fprintf(&b, "  %s: %s: %s\n", d.Severity(), d.Summary(), d.Detail())
	}
	return b.String()
}

func (inv invocation) hasDiag(severity diag.Severity, summary string) bool {
	for _, d := range inv.diags {
		if d.Severity() == severity && d.Summary() == summary {
			return true
		}
	}
	return false
}

func (inv invocation) detail(summary string) string {
	for _, d := range inv.diags {
		if d.Summary() == summary {
			return d.Detail()
		}
	}
	return ""
}

func (inv invocation) requireSuccess(t *testing.T) {
	t.Helper()
	if inv.diags.HasError() {
		t.Fatalf("the action failed:\n%s", inv)
	}
}

func (inv invocation) requireError(t *testing.T, summary string) {
	t.Helper()
	if !inv.hasDiag(diag.SeverityError, summary) {
		t.Fatalf("want the error %q, got:\n%s", summary, inv)
	}
}

// requireLive checks which keys are live afterwards.
func (e *testEnv) requireLive(t *testing.T, want bool, keys ...client.Token) {
	t.Helper()
	for _, k := range keys {
		if got := e.isLive(k.ID); got != want {
			t.Errorf("key %s (%q): live = %v, want %v", k.ID, k.Name, got, want)
		}
	}
}

func TestRevokeOrgAPIKeysAction_ids(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	h := newRevokeHarness(t, e, "")
	k1, k2, k3 := e.seed(e.name("ids-1")), e.seed(e.name("ids-2")), e.seed(e.name("ids-3"))
	unknown := e.unknownID()

	inv := h.invoke(t, map[string]any{"ids": []string{k1.ID, k2.ID, unknown}})
	inv.requireSuccess(t)
	e.requireLive(t, false, k1, k2)
	e.requireLive(t, true, k3)
	for _, k := range []client.Token{k1, k2} {
		ev := inv.event(t, k.ID)
		if !strings.HasPrefix(ev, "Revoked key "+k.ID) || !strings.Contains(ev, fmt.Sprintf("%q", k.Name)) ||
			!strings.Contains(ev, "selected by explicit id") {
			t.Errorf("the event about %s does not say it was revoked, its name and why: %s", k.ID, ev)
		}
		if !strings.Contains(ev, "prefix "+k.Prefix) {
			t.Errorf("the event about %s does not show its prefix: %s", k.ID, ev)
		}
	}
	// An id the service does not know is sent anyway, and its 404 counts as revoked.
	if ev := inv.event(t, unknown); !strings.HasPrefix(ev, "Not live: key "+unknown) {
		t.Errorf("the unknown id is not reported as not live: %s", ev)
	}
	if got := e.emu.RequestCount(emulator.EndpointRevoke); got != 3 {
		t.Errorf("want 3 revoke requests, got %d", got)
	}
	if last := inv.events[len(inv.events)-1]; last != "Summary: 3 keys selected; 2 revoked, 1 already not live, 0 failed." {
		t.Errorf("unexpected summary: %s", last)
	}
	// The list shows every key's prefix, so the credential is ruled out (see
	// TestRevokeOrgAPIKeysAction_guideShape for a list without prefixes).
	if inv.hasDiag(diag.SeverityWarning, "Provider Credential Not Ruled Out") {
		t.Errorf("unexpected warning that the credential was not ruled out:\n%s", inv)
	}

	// Running it again revokes nothing more and still succeeds: every id is now not live.
	again := h.invoke(t, map[string]any{"ids": []string{k1.ID, k2.ID}})
	again.requireSuccess(t)
	if last := again.events[len(again.events)-1]; !strings.Contains(last, "0 revoked, 2 already not live") {
		t.Errorf("unexpected summary of the second run: %s", last)
	}
	e.requireLive(t, true, k3)
}

func TestRevokeOrgAPIKeysAction_filters(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	h := newRevokeHarness(t, e, "")
	prefix := e.name("filters") + "-"
	ci1, ci2 := e.seed(prefix+"ci-1"), e.seed(prefix+"ci-2")
	agent := e.seed(prefix + "agent-1")
	minter, minterKey := e.seedWithSecret(prefix + "minter")
	h.secrets = append(h.secrets, minterKey)
	byMinterCI, _ := e.mintWith(minterKey, prefix+"ci-by-minter")
	byMinterOther, _ := e.mintWith(minterKey, prefix+"other-by-minter")

	inv := h.invoke(t, map[string]any{"name_prefix": prefix + "ci-", "created_by": e.createdBy()})
	inv.requireSuccess(t)
	e.requireLive(t, false, ci1, ci2)
	e.requireLive(t, true, agent, minter, byMinterCI, byMinterOther)
	want := fmt.Sprintf("selected by filter name_prefix = %q, created_by = %q", prefix+"ci-", e.createdBy())
	for _, k := range []client.Token{ci1, ci2} {
		if ev := inv.event(t, k.ID); !strings.Contains(ev, want) {
			t.Errorf("the event about %s does not name the filters: %s", k.ID, ev)
		}
	}

	inv = h.invoke(t, map[string]any{"name_regex": "^" + prefix + "agent-[0-9]+$"})
	inv.requireSuccess(t)
	e.requireLive(t, false, agent)
	e.requireLive(t, true, minter, byMinterCI, byMinterOther)

	// created_by names the minting key by its prefix.
	inv = h.invoke(t, map[string]any{"created_by": "org-token:" + minter.Prefix})
	inv.requireSuccess(t)
	e.requireLive(t, false, byMinterCI, byMinterOther)
	e.requireLive(t, true, minter)
	if len(inv.events) != 3 {
		t.Errorf("want an event per key and a summary, got:\n%s", inv)
	}
}

func TestRevokeOrgAPIKeysAction_cascade(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	h := newRevokeHarness(t, e, "")
	// Without cascade only the selected key goes.
	flat := h.mintTree("flat")
	inv := h.invoke(t, map[string]any{"ids": []string{flat.a.ID}})
	inv.requireSuccess(t)
	e.requireLive(t, false, flat.a)
	e.requireLive(t, true, flat.b, flat.c, flat.d, flat.x, flat.y)

	tree := h.mintTree("tree")
	inv = h.cascadeFrom(t, tree.a, false)
	e.requireLive(t, false, tree.a, tree.b, tree.c, tree.d)
	e.requireLive(t, true, tree.x, tree.y, flat.b, flat.c, flat.d)
	for _, child := range []client.Token{tree.b, tree.c} {
		if ev := inv.event(t, child.ID); !strings.Contains(ev, "minted by key "+tree.a.ID) {
			t.Errorf("the event about %s does not name its minting key %s: %s", child.ID, tree.a.ID, ev)
		}
	}
	if ev := inv.event(t, tree.d.ID); !strings.Contains(ev, "minted by key "+tree.b.ID) {
		t.Errorf("the event about %s does not name its minting key %s: %s", tree.d.ID, tree.b.ID, ev)
	}
	// Parents go before the keys they minted, so a leaked key cannot mint more meanwhile.
	if a, b, c, d := inv.eventIndex(t, tree.a.ID), inv.eventIndex(t, tree.b.ID), inv.eventIndex(t, tree.c.ID),
		inv.eventIndex(t, tree.d.ID); a > b || a > c || b > d {
		t.Errorf("keys were not revoked parents first:\n%s", inv)
	}
	if inv.hasDiag(diag.SeverityWarning, "Cascade Could Not Follow Every Key") {
		t.Errorf("unexpected cascade warning:\n%s", inv)
	}
}

// TestRevokeOrgAPIKeysAction_cascadeCatchesLateMints mints a key with a key of the tree while the
// action runs, after its list: the cascade lists again after revoking and revokes that key too.
func TestRevokeOrgAPIKeysAction_cascadeCatchesLateMints(t *testing.T) {
	t.Parallel()
	// The guide's shape cannot cascade at all (see TestRevokeOrgAPIKeysAction_guideShape).
	e := newTestEnv(t, emulatorOnly)
	h := newRevokeHarness(t, e, "")
	a, aKey := e.seedWithSecret(e.name("late-a"))
	b, bKey := e.mintWith(aKey, e.name("late-b"))
	h.secrets = append(h.secrets, aKey, bKey)
	// The first revocation (of a) stalls long enough for a mint with b's key, which is still live.
	e.emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointRevoke, Latency: 3 * time.Second})

	done := make(chan invocation)
	go func() { done <- h.invoke(t, map[string]any{"ids": []string{a.ID}, "cascade": true}) }()
	deadline := time.Now().Add(10 * time.Second)
	for e.emu.RequestCount(emulator.EndpointRevoke) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the action sent no revocation within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	late, lateKey := e.mintWith(bKey, e.name("late-c"))
	inv := <-done
	// The invocation checked the secrets it was given; the late key's is known only now.
	h.secrets = append(h.secrets, lateKey)
	h.requireNoSecrets(t, inv)
	inv.requireSuccess(t)
	e.requireLive(t, false, a, b, late)
	if ev := inv.event(t, late.ID); !strings.Contains(ev, "minted by key "+b.ID) {
		t.Errorf("the event about the late key does not name its minting key: %s", ev)
	}
}

func TestRevokeOrgAPIKeysAction_dryRun(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	h := newRevokeHarness(t, e, "")
	tree := h.mintTree("dry")
	inv := h.cascadeFrom(t, tree.a, true)
	e.requireLive(t, true, tree.a, tree.b, tree.c, tree.d, tree.x, tree.y)
	if got := e.emu.RequestCount(emulator.EndpointRevoke); got != 0 {
		t.Errorf("a dry run sent %d revoke requests", got)
	}
	inv.requireDryRun(t, tree.a, tree.b, tree.c, tree.d)
}

// requireDryRun checks that a dry run reported that it would revoke would, and nothing else.
func (inv invocation) requireDryRun(t *testing.T, would ...client.Token) {
	t.Helper()
	for _, k := range would {
		if ev := inv.event(t, k.ID); !strings.HasPrefix(ev, "Dry run: would revoke key "+k.ID) {
			t.Errorf("the dry run does not report %s: %s", k.ID, ev)
		}
	}
	if last := inv.events[len(inv.events)-1]; last != fmt.Sprintf("Dry run: %d %s would be revoked; nothing was revoked.",
		len(would), plural(len(would), "key")) {
		t.Errorf("unexpected dry-run summary: %s", last)
	}
}

// The report says when each key expires, or that it has.
func TestRevokeOrgAPIKeysAction_reportsExpiry(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	h := newRevokeHarness(t, e, "")
	past, future := time.Now().Add(-time.Hour).UTC().Truncate(time.Second), time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	prefix := e.name("report-expiry") + "-"
	old, _ := e.emu.Seed(emulator.SeedKey{Name: prefix + "old", ExpiresAt: &past})
	soon, _ := e.emu.Seed(emulator.SeedKey{Name: prefix + "soon", ExpiresAt: &future})
	inv := h.invoke(t, map[string]any{"name_prefix": prefix, "dry_run": true})
	inv.requireSuccess(t)
	if ev := inv.event(t, old.ID); !strings.Contains(ev, "expired "+past.Format(time.RFC3339)) {
		t.Errorf("the report does not say the key expired: %s", ev)
	}
	if ev := inv.event(t, soon.ID); !strings.Contains(ev, "expires "+future.Format(time.RFC3339)) {
		t.Errorf("the report does not say when the key expires: %s", ev)
	}
}

// ownCredentialHarness is an action whose provider authenticates with own, an org key that parent
// minted, beside another key.
func (e *testEnv) ownCredentialHarness(t *testing.T) (h *revokeHarness, parent, own, other client.Token) {
	t.Helper()
	parent, parentKey := e.seedWithSecret(e.name("own-parent"))
	own, ownKey := e.mintWith(parentKey, e.name("own"))
	other = e.seed(e.name("own-other"))
	h = newRevokeHarness(t, e, ownKey)
	h.secrets = append(h.secrets, parentKey)
	return h, parent, own, other
}

func TestRevokeOrgAPIKeysAction_ownCredential(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	h, parent, own, other := e.ownCredentialHarness(t)

	for name, args := range map[string]map[string]any{
		"explicit id":       {"ids": []string{own.ID, other.ID}},
		"explicit, dry run": {"ids": []string{own.ID}, "dry_run": true},
		"cascade":           {"ids": []string{parent.ID}, "cascade": true},
		"filter":            {"created_by": "org-token:" + parent.Prefix},
	} {
		inv := h.invoke(t, args)
		inv.requireError(t, "Refusing to Revoke the Provider's Own Credential")
		if d := inv.detail("Refusing to Revoke the Provider's Own Credential"); !strings.Contains(d, own.ID) ||
			!strings.Contains(d, "Nothing was revoked") {
			t.Errorf("%s: the refusal does not name key %s: %s", name, own.ID, d)
		}
		if got := e.emu.RequestCount(emulator.EndpointRevoke); got != 0 {
			t.Fatalf("%s: %d revoke requests were sent despite the refusal", name, got)
		}
	}
	e.requireLive(t, true, parent, own, other)

	// Allowed: the credential, selected first as an explicit id, goes after everything else,
	// and the cascade does not list again with it once it is revoked.
	inv := h.invoke(t, map[string]any{"ids": []string{own.ID}, "name_prefix": other.Name, "cascade": true,
		"allow_revoking_own_credential": true})
	inv.requireSuccess(t)
	e.requireLive(t, false, own, other)
	e.requireLive(t, true, parent)
	if last := inv.events[len(inv.events)-2]; !strings.HasPrefix(last, "Revoked key "+own.ID) {
		t.Errorf("the provider's credential was not revoked last:\n%s", inv)
	}
	if !inv.hasDiag(diag.SeverityWarning, "Provider Credential Revoked") || len(inv.diags) != 1 {
		t.Errorf("want only the warning that the credential was revoked:\n%s", inv)
	}
}

// The guide's list has no prefixes, so nothing names the provider's credential, nor the key that
// minted another (created_by names it by its prefix): events show no prefix, the credential is
// not ruled out, and a cascade cannot follow.
func TestRevokeOrgAPIKeysAction_guideShape(t *testing.T) {
	t.Parallel()
	t.Run("explicit ids", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, inGuideShape)
		h := newRevokeHarness(t, e, "")
		k := e.seed(e.name("ids"))
		inv := h.invoke(t, map[string]any{"ids": []string{k.ID}})
		inv.requireSuccess(t)
		e.requireLive(t, false, k)
		if ev := inv.event(t, k.ID); !strings.HasPrefix(ev, "Revoked key "+k.ID) || strings.Contains(ev, "prefix") {
			t.Errorf("the event about %s does not say it was revoked, or shows a prefix: %s", k.ID, ev)
		}
		if !inv.hasDiag(diag.SeverityWarning, "Provider Credential Not Ruled Out") {
			t.Errorf("no warning that the credential was not ruled out:\n%s", inv)
		}
	})
	t.Run("cascade", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, inGuideShape)
		h := newRevokeHarness(t, e, "")
		tree := h.mintTree("tree")
		h.cascadeFrom(t, tree.a, true).requireDryRun(t, tree.a)
		inv := h.cascadeFrom(t, tree.a, false)
		e.requireLive(t, false, tree.a)
		e.requireLive(t, true, tree.b, tree.c, tree.d, tree.x, tree.y)
		if !strings.Contains(inv.detail("Cascade Could Not Follow Every Key"), tree.a.ID) {
			t.Errorf("no warning that the keys minted by %s cannot be found:\n%s", tree.a.ID, inv)
		}
	})
	t.Run("own credential", func(t *testing.T) {
		t.Parallel()
		e := newTestEnv(t, inGuideShape)
		h, parent, own, other := e.ownCredentialHarness(t)
		// Nothing identifies the credential, so nothing is refused: a warning says so, and when
		// the credential goes first (explicit ids come before filter matches) the 401 that
		// follows names it.
		inv := h.invoke(t, map[string]any{"ids": []string{own.ID}, "name_prefix": other.Name})
		inv.requireError(t, "Unable to Revoke Org API Keys")
		e.requireLive(t, false, own)
		e.requireLive(t, true, parent, other)
		if d := inv.detail("Provider Credential Not Ruled Out"); !strings.Contains(d, own.ID) || !strings.Contains(d, other.ID) {
			t.Errorf("no warning that the credential could not be ruled out:\n%s", inv)
		}
		if ev := inv.event(t, other.ID); !strings.Contains(ev, "accepted until key "+own.ID+" ("+fmt.Sprintf("%q", own.Name)+") was revoked") {
			t.Errorf("the failure after the credential was revoked does not name it: %s", ev)
		}
	})
}

func TestRevokeOrgAPIKeysAction_emptySelection(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	h := newRevokeHarness(t, e, "")
	k := e.seed(e.name("empty"))
	for name, args := range map[string]map[string]any{
		"filter":          {"name_prefix": e.name("nothing-has-this-name")},
		"filter, dry run": {"name_regex": "^no-such-key$", "dry_run": true},
		"empty ids":       {"ids": []string{}, "cascade": true},
	} {
		inv := h.invoke(t, args)
		inv.requireError(t, "No Org API Keys Selected")
		if len(inv.events) != 0 {
			t.Errorf("%s: an empty selection reported progress:\n%s", name, inv)
		}
	}
	e.requireLive(t, true, k)
	if got := e.emu.RequestCount(emulator.EndpointRevoke); got != 0 {
		t.Errorf("%d revoke requests for an empty selection", got)
	}

	// No selection at all is refused before the action can run.
	ctx := context.Background()
	for _, v := range h.action.ConfigValidators(ctx) {
		var resp action.ValidateConfigResponse
		v.ValidateAction(ctx, action.ValidateConfigRequest{Config: h.config(t, map[string]any{"cascade": true})}, &resp)
		if !resp.Diagnostics.HasError() {
			t.Errorf("a configuration without ids or filters passes validation")
		}
	}
}

func TestRevokeOrgAPIKeysAction_partialFailure(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	h := newRevokeHarness(t, e, "")
	prefix := e.name("partial") + "-"
	keys := []client.Token{e.seed(prefix + "1"), e.seed(prefix + "2"), e.seed(prefix + "3")}
	// A refusal the client does not retry, on the first revocation only.
	e.emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointRevoke, Status: 403, Body: `{"error":"not today"}`})

	inv := h.invoke(t, map[string]any{"name_prefix": prefix})
	inv.requireError(t, "Unable to Revoke Org API Keys")
	var live []client.Token
	for _, k := range keys {
		if e.isLive(k.ID) {
			live = append(live, k)
		}
	}
	if len(live) != 1 {
		t.Fatalf("want exactly one key left live by the failed revocation, got %d:\n%s", len(live), inv)
	}
	failed := live[0]
	if ev := inv.event(t, failed.ID); !strings.HasPrefix(ev, "Failed to revoke key "+failed.ID) || !strings.Contains(ev, "not today") {
		t.Errorf("the failure is not reported with the service's answer: %s", ev)
	}
	if d := inv.detail("Unable to Revoke Org API Keys"); !strings.Contains(d, failed.ID) || !strings.Contains(d, "1 of 3") {
		t.Errorf("the error does not list the key that failed: %s", d)
	}
	if last := inv.events[len(inv.events)-1]; last != "Summary: 3 keys selected; 2 revoked, 0 already not live, 1 failed." {
		t.Errorf("unexpected summary: %s", last)
	}
}

// A revocation answered by a 404 that is not the service's own is a failure, never "not live".
func TestRevokeOrgAPIKeysAction_foreign404(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	h := newRevokeHarness(t, e, "")
	k := e.seed(e.name("foreign-404"))
	e.emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointRevoke, Status: 404, Body: "404 page not found", ContentType: "text/plain"})

	inv := h.invoke(t, map[string]any{"ids": []string{k.ID}})
	inv.requireError(t, "Unable to Revoke Org API Keys")
	if ev := inv.event(t, k.ID); !strings.HasPrefix(ev, "Failed to revoke key "+k.ID) ||
		!strings.Contains(ev, "DELETE "+e.endpoint+"/org/tokens/"+k.ID+": HTTP 404 Not Found (non-JSON response (text/plain, 18 bytes))") ||
		!strings.Contains(ev, "looks wrong") {
		t.Errorf("the failure does not name the URL and the routing: %s", ev)
	}
	if last := inv.events[len(inv.events)-1]; last != "Summary: 1 key selected; 0 revoked, 0 already not live, 1 failed." {
		t.Errorf("unexpected summary: %s", last)
	}
	e.requireLive(t, true, k)
}

// TestRevokeOrgAPIKeysAction_secretsInIDs pastes secrets where ids belong: the action refuses
// without sending or showing them.
func TestRevokeOrgAPIKeysAction_secretsInIDs(t *testing.T) {
	t.Parallel()
	// Only the deployed list has the prefixes that give a pasted plaintext away.
	e := newTestEnv(t, emulatorOnly)
	h := newRevokeHarness(t, e, "")
	leaked, leakedKey := e.seedWithSecret(e.name("pasted"))
	requireOpaque(t, "the leaked key", leakedKey)
	h.secrets = append(h.secrets, leakedKey)
	for name, id := range map[string]string{"a key's plaintext": leakedKey, "the provider's credential": e.token} {
		inv := h.invoke(t, map[string]any{"ids": []string{id}})
		inv.requireError(t, "Invalid Org API Key Id")
		if name == "a key's plaintext" && !strings.Contains(inv.detail("Invalid Org API Key Id"), leaked.ID) {
			t.Errorf("the error does not name the key whose plaintext was pasted:\n%s", inv)
		}
	}
	if got := e.emu.RequestCount(emulator.EndpointRevoke); got != 0 {
		t.Errorf("%d revoke requests were sent with secrets as ids", got)
	}
	e.requireLive(t, true, leaked)
}

// TestRevokeOrgAPIKeysAction_olderThanListCap pushes a key out of the service's list: a filter
// cannot find it, an explicit id still revokes it, and both warnings say why.
func TestRevokeOrgAPIKeysAction_olderThanListCap(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	h := newRevokeHarness(t, e, "")
	prefix := e.name("old") + "-"
	oldest, _ := e.emu.Seed(emulator.SeedKey{Name: prefix + "1", CreatedAt: time.Now().Add(-time.Hour)})
	old, _ := e.emu.Seed(emulator.SeedKey{Name: prefix + "2", CreatedAt: time.Now().Add(-time.Hour)})
	e.fillList(client.ServiceListMax)

	inv := h.invoke(t, map[string]any{"name_prefix": prefix})
	inv.requireError(t, "No Org API Keys Selected")
	if !inv.hasDiag(diag.SeverityWarning, incompleteListSummary) {
		t.Errorf("no warning that the list may be incomplete:\n%s", inv)
	}

	inv = h.invoke(t, map[string]any{"ids": []string{old.ID}, "name_prefix": prefix})
	inv.requireSuccess(t)
	if !e.isLive(oldest.ID) || e.isLive(old.ID) {
		t.Errorf("want only the key given by id revoked:\n%s", inv)
	}
	// An id the incomplete list does not show may be a pasted secret: it is shown only by its
	// first 8 characters and its length, wherever it appears.
	shown := fmt.Sprintf("%q… (%d characters", old.ID[:8], len(old.ID))
	if ev := inv.event(t, shown); !strings.HasPrefix(ev, "Revoked key "+shown) {
		t.Errorf("unexpected event about the unlisted key: %s", ev)
	}
	if strings.Contains(inv.String(), old.ID) {
		t.Errorf("the report shows the whole id the list does not show:\n%s", inv)
	}
	// An unlisted key may be any key, the provider's own credential included.
	if !strings.Contains(inv.detail("Provider Credential Not Ruled Out"), shown) {
		t.Errorf("no warning that the unlisted key may be the provider's credential:\n%s", inv)
	}
}
