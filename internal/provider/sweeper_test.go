package provider

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

// The sweeper revokes keys that interrupted acceptance runs left behind in a real organization.
// It touches only keys whose name starts with testKeyPrefix, and only on explicit opt-in:
//
//	MOLECULE_ACC_REAL=1 MOLECULE_ACC_ENDPOINT=... MOLECULE_ACC_TOKEN=... make sweep
func init() {
	resource.AddTestSweepers("molecule_org_api_key", &resource.Sweeper{
		Name: "molecule_org_api_key",
		F:    sweepOrgAPIKeys,
	})
}

func sweepOrgAPIKeys(_ string) error {
	if !realOrg() {
		return fmt.Errorf("refusing to sweep: set %s=1 with %s and %s", envAccReal, envAccEndpoint, envAccToken)
	}
	api, err := client.New(client.Config{
		Endpoint:   os.Getenv(envAccEndpoint),
		Token:      os.Getenv(envAccToken),
		UserAgent:  "terraform-provider-molecule-sweeper",
		MaxRetries: client.DefaultMaxRetries,
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	// The service lists only its newest 500 keys, so sweeping repeats until a list that may be
	// incomplete yields nothing more to revoke.
	var failed []string
	for round := 1; ; round++ {
		snap, err := api.Snapshot(ctx)
		if err != nil {
			return fmt.Errorf("listing keys: %w", err)
		}
		revoked := 0
		for _, k := range snap.Tokens {
			if !strings.HasPrefix(k.Name, testKeyPrefix) {
				continue
			}
			if err := api.Revoke(ctx, k.ID); err != nil && !client.IsKeyNotLive(err) {
				failed = append(failed, fmt.Sprintf("%s: %v", k.ID, err))
				continue
			}
			revoked++
		}
		if snap.Incomplete == "" || revoked == 0 || round == 100 {
			break
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not revoke %d keys: %s", len(failed), strings.Join(failed, "; "))
	}
	return nil
}
