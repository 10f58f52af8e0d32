package provider

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// expiresAfterCreation checks that the key's expires_at is its created_at plus d, and that the
// service holds that expiry.
func expiresAfterCreation(e *testEnv, d time.Duration) tfresource.TestCheckFunc {
	return func(s *terraform.State) error {
		rs, ok := s.RootModule().Resources[keyAddr]
		if !ok {
			return fmt.Errorf("%s not in state", keyAddr)
		}
		created, err1 := time.Parse(time.RFC3339, rs.Primary.Attributes["created_at"])
		expires, err2 := time.Parse(time.RFC3339, rs.Primary.Attributes["expires_at"])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("created_at %q, expires_at %q", rs.Primary.Attributes["created_at"], rs.Primary.Attributes["expires_at"])
		}
		// The mint asks for its expiry by the provider's clock, to the second, before the service
		// stamps created_at.
		if got := expires.Sub(created); got < d-2*time.Second || got > d+time.Second {
			return fmt.Errorf("expires_at %s is %s after created_at %s, want %s", expires, got, created, d)
		}
		if k, ok := e.emu.Key(rs.Primary.ID); !ok || k.ExpiresAt == nil || !k.ExpiresAt.Equal(expires) {
			return fmt.Errorf("the service holds key %s with expiry %v, state %s", rs.Primary.ID, k.ExpiresAt, expires)
		}
		return nil
	}
}

// A key minted with a lifetime expires then; once it has, the next plan that refreshes it
// replaces it and revokes the expired key. Changing the lifetime replaces the key too.
func TestAccOrgAPIKeyResource_lifetime(t *testing.T) {
	t.Parallel()
	clock := &testClock{}
	e := newTestEnv(t, withClock(clock))
	name := e.name("expiring")
	config := func(lifetime string) string { return rotationConfig(name, lifetime) }
	var first, second string
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: config("  lifetime = \"1h\"\n"),
				Check:  tfresource.ComposeAggregateTestCheckFunc(captureAttr(keyAddr, "id", &first), expiresAfterCreation(e, time.Hour), keyAuthenticates(e)),
			},
			{
				// An hour and a minute later the key no longer authenticates, and is replaced.
				PreConfig: func() { clock.advance(61 * time.Minute) },
				Config:    config("  lifetime = \"1h\"\n"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: tfresource.ComposeAggregateTestCheckFunc(
					captureAttr(keyAddr, "id", &second),
					expiresAfterCreation(e, time.Hour),
					keyAuthenticates(e),
					func(*terraform.State) error {
						if second == first {
							return fmt.Errorf("the expired key %s was kept", first)
						}
						if k, _ := e.emu.Key(first); k.RevokedAt == nil {
							return fmt.Errorf("the expired key %s was not revoked", first)
						}
						return nil
					},
				),
			},
			{
				Config: config("  lifetime = \"2h\"\n"),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: expiresAfterCreation(e, 2*time.Hour),
			},
			{
				Config: config(""),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate),
					plancheck.ExpectKnownValue(keyAddr, tfjsonpath.New("expires_at"), knownvalue.Null()),
				}},
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("expires_at"), knownvalue.Null())},
			},
		},
	})
}

// A rotation that would come after the key expires is refused before anything is sent.
func TestAccOrgAPIKeyResource_rotationAfterExpiry(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	e.expectError(t, rotationConfig(e.name("late-rotation"), "  lifetime     = \"24h\"\n  rotate_after = \"24h\"\n"),
		errorPattern("Rotation After the Key Expires", "rotate_after (24h) must be shorter than lifetime (24h)"))
	if n := e.emu.RequestCount(emulator.EndpointMint); n != 0 {
		t.Fatalf("%d mint requests", n)
	}
}

