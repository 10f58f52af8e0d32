package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

const keyAddr = "molecule_org_api_key.test"

// unnamedKeyConfig is a molecule_org_api_key without a name, as an imported Canvas key may be.
const unnamedKeyConfig = "resource \"molecule_org_api_key\" \"test\" {}\n"

// keyAuthenticates proves the plaintext in state is the real key: the service accepts it.
func keyAuthenticates(e *testEnv) tfresource.TestCheckFunc {
	return func(s *terraform.State) error {
		return e.authenticates(s.RootModule().Resources[keyAddr].Primary.Attributes["key"])
	}
}

// authenticates proves key is a real key: the service accepts it.
func (e *testEnv) authenticates(key string) error {
	c, err := client.New(client.Config{Endpoint: e.endpoint, OrgID: e.orgID, Token: key, UserAgent: "acc"})
	if err != nil {
		return err
	}
	if _, err := c.Snapshot(context.Background()); err != nil {
		return fmt.Errorf("the key in state does not authenticate: %w", err)
	}
	return nil
}

// mintedKeyChecks are what every freshly minted key in state must satisfy.
func mintedKeyChecks(e *testEnv, name string) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("name"), knownvalue.StringExact(name)),
		statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.StringRegexp(e.keyRegexp())),
		statecheck.ExpectSensitiveValue(keyAddr, tfjsonpath.New("key")),
		e.expectKeyPrefix(keyAddr),
	}
}

// idShape checks, against an emulator, that the id in state has the dialect's shape.
func idShape(e *testEnv, id *string) tfresource.TestCheckFunc {
	return func(*terraform.State) error {
		if e.emu != nil && !e.idRegexp().MatchString(*id) {
			return fmt.Errorf("id %q does not have the %s dialect's shape %s", *id, e.dialect, e.idRegexp())
		}
		return nil
	}
}

func TestAccOrgAPIKeyResource_lifecycle(t *testing.T) {
	t.Parallel()
	testLifecycle(t, newTestEnv(t))
}

// In the guide's shape the list has no prefixes: the prefix in state is the one taken from the
// plaintext at mint and kept by every refresh, and an import, which cannot learn it, has none.
func TestAccOrgAPIKeyResource_guideShape(t *testing.T) {
	t.Parallel()
	testLifecycle(t, newTestEnv(t, inGuideShape))
}

// testLifecycle mints a key, refreshes it after use, imports it and renames it, which replaces it.
func testLifecycle(t *testing.T, e *testEnv) {
	first, renamed := e.name("lifecycle"), e.name("renamed")
	var firstID, secondID, firstKey string
	var requests *requestCounter
	// The guide's list has no prefixes, so an import cannot learn one; the deployed list can.
	importIgnore := []string{"key", "last_used_at"}
	if e.guide() {
		importIgnore = append(importIgnore, "prefix")
	}

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: keyConfig(first),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionCreate)},
				},
				ConfigStateChecks: append(mintedKeyChecks(e, first),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("created_by"), knownvalue.StringExact(e.createdBy())),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("created_at"), knownvalue.StringRegexp(timestampRegexp)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("last_used_at"), knownvalue.Null()),
				),
				Check: tfresource.ComposeAggregateTestCheckFunc(
					captureAttr(keyAddr, "id", &firstID),
					captureAttr(keyAddr, "key", &firstKey),
					keyAuthenticates(e),
					idShape(e, &firstID),
					func(*terraform.State) error {
						if got := e.liveWithName(first); len(got) != 1 || got[0].ID != firstID {
							return fmt.Errorf("want exactly one live key %q with id %s, got %v", first, firstID, got)
						}
						return nil
					},
				),
			},
			{
				// The key was used (by keyAuthenticates above): last_used_at drifted, the plan stays empty
				// and the refreshed state carries the new time while the plaintext and prefix are kept.
				Config: keyConfig(first),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("last_used_at"), knownvalue.StringRegexp(timestampRegexp)),
					e.expectKeyPrefix(keyAddr),
				},
				Check: tfresource.TestCheckResourceAttrPtr(keyAddr, "key", &firstKey),
			},
			{
				// The import matches the minted key in state, but for the secret, which it cannot have.
				PreConfig:               func() { requests = e.countRequests() },
				ResourceName:            keyAddr,
				ImportState:             true,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: importIgnore,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					if len(states) != 1 {
						return fmt.Errorf("want 1 imported instance, got %d", len(states))
					}
					a := states[0].Attributes
					prefix, want := a["prefix"], firstKey[:client.PrefixLength]
					if e.guide() {
						want = ""
					}
					if prefix != want {
						return fmt.Errorf("imported prefix %q, want %q", prefix, want)
					}
					if a["id"] != firstID || a["key"] != "" {
						return fmt.Errorf("imported id %q (want %s), or a plaintext in state", a["id"], firstID)
					}
					return requests.expect("the import", 0, 0)
				},
			},
			{
				Config: keyConfig(renamed),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate)},
				},
				ConfigStateChecks: mintedKeyChecks(e, renamed),
				Check: tfresource.ComposeAggregateTestCheckFunc(
					captureAttr(keyAddr, "id", &secondID),
					keyAuthenticates(e),
					idShape(e, &secondID),
					func(*terraform.State) error {
						if secondID == firstID {
							return fmt.Errorf("rename kept id %s; want a new key", firstID)
						}
						if e.isLive(firstID) {
							return fmt.Errorf("old key %s is still live after the rename", firstID)
						}
						if !e.isLive(secondID) {
							return fmt.Errorf("new key %s is not live", secondID)
						}
						return nil
					},
				),
			},
		},
	})
}

