package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/acctest"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

// The service's two limits that shape what a provider may conclude: 10 mints an hour per caller,
// and a list of at most the newest 500 live keys.

// countedKeysConfig is n molecule_org_api_key resources named prefix-<index>.
func countedKeysConfig(prefix string, n int) string {
	return fmt.Sprintf(`
resource "molecule_org_api_key" "bulk" {
  count = %d
  name  = "%s-${count.index}"
}
`, n, prefix)
}

// expectCreates is a plan check: exactly n resources are to be created, and nothing else changes.
type expectCreates int

func (n expectCreates) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	creates := 0
	for _, rc := range req.Plan.ResourceChanges {
		switch {
		case rc.Change.Actions.Create():
			creates++
		case !rc.Change.Actions.NoOp() && !rc.Change.Actions.Read():
			resp.Error = fmt.Errorf("%s: unexpected actions %v", rc.Address, rc.Change.Actions)
			return
		}
	}
	if creates != int(n) {
		resp.Error = fmt.Errorf("the plan creates %d resources, want %d", creates, n)
	}
}

var _ plancheck.PlanCheck = expectCreates(0)

// TestAccOrgAPIKeyResource_mintQuota applies 12 keys where the service allows 10 mints an hour:
// 10 are minted and recorded, the apply fails at once with the time the quota refills, no key is
// live that state does not know, and the next plan adds the 2 still missing. Against a real
// deployment it needs the server's own limiter, without a proxy in front that makes every request
// a new caller (MOLECULE_ACC_DIRECT_ENDPOINT).
func TestAccOrgAPIKeyResource_mintQuota(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	endpoint := e.endpoint
	if e.emu == nil {
		endpoint = os.Getenv(envAccDirectEndpoint)
		if endpoint == "" {
			t.Skipf("needs %s: a real deployment counts the mint quota per caller, and %s may make every request a new one",
				envAccDirectEndpoint, envAccEndpoint)
		}
	}
	env := e.env()
	env[envEndpoint] = endpoint
	delete(env, envMaxRetryWait) // the default: a Retry-After of up to an hour is longer
	prefix := testKeyPrefix + "quota-" + acctest.RandString(6)
	config := countedKeysConfig(prefix, 12)
	started := time.Now()

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factoriesWithEnv(env),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: config,
				ExpectError: errorPattern("Unable to Mint Org API Key", "mint quota is used up",
					"10 mints an hour: per organization on the hosted service", "per credential on a self-hosted deployment", "quota refills at", "keys already minted are in state"),
			},
			{
				// The failed apply kept what it minted: 10 keys, all in state, nothing else live.
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: tfresource.ComposeAggregateTestCheckFunc(
					func(s *terraform.State) error {
						if time.Since(started) > 2*time.Minute {
							return fmt.Errorf("the apply took %s: it should fail fast, not wait for the quota", time.Since(started))
						}
						ids := stateIDs(s)
						if len(ids) != 10 {
							return fmt.Errorf("state holds %d keys, want the 10 the quota allowed", len(ids))
						}
						live := liveNamedPrefix(e, prefix)
						slices.Sort(ids)
						if !slices.Equal(ids, live) {
							return fmt.Errorf("live keys %v differ from state %v", live, ids)
						}
						return nil
					},
				),
			},
			{
				Config:             config,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{expectCreates(2)},
				},
			},
		},
	})
}

// liveNamedPrefix returns the sorted ids of live keys whose name starts with prefix.
func liveNamedPrefix(e *testEnv, prefix string) []string {
	e.t.Helper()
	var ids []string
	for _, k := range e.liveKeys() {
		if len(k.Name) >= len(prefix) && k.Name[:len(prefix)] == prefix {
			ids = append(ids, k.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// fillList makes n live keys newer than every key so far, so that older ones drop out of the
// service's list. They are revoked when the test ends.
//
// Against a self-hosted server whose database the test reaches, they are written there, as keys
// minted in Canvas are (no org, "session"): minting them through the API would take a minute,
// and on builds with a per-org ceiling, keys minted by an anchored credential stop at 100.
func (e *testEnv) fillList(n int) {
	e.t.Helper()
	if e.emu != nil {
		fillWithKeys(e, n+len(e.emu.LiveKeys()))
		return
	}
	if db := e.databaseURL; db != "" {
		e.fillListInDatabase(db, n)
		return
	}
	var (
		mu   sync.Mutex
		ids  []string
		errs []error
		wg   sync.WaitGroup
		work = make(chan int)
	)
	e.t.Cleanup(func() {
		for _, id := range ids {
			_ = e.api.Revoke(context.Background(), id)
		}
	})
	for range 8 {
		wg.Go(func() {
			for i := range work {
				m, _, err := e.api.MintReconciled(context.Background(), fmt.Sprintf("%sfiller-%d", testKeyPrefix, i), client.MintOptions{})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					ids = append(ids, m.ID)
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		e.t.Fatalf("minting %d filler keys: %d failed, the first: %v", n, len(errs), errs[0])
	}
}

// fillListInDatabase inserts n live keys into a self-hosted server's org_api_tokens, with hashes
// of random values nobody holds, and revokes them there when the test ends.
func (e *testEnv) fillListInDatabase(db string, n int) {
	e.t.Helper()
	prefix := fmt.Sprintf("%sfiller-%s-", testKeyPrefix, acctest.RandString(6))
	psql := func(sql string) {
		e.t.Helper()
		// Not the test's context: the cleanup runs after it has ended.
		if out, err := exec.CommandContext(context.Background(), "psql", db, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql).CombinedOutput(); err != nil {
			e.t.Fatalf("psql: %v: %s", err, out)
		}
	}
	e.t.Cleanup(func() {
		psql(fmt.Sprintf("UPDATE org_api_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND name LIKE '%s%%'", prefix))
	})
	psql(fmt.Sprintf(`INSERT INTO org_api_tokens (token_hash, prefix, name, created_by, created_at)
		SELECT sha256(convert_to(gen_random_uuid()::text, 'UTF8')), substr(md5(random()::text), 1, 8), '%s' || i, 'session',
		       clock_timestamp() + interval '1 second'
		FROM generate_series(1, %d) AS i`, prefix, n))
}

// TestAccOrgAPIKeyResource_olderThanListCap pushes a managed key out of the service's list with
// 500 newer keys: the key is neither dropped from state nor minted again, and stays live.
func TestAccOrgAPIKeyResource_olderThanListCap(t *testing.T) {
	if !realOrg() {
		t.Parallel()
	} // else it runs alone: while its 500 keys are live, every list of the organization is incomplete
	e := newTestEnv(t)
	name := e.name("old")
	var id string

	tfresource.Test(t, tfresource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy:             e.checkDestroy,
		Steps: []tfresource.TestStep{
			{
				Config: keyConfig(name),
				Check:  captureAttr(keyAddr, "id", &id),
			},
			{
				PreConfig: func() {
					e.fillList(client.ServiceListMax)
					for _, k := range e.liveKeys() {
						if k.ID == id {
							t.Fatalf("key %s is still listed after %d newer keys; the test proves nothing", id, client.ServiceListMax)
						}
					}
				},
				Config: keyConfig(name),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction(keyAddr, plancheck.ResourceActionNoop)},
				},
				Check: func(s *terraform.State) error {
					if got := s.RootModule().Resources[keyAddr].Primary.ID; got != id {
						return fmt.Errorf("state holds key %s, want the original %s", got, id)
					}
					if !e.isLive(id) {
						return fmt.Errorf("key %s is no longer live", id)
					}
					return nil
				},
			},
		},
	})
}