// A service that ignores expires_at (April 2026) mints a key that never expires: expires_at is
// null, later plans stay empty, and the mint warns rather than promise an expiry.
func TestAccOrgAPIKeyResource_lifetimeIgnoredByTheService(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, onEmulator(emulator.Options{Build: emulator.BuildApril2026}))
	config := rotationConfig(e.name("no-expiry"), "  lifetime = \"1h\"\n")
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config:            config,
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("expires_at"), knownvalue.Null())},
			},
			{Config: config, PlanOnly: true},
		},
	})

	h := newResourceHarness(t, e, nil)
	resp := h.create(&orgAPIKeyResourceModel{
		ID: types.StringUnknown(), Name: types.StringValue(e.name("warned")), Prefix: types.StringUnknown(), Key: types.StringUnknown(),
		CreatedBy: types.StringUnknown(), CreatedAt: types.StringUnknown(), LastUsedAt: types.StringUnknown(),
		RotateAt: types.StringNull(), RotationTriggers: types.MapNull(types.StringType),
		Lifetime: types.StringValue("1h"), ExpiresAt: types.StringUnknown(),
	})
	if resp.Diagnostics.HasError() || resp.Diagnostics.WarningsCount() != 1 ||
		resp.Diagnostics.Warnings()[0].Summary() != "Org API Key Expiry Not Supported by the Service" ||
		!strings.Contains(resp.Diagnostics.Warnings()[0].Detail(), "ignores expires_at, so the key does not expire") {
		t.Fatalf("want the expiry warning, got %v", resp.Diagnostics)
	}
	var m orgAPIKeyResourceModel
	resp.State.Get(context.Background(), &m)
	if !m.ExpiresAt.IsNull() {
		t.Fatalf("expires_at %s, want null", m.ExpiresAt)
	}
}

// Both data sources show every listed key's expiry and tell expired keys from usable ones; the
// list data source filters on it.
func TestAccOrgAPIKeysDataSource_expiry(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	prefix := e.name("expiry") + "-"
	past, future := time.Now().Add(-time.Hour).UTC().Truncate(time.Second), time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	expired, _ := e.emu.Seed(emulator.SeedKey{Name: prefix + "expired", OrgID: e.emu.OrganizationID(), ExpiresAt: &past, CreatedAt: time.Now().Add(-2 * time.Hour)})
	expiring, _ := e.emu.Seed(emulator.SeedKey{Name: prefix + "expiring", OrgID: e.emu.OrganizationID(), ExpiresAt: &future, CreatedAt: time.Now().Add(-time.Minute)})
	forever, _ := e.emu.Seed(emulator.SeedKey{Name: prefix + "forever", OrgID: e.emu.OrganizationID()})
	key := func(k emulator.Key, exp bool) knownvalue.Check {
		var at knownvalue.Check = knownvalue.Null()
		if k.ExpiresAt != nil {
			at = knownvalue.StringExact(k.ExpiresAt.Format(time.RFC3339))
		}
		return knownvalue.ObjectPartial(map[string]knownvalue.Check{"id": knownvalue.StringExact(k.ID), "expires_at": at, "expired": knownvalue.Bool(exp)})
	}
	one := fmt.Sprintf("data \"molecule_org_api_key\" \"test\" {\n  id = %q\n}\n", expired.ID)
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []tfresource.TestStep{
			{
				Config: keysConfig(fmt.Sprintf("  name_prefix = %q\n", prefix)) + one,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(keysDataAddr, tfjsonpath.New("keys"), knownvalue.ListExact([]knownvalue.Check{
						key(expired, true), key(expiring, false), key(forever, false),
					})),
					statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("expired"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(keyDataAddr, tfjsonpath.New("expires_at"), knownvalue.StringExact(past.Format(time.RFC3339))),
				},
			},
			{
				Config:            keysConfig(fmt.Sprintf("  name_prefix = %q\n  expired = true\n", prefix)),
				ConfigStateChecks: []statecheck.StateCheck{expectIDs(expired.ID)},
			},
			{
				Config:            keysConfig(fmt.Sprintf("  name_prefix = %q\n  expired = false\n", prefix)),
				ConfigStateChecks: []statecheck.StateCheck{expectIDs(expiring.ID, forever.ID)},
			},
		},
	})
}