func TestAccOrgAPIKeyResource_revokedOutOfBand(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("oob")
	var firstID, secondID string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: keyConfig(name),
				Check:  captureAttr(keyAddr, "id", &firstID),
			},
			{
				PreConfig: func() { e.revokeOutOfBand(firstID) },
				Config:    keyConfig(name),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionCreate)},
				},
				ConfigStateChecks: mintedKeyChecks(e, name),
				Check: tfresource.ComposeAggregateTestCheckFunc(
					captureAttr(keyAddr, "id", &secondID),
					keyAuthenticates(e),
					func(*terraform.State) error {
						live := e.liveWithName(name)
						if len(live) != 1 || live[0].ID != secondID || secondID == firstID {
							return fmt.Errorf("want exactly one live key %q, the replacement; got %v (first %s)", name, live, firstID)
						}
						return nil
					},
				),
			},
		},
	})
}

// expectImported checks the one instance a terraform import wrote: the service's metadata of key
// k (a name of "" is a null name), no secret, and no request that mints or revokes since the
// baseline of requests.
func (e *testEnv) expectImported(k client.Token, requests *requestCounter) tfresource.ImportStateCheckFunc {
	return func(states []*terraform.InstanceState) error {
		if len(states) != 1 {
			return fmt.Errorf("want 1 imported instance, got %d", len(states))
		}
		a := states[0].Attributes
		for attr, want := range map[string]string{
			"id":           k.ID,
			"name":         k.Name,
			"prefix":       k.Prefix,
			"created_by":   k.CreatedBy,
			"created_at":   k.CreatedAt.UTC().Format(time.RFC3339),
			"last_used_at": "",
		} {
			if a[attr] != want {
				return fmt.Errorf("imported %s is %q, want %q (key %s)", attr, a[attr], want, k.ID)
			}
		}
		// Compared without showing it: a non-empty value here would be a secret.
		if _, set := a["key"]; set && a["key"] != "" {
			return fmt.Errorf("the imported key %s has a plaintext in state; want null", k.ID)
		}
		return requests.expect("the import", 0, 0)
	}
}

// untouchedSince fails when anything minted or revoked a key since the baseline of requests.
func untouchedSince(requests *requestCounter, when string) tfresource.TestCheckFunc {
	return func(*terraform.State) error { return requests.expect(when, 0, 0) }
}

func TestAccOrgAPIKeyResource_importCommand(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("import")
	seeded := e.seed(name)
	requests := e.countRequests()

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config:             keyConfig(name),
				ResourceName:       keyAddr,
				ImportState:        true,
				ImportStateId:      seeded.ID,
				ImportStatePersist: true,
				ImportStateCheck:   e.expectImported(seeded, requests),
			},
			{
				Config: keyConfig(name),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("id"), knownvalue.StringExact(seeded.ID)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("name"), knownvalue.StringExact(name)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("created_at"), knownvalue.StringExact(seeded.CreatedAt.UTC().Format(time.RFC3339))),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.Null()),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("prefix"), e.listedPrefix(seeded)),
				},
				Check: tfresource.ComposeAggregateTestCheckFunc(
					untouchedSince(requests, "the empty apply after the import"),
					func(*terraform.State) error {
						if live := e.liveWithName(name); len(live) != 1 || live[0].ID != seeded.ID {
							return fmt.Errorf("want only the imported key %s live under its name, got %v", seeded.ID, live)
						}
						return nil
					},
				),
			},
		},
	})
	if err := requests.expect("after destroy", 0, 1); err != nil {
		t.Fatal(err)
	}
	if e.isLive(seeded.ID) {
		t.Fatalf("imported key %s must be revoked by destroy", seeded.ID)
	}
}

func TestAccOrgAPIKeyResource_importBlock(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("importblock")
	seeded := e.seed(name)
	config := fmt.Sprintf(`
import {
  to = molecule_org_api_key.test
  id = %q
}
%s`, seeded.ID, keyConfig(name))

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionNoop)},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("id"), knownvalue.StringExact(seeded.ID)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("created_by"), knownvalue.StringExact(seeded.CreatedBy)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("prefix"), e.listedPrefix(seeded)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.Null()),
				},
			},
			{
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
	if live := e.liveWithName(name); len(live) != 0 {
		t.Fatalf("destroy left live keys: %v", live)
	}
}

// Import takes any non-blank id, so its errors must tell a typo from a pasted secret, and must
// never show the secret. (Terraform itself prints the id it imports, so the absence of the
// secret from the provider's diagnostics is asserted in TestOrgAPIKeyResource_importErrorsHideSecrets.)
func TestAccOrgAPIKeyResource_importErrors(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("importerr")
	pasted, plaintext := e.seedWithSecret(e.name("pasted"))
	step := func(id string, want *regexp.Regexp) tfresource.TestStep {
		return tfresource.TestStep{
			Config:        keyConfig(name),
			ResourceName:  keyAddr,
			ImportState:   true,
			ImportStateId: id,
			ExpectError:   want,
		}
	}
	steps := []tfresource.TestStep{
		step(e.unknownID(), errorPattern("Cannot Import Org API Key", `No live key has the id "`+e.unknownID()+`"`,
			"Find the ids of live keys with the molecule_org_api_keys data source")),
		step(plaintext, anyPattern(pastedKeyErrors(e, pasted)...)),
		step(" "+pasted.ID, errorPattern("Invalid Import ID", "starts or ends with white space")),
	}
	// Terraform prints the id it imports: a real credential must not reach the test's logs.
	if e.emu != nil {
		steps = append(steps, step(e.token, errorPattern("Invalid Import ID", "is a secret", "the value is not shown")))
	}
	requests := e.countRequests()
	tfresource.Test(t, tfresource.TestCase{ProtoV6ProviderFactories: e.factories(), Steps: steps})
	if err := requests.expect("after the failed imports", 0, 0); err != nil {
		t.Fatal(err)
	}
	if live := e.liveWithName(name); len(live) != 0 {
		t.Fatalf("failed imports must not mint anything, got %v", live)
	}
	if !e.isLive(pasted.ID) {
		t.Fatalf("key %s, whose secret was pasted as an import id, must stay live", pasted.ID)
	}
}

// pastedKeyErrors are the acceptable errors for importing by the plaintext of live key k. The
// deployed list shows each key's prefix, so the pasted secret is recognized as k's. The guide's
// list shows none, so a guide-style key can only be refused by its pattern, or reported as an
// unknown id with the secret redacted.
func pastedKeyErrors(e *testEnv, k client.Token) [][]string {
	if e.guide() {
		return [][]string{
			{"Invalid Import ID", "is a secret", "not shown"},
			{"Cannot Import Org API Key", `No live key has the id "mola_[redacted]"`},
		}
	}
	return [][]string{{"Cannot Import Org API Key", "probably that key's secret", "It is not shown here", "use its id: " + k.ID + "."}}
}