// The list resource shows an expired key as such, and filters on it.
func TestOrgAPIKeyListResource_expiry(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	past := time.Now().Add(-time.Hour)
	prefix := e.name("listed-expiry") + "-"
	e.emu.Seed(emulator.SeedKey{Name: prefix + "old", ExpiresAt: &past, CreatedAt: time.Now().Add(-2 * time.Hour)})
	e.emu.Seed(emulator.SeedKey{Name: prefix + "new"})
	h := newListHarness(t, e)
	names := func(expired types.Bool) []string {
		cfg := noFilters
		cfg.NamePrefix, cfg.Expired = types.StringValue(prefix), expired
		var out []string
		for _, r := range h.list(cfg, false, 0) {
			out = append(out, r.DisplayName)
		}
		return out
	}
	if got := strings.Join(names(types.BoolNull()), ", "); got != prefix+"old (expired), "+prefix+"new" {
		t.Errorf("all: %s", got)
	}
	if got := strings.Join(names(types.BoolValue(true)), ", "); got != prefix+"old (expired)" {
		t.Errorf("expired: %s", got)
	}
	if got := strings.Join(names(types.BoolValue(false)), ", "); got != prefix+"new" {
		t.Errorf("usable: %s", got)
	}
}

// An ephemeral key expires an hour after it is minted unless told otherwise, so that one whose
// close never ran stops working by itself.
func TestOrgAPIKeyEphemeralResource_lifetime(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulatorOnly)
	p := newRPCProvider(t, e)
	check := func(name string, want time.Duration) {
		t.Helper()
		k := onlyKeyNamed(t, e, name)
		if k.ExpiresAt == nil {
			t.Fatalf("ephemeral key %s has no expiry", name)
		}
		if got := time.Until(*k.ExpiresAt); got < want-time.Minute || got > want {
			t.Errorf("ephemeral key %s expires in %s, want about %s", name, got, want)
		}
	}
	p.open("default-lifetime")
	check("default-lifetime", time.Hour)
	p.openWith(map[string]string{"name": "short-lifetime", "lifetime": "10m"})
	check("short-lifetime", 10*time.Minute)
}

// On a real server a key minted with a short lifetime stops authenticating when it expires, and
// the next plan replaces it and revokes it; a server that ignores expiry (April 2026) mints a
// key that never expires, and later plans are empty. The emulator's side of this, with a clock
// the test moves, is TestAccOrgAPIKeyResource_lifetime.
func TestAccOrgAPIKeyResource_expiresOnTheService(t *testing.T) {
	if !realOrg() {
		t.Skip("waits for a real server's clock; make test proves the same on the emulator, whose clock it moves " +
			"(TestAccOrgAPIKeyResource_lifetime)")
	}
	t.Parallel()
	e := newTestEnv(t)
	name := e.name("short-lived")
	if os.Getenv(envAccPlatformWorkspaceID) == "" && os.Getenv(envAccServerRun) != "" {
		config := rotationConfig(name, "  lifetime = \"1h\"\n")
		tfresource.Test(t, tfresource.TestCase{
			ProtoV6ProviderFactories: e.factories(),
			CheckDestroy:             e.checkDestroy,
			Steps: []tfresource.TestStep{
				{Config: config, ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(keyAddr, tfjsonpath.New("expires_at"), knownvalue.Null())}},
				{Config: config, PlanOnly: true},
			},
		})
		return
	}
	config := rotationConfig(name, "  lifetime = \"1m\"\n")
	var first, expires, key string
	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: config,
				Check: tfresource.ComposeAggregateTestCheckFunc(captureAttr(keyAddr, "id", &first), captureAttr(keyAddr, "expires_at", &expires),
					captureAttr(keyAddr, "key", &key), keyAuthenticates(e)),
			},
			{
				PreConfig: func() {
					at, err := time.Parse(time.RFC3339, expires)
					if err != nil {
						t.Fatal(err)
					}
					time.Sleep(time.Until(at) + 3*time.Second)
					c, err := client.New(client.Config{Endpoint: e.endpoint, Token: key, UserAgent: "molecule-acc-test"})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := c.Snapshot(context.Background()); !client.IsUnauthorized(err) {
						t.Fatalf("the expired key's secret gets %v, want 401", err)
					}
				},
				Config: config,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: func(s *terraform.State) error {
					if s.RootModule().Resources[keyAddr].Primary.ID == first {
						return fmt.Errorf("the expired key %s was kept", first)
					}
					if e.isLive(first) {
						return fmt.Errorf("the expired key %s was not revoked", first)
					}
					return nil
				},
			},
		},
	})
}