// anyPattern matches text that errorPattern(parts...) matches for any one of alternatives.
func anyPattern(alternatives ...[]string) *regexp.Regexp {
	res := make([]string, len(alternatives))
	for i, parts := range alternatives {
		res[i] = strings.TrimPrefix(errorPattern(parts...).String(), "(?s)")
	}
	return regexp.MustCompile(`(?s)(` + strings.Join(res, "|") + `)`)
}

// importAndRead runs an import the way Terraform does, ImportState then Read, and returns every
// diagnostic.
func (h *resourceHarness) importAndRead(id string) diag.Diagnostics {
	h.t.Helper()
	resp := h.importState(id)
	diags := resp.Diagnostics
	if diags.HasError() {
		return diags
	}
	diags.Append(h.read(resp.State).Diagnostics...)
	return diags
}

// hideSecret cuts secret, and either half of it, out of text that a failing test shows.
func hideSecret(text, secret string) string {
	if secret == "" {
		return text
	}
	half := len(secret) / 2
	for _, s := range []string{secret, secret[:half], secret[half:]} {
		text = strings.ReplaceAll(text, s, "<SECRET>")
	}
	return text
}

// diagsNeverShow fails the test for each diagnostic that holds secret or either half of it,
// naming the diagnostic, never the secret.
func diagsNeverShow(t *testing.T, diags diag.Diagnostics, secret string) {
	t.Helper()
	for _, d := range diags {
		text := d.Summary() + "\n" + d.Detail()
		if shown := hideSecret(text, secret); shown != text {
			t.Errorf("the %s %q shows a secret:\n%s", d.Severity(), d.Summary(), shown)
		}
	}
}

func diagText(diags diag.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "%s: %s\n%s\n", d.Severity(), d.Summary(), d.Detail())
	}
	return b.String()
}

// The import errors of TestAccOrgAPIKeyResource_importErrors, read as the provider writes them:
// neither the credential nor a pasted plaintext, nor most of either, appears in any diagnostic.
func TestOrgAPIKeyResource_importErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	testImportErrorsHideSecrets(t, newTestEnv(t))
}

// A guide-style plaintext pasted as an import id cannot be matched to a listed prefix: it is
// refused by its pattern, or reported as an unknown id with the secret redacted.
func TestOrgAPIKeyResource_guideShapeImportErrors(t *testing.T) {
	t.Parallel()
	testImportErrorsHideSecrets(t, newTestEnv(t, inGuideShape))
}

func testImportErrorsHideSecrets(t *testing.T, e *testEnv) {
	h := newResourceHarness(t, e, nil)
	pasted, plaintext := e.seedWithSecret(e.name("pasted"))
	if e.emu != nil && !e.guide() {
		requireOpaque(t, "the seeded plaintext", plaintext)
	}
	for _, tc := range []struct {
		name, id, secret string
		want             *regexp.Regexp
	}{
		{"credential", e.token, e.token, errorPattern("Invalid Import ID", "is a secret", "not shown")},
		{"pasted plaintext", plaintext, plaintext, anyPattern(pastedKeyErrors(e, pasted)...)},
		{"unknown id", e.unknownID(), "", errorPattern("Cannot Import Org API Key", `No live key has the id "`+e.unknownID()+`"`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diags := h.importAndRead(tc.id)
			if !diags.HasError() {
				t.Fatalf("import of %s succeeded", tc.name)
			}
			text := diagText(diags)
			if !tc.want.MatchString(text) {
				t.Errorf("the diagnostics do not match %s:\n%s", tc.want, hideSecret(h.r.data.redact(text), tc.secret))
			}
			if tc.secret != "" {
				diagsNeverShow(t, diags, tc.secret)
			}
		})
	}
	if !e.isLive(pasted.ID) {
		t.Fatalf("key %s must stay live", pasted.ID)
	}
}

// hundredByteName is a unique name of exactly 100 bytes but fewer characters: mostly a two-byte
// letter, so that a limit counted in characters instead of bytes shows.
func hundredByteName(e *testEnv) string {
	name := e.name("utf8")
	for len(name)+2 <= client.MaxNameBytes {
		name += "é"
	}
	for len(name) < client.MaxNameBytes {
		name += "x"
	}
	return name
}

func TestAccOrgAPIKeyResource_invalidName(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	mints := 0
	if e.emu != nil {
		mints = e.emu.RequestCount(emulator.EndpointMint)
	}
	for _, tc := range []struct{ name, want string }{
		{"   ", `empty or only whitespace`},
		{hundredByteName(e) + "x", `101 bytes long in UTF-8; the service accepts at most 100 bytes`},
		{strings.Repeat("é", 51), `102 bytes long in UTF-8`},
		{"bad\\u0007name", `control character`},
	} {
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: e.factories(),
			Steps: []tfresource.TestStep{{
				Config:      fmt.Sprintf("resource \"molecule_org_api_key\" \"test\" {\n  name = \"%s\"\n}\n", tc.name),
				PlanOnly:    true,
				ExpectError: errorPattern("Invalid Org API Key Name", tc.want),
			}},
		})
	}
	if e.emu != nil && e.emu.RequestCount(emulator.EndpointMint) != mints {
		t.Fatalf("an invalid name must be refused before any mint request")
	}
}

// The name limit is 100 bytes, not characters, and a name at the limit is minted as it is.
func TestAccOrgAPIKeyResource_nameAtLimit(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	name := hundredByteName(e)
	if len(name) != client.MaxNameBytes || utf8.RuneCountInString(name) >= client.MaxNameBytes {
		t.Fatalf("the name has %d bytes and %d characters; want 100 bytes in fewer characters", len(name), utf8.RuneCountInString(name))
	}
	var id string
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config:      keyConfig(name + "x"),
				PlanOnly:    true,
				ExpectError: errorPattern("Invalid Org API Key Name", "101 bytes"),
			},
			{
				Config:            keyConfig(name),
				ConfigStateChecks: mintedKeyChecks(e, name),
				Check: tfresource.ComposeAggregateTestCheckFunc(
					captureAttr(keyAddr, "id", &id),
					keyAuthenticates(e),
					func(*terraform.State) error {
						if live := e.liveWithName(name); len(live) != 1 || live[0].ID != id {
							return fmt.Errorf("want the service to list key %s under its 100-byte name, got %v", id, live)
						}
						return nil
					},
				),
			},
		},
	})
}

// A name is required to mint: leaving it out fails at plan, before any request that could mint.
func TestAccOrgAPIKeyResource_missingName(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	before := len(e.liveKeys())
	mints := 0
	if e.emu != nil {
		mints = e.emu.RequestCount(emulator.EndpointMint)
	}
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{
			{
				Config:      unnamedKeyConfig,
				PlanOnly:    true,
				ExpectError: errorPattern("Missing Org API Key Name", "A name is required to mint a key"),
			},
			{
				Config:      "resource \"molecule_org_api_key\" \"test\" {\n  name = null\n}\n",
				ExpectError: errorPattern("Missing Org API Key Name"),
			},
		},
	})
	if e.emu != nil {
		if n := e.emu.RequestCount(emulator.EndpointMint) - mints; n != 0 {
			t.Fatalf("a key without a name reached the mint endpoint %d times", n)
		}
		if n := len(e.liveKeys()); n != before {
			t.Fatalf("%d live keys after the failed plans, %d before", n, before)
		}
	}
}

// A key made in Canvas without a name is listed with a null name, can be imported by a
// configuration without one, and then plans no changes.
func TestAccOrgAPIKeyResource_importUnnamed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	k, _ := e.emu.Seed(emulator.SeedKey{Name: "", CreatedBy: "session"})
	seeded := client.Token{ID: k.ID, Prefix: k.Prefix, CreatedBy: k.CreatedBy, CreatedAt: k.CreatedAt}
	requests := e.countRequests()
	// Every listed key: the credential, when the emulator lists it, then the unnamed key.
	var listed []knownvalue.Check
	for _, id := range e.withCredential() {
		listed = append(listed, knownvalue.ObjectPartial(map[string]knownvalue.Check{"id": knownvalue.StringExact(id)}))
	}
	listed = append(listed, knownvalue.ObjectPartial(map[string]knownvalue.Check{
		"id":     knownvalue.StringExact(k.ID),
		"name":   knownvalue.Null(),
		"prefix": e.listedPrefix(seeded),
	}))

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: keysConfig("") + fmt.Sprintf("data \"molecule_org_api_key\" \"test\" {\n  id = %q\n}\n", k.ID),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keysDataAddr, tfjsonpath.New("keys"), knownvalue.ListExact(listed)),
					statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("name"), knownvalue.Null()),
					statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("created_by"), knownvalue.StringExact("session")),
				},
			},
			{
				Config:             unnamedKeyConfig,
				ResourceName:       keyAddr,
				ImportState:        true,
				ImportStateId:      k.ID,
				ImportStatePersist: true,
				ImportStateCheck:   e.expectImported(seeded, requests),
			},
			{
				Config: unnamedKeyConfig,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("id"), knownvalue.StringExact(k.ID)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("name"), knownvalue.Null()),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("prefix"), e.listedPrefix(seeded)),
					statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("key"), knownvalue.Null()),
				},
				Check: untouchedSince(requests, "the empty apply after the import"),
			},
		},
	})
	if e.emu.IsLive(k.ID) {
		t.Fatalf("the imported unnamed key %s must be revoked by destroy", k.ID)
	}
	if err := requests.expect("after destroy", 0, 1); err != nil {
		t.Fatal(err)
	}
}

// resourceHarness calls the resource's methods directly, for what the testing harness does not
// expose: warnings, private state, and reads against an organization in a chosen state. Like the
// framework, it hands each method a private state and an identity to fill.
type resourceHarness struct {
	t *testing.T
	// ctx is the context of every call: a test may give it a logger.
	ctx      context.Context
	r        *orgAPIKeyResource
	schema   resource.SchemaResponse
	identity resource.IdentitySchemaResponse
}

// newResourceHarness configures the resource with what the provider's Configure hands resources,
// the provider seeing env as its environment (e.env() when nil).
func newResourceHarness(t *testing.T, e *testEnv, env map[string]string) *resourceHarness {
	t.Helper()
	ctx := context.Background()
	h := &resourceHarness{t: t, ctx: context.Background(), r: &orgAPIKeyResource{}}
	var conf resource.ConfigureResponse
	h.r.Configure(ctx, resource.ConfigureRequest{ProviderData: e.providerData(env)}, &conf)
	if conf.Diagnostics.HasError() {
		t.Fatal(conf.Diagnostics)
	}
	h.r.Schema(ctx, resource.SchemaRequest{}, &h.schema)
	h.r.IdentitySchema(ctx, resource.IdentitySchemaRequest{}, &h.identity)
	return h
}

// nullIdentity is the identity the framework hands a method when Terraform sent none.
func (h *resourceHarness) nullIdentity() *tfsdk.ResourceIdentity {
	return &tfsdk.ResourceIdentity{Schema: h.identity.IdentitySchema,
		Raw: tftypes.NewValue(h.identity.IdentitySchema.Type().TerraformType(context.Background()), nil)}
}

// create runs Create with planned as both plan and configuration.
func (h *resourceHarness) create(planned *orgAPIKeyResourceModel) resource.CreateResponse {
	h.t.Helper()
	plan := tfsdk.Plan{Schema: h.schema.Schema, Raw: h.state(planned).Raw}
	resp := resource.CreateResponse{State: h.state(nil), Identity: h.nullIdentity()}
	newPrivate(&resp.Private)
	h.r.Create(h.ctx, resource.CreateRequest{Plan: plan, Config: tfsdk.Config{Schema: h.schema.Schema, Raw: plan.Raw},
		Identity: h.nullIdentity()}, &resp)
	return resp
}

// toMint is a new key named name as Terraform plans it: everything the service decides unknown.
func toMint(name string) *orgAPIKeyResourceModel {
	return &orgAPIKeyResourceModel{
		ID: types.StringUnknown(), Name: types.StringValue(name), Prefix: types.StringUnknown(), Key: types.StringUnknown(),
		CreatedBy: types.StringUnknown(), CreatedAt: types.StringUnknown(), LastUsedAt: types.StringUnknown(),
		RotateAfter: types.StringNull(), RotateAt: types.StringUnknown(), RotationTriggers: types.MapNull(types.StringType),
	}
}

// importState runs ImportState with an id string, as terraform import does.
func (h *resourceHarness) importState(id string) resource.ImportStateResponse {
	resp := resource.ImportStateResponse{State: h.state(nil), Identity: h.nullIdentity()}
	newPrivate(&resp.Private)
	h.r.ImportState(h.ctx, resource.ImportStateRequest{ID: id}, &resp)
	return resp
}

func (h *resourceHarness) state(m *orgAPIKeyResourceModel) tfsdk.State {
	h.t.Helper()
	ctx := context.Background()
	s := tfsdk.State{Schema: h.schema.Schema, Raw: tftypes.NewValue(h.schema.Schema.Type().TerraformType(ctx), nil)}
	if m != nil {
		if d := s.Set(ctx, m); d.HasError() {
			h.t.Fatal(d)
		}
	}
	return s
}

// stored is a key as state holds it after a mint by this provider.
func stored(id, name, key string) *orgAPIKeyResourceModel {
	return &orgAPIKeyResourceModel{
		ID: types.StringValue(id), Name: types.StringValue(name), Prefix: types.StringValue(key[:client.PrefixLength]),
		Key: types.StringValue(key), CreatedBy: types.StringValue("admin-token"),
		CreatedAt: types.StringValue(time.Now().UTC().Format(time.RFC3339)), LastUsedAt: types.StringNull(),
		RotateAfter: types.StringNull(), RotateAt: types.StringNull(), RotationTriggers: types.MapNull(types.StringType),
	}
}

// read runs Read of state, with the null identity of state written before the resource had one.
func (h *resourceHarness) read(state tfsdk.State) resource.ReadResponse {
	h.t.Helper()
	resp := resource.ReadResponse{State: state, Identity: h.nullIdentity()}
	newPrivate(&resp.Private)
	h.r.Read(h.ctx, resource.ReadRequest{State: state, Identity: h.nullIdentity()}, &resp)
	return resp
}

// delete runs Delete of state as the framework does: the response starts as the prior state,
// and the request and the response share one private state.
func (h *resourceHarness) delete(state tfsdk.State) resource.DeleteResponse {
	h.t.Helper()
	req := resource.DeleteRequest{State: state, Identity: h.nullIdentity()}
	newPrivate(&req.Private)
	resp := resource.DeleteResponse{State: tfsdk.State{Schema: state.Schema, Raw: state.Raw.Copy()}, Identity: h.nullIdentity(), Private: req.Private}
	h.r.Delete(h.ctx, req, &resp)
	return resp
}

// model is the key that state holds.
func (h *resourceHarness) model(state tfsdk.State) orgAPIKeyResourceModel {
	h.t.Helper()
	var m orgAPIKeyResourceModel
	if d := state.Get(context.Background(), &m); d.HasError() {
		h.t.Fatal(d)
	}
	return m
}

// Warnings and the revoke-after-revoke path are asserted at the framework level: the testing
// harness does not expose warnings, and its destroy refreshes first.
func TestOrgAPIKeyResource_direct(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	emu := e.emu
	h := newResourceHarness(t, e, nil)
	ctx := context.Background()

	t.Run("import", func(t *testing.T) {
		k, _ := emu.Seed(emulator.SeedKey{Name: "imported"})
		resp := h.importState(k.ID)
		if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 ||
			!strings.Contains(resp.Diagnostics.Warnings()[0].Detail(), "cannot be recovered") {
			t.Fatalf("want one warning that the plaintext cannot be recovered, got %v", resp.Diagnostics)
		}
	})

	t.Run("revoked out of band", func(t *testing.T) {
		k, plaintext := emu.Seed(emulator.SeedKey{Name: "doomed"})
		emu.Revoke(k.ID)
		resp := h.read(h.state(stored(k.ID, "doomed", plaintext)))
		if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 ||
			!strings.Contains(resp.Diagnostics.Warnings()[0].Summary(), "Revoked Outside Terraform") {
			t.Fatalf("want one revoked-outside-Terraform warning, got %v", resp.Diagnostics)
		}
		if !resp.State.Raw.IsNull() {
			t.Fatal("the revoked key must be removed from state")
		}
	})

	t.Run("delete of an already revoked key succeeds", func(t *testing.T) {
		k, plaintext := emu.Seed(emulator.SeedKey{Name: "twice"})
		emu.Revoke(k.ID)
		before := emu.RequestCount(emulator.EndpointRevoke)
		m := stored(k.ID, "twice", plaintext)
		m.Key = types.StringNull()
		state := h.state(m)
		resp := resource.DeleteResponse{State: state}
		h.r.Delete(ctx, resource.DeleteRequest{State: state}, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatalf("a 404 on revoke means already revoked and must succeed, got %v", resp.Diagnostics)
		}
		if got := emu.RequestCount(emulator.EndpointRevoke) - before; got != 1 {
			t.Fatalf("want 1 revoke request, got %d", got)
		}
	})
}

// A key absent from a list that may be incomplete is kept in state, unchanged and with a warning,
// and nothing is minted in its place; absent from a complete list, it is dropped.
func TestOrgAPIKeyResource_readIncompleteList(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	k, plaintext := e.emu.Seed(emulator.SeedKey{Name: "managed", CreatedAt: timeAgo(time.Hour)})
	e.emu.Revoke(k.ID)
	var fillers []string
	for _, f := range fillWithKeys(e, client.ServiceListMax) {
		fillers = append(fillers, f.ID)
	}

	// Each read is a fresh provider, as each Terraform command is.
	h := newResourceHarness(t, e, nil)
	state := h.state(stored(k.ID, "managed", plaintext))
	resp := h.read(state)
	if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 {
		t.Fatalf("want exactly one warning, got %v", resp.Diagnostics)
	}
	w := resp.Diagnostics.Warnings()[0]
	if w.Summary() != "Org API Key Not Found in an Incomplete List" ||
		!strings.Contains(w.Detail(), k.ID) || !strings.Contains(w.Detail(), "stays in state unchanged") {
		t.Fatalf("want the incomplete-list warning naming key %s, got %q: %q", k.ID, w.Summary(), w.Detail())
	}
	if !resp.State.Raw.Equal(state.Raw) {
		t.Fatal("a key absent from an incomplete list must stay in state unchanged")
	}
	diagsNeverShow(t, resp.Diagnostics, plaintext)

	// One key fewer and the list is complete: now absence proves the key was revoked.
	if !e.emu.Revoke(fillers[0]) {
		t.Fatal("filler was not live")
	}
	resp = newResourceHarness(t, e, nil).read(state)
	if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 ||
		resp.Diagnostics.Warnings()[0].Summary() != "Org API Key Revoked Outside Terraform" {
		t.Fatalf("want the revoked-outside-Terraform warning from a complete list, got %v", resp.Diagnostics)
	}
	if !resp.State.Raw.IsNull() {
		t.Fatal("a key absent from a complete list must be removed from state")
	}
	if n := e.emu.RequestCount(emulator.EndpointMint); n != 0 {
		t.Fatalf("reads made %d mint requests", n)
	}
}

// A rejected credential is explained without being echoed, in any diagnostic, even when the
// answer quotes it back (as a proxy that echoes request headers would). The deployed-shape
// credential has no pattern to catch, so only redaction by value can hide it.
func TestOrgAPIKeyResource_rejectedCredentialNotEchoed(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	canary := newOpaqueSecret()
	requireOpaque(t, "the canary credential", canary)
	for _, tc := range []struct {
		name  string
		fault *emulator.Fault
	}{
		{"plain 401", nil},
		{"401 quoting the credential", &emulator.Fault{Status: 401, Times: 10,
			Body: `{"error":"invalid admin auth token: Authorization: Bearer ` + canary + `"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != nil {
				e.emu.AddFault(*tc.fault)
				t.Cleanup(e.emu.ClearFaults)
			}
			env := e.env()
			env[envAdminToken] = canary
			resp := newResourceHarness(t, e, env).create(toMint("ci"))
			if !resp.Diagnostics.HasError() {
				t.Fatal("want an error for a rejected credential")
			}
			text := diagText(resp.Diagnostics)
			if !strings.Contains(text, "the token was rejected") || !strings.Contains(text, "MOLECULE_ORG_TOKEN") {
				t.Fatalf("the diagnostic must explain the rejection and say what to check:\n%s", hideSecret(text, canary))
			}
			if tc.fault != nil && !strings.Contains(text, "[redacted]") {
				t.Fatalf("the echoed credential did not reach the diagnostic, so the test proves nothing:\n%s", hideSecret(text, canary))
			}
			diagsNeverShow(t, resp.Diagnostics, canary)
		})
	}
	if n := len(mintedKeys(e.emu)); n != 0 {
		t.Fatalf("a rejected credential minted %d keys", n)
	}
}
