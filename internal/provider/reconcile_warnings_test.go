package provider

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

// What reconciling a mint did reaches the user as warnings: each revoked key by id, with the
// shared-credential caveat, and a key left live behind a mint that succeeded (ReconcileErr),
// without echoing a secret the error may quote.
func TestReconcileWarnings(t *testing.T) {
	t.Parallel()
	const credential = "credential-canary-7f3c2a9b1d"
	data, err := newProviderData(time.Now, client.Config{Endpoint: "https://molecule.invalid", Token: credential, UserAgent: "unit"})
	if err != nil {
		t.Fatal(err)
	}
	minted := &client.MintedToken{Token: client.Token{ID: "k-minted"}, ReconcileErr: &client.UnresolvedMintError{
		Name: "ci", Candidates: []string{"k-late"}, Reason: "revoking the keys it may have created failed (" + credential + ")",
		Cause: errors.New("timeout"),
	}}
	diags := data.reconcileWarnings("key", "ci", []string{"k-1", "k-2"}, minted)
	if diags.HasError() || len(diags) != 3 {
		t.Fatalf("want 3 warnings and no error, got %v", diags)
	}
	for i, id := range []string{"k-1", "k-2"} {
		d := diags[i]
		if d.Summary() != "Revoked Key From a Lost Mint Response" || !strings.Contains(d.Detail(), id) ||
			!strings.Contains(d.Detail(), "cannot be told apart") {
			t.Errorf("warning %d = %q: %q; want the revoked key %s and the shared-credential caveat", i, d.Summary(), d.Detail(), id)
		}
	}
	last := diags[2]
	if last.Summary() != "Lost Mint Response Not Fully Reconciled" || !strings.Contains(last.Detail(), "k-minted") ||
		!strings.Contains(last.Detail(), "k-late") {
		t.Errorf("warning = %q: %q; want the minted key and the key left live", last.Summary(), last.Detail())
	}
	if strings.Contains(last.Detail(), credential) {
		t.Errorf("the warning echoes the credential: %q", last.Detail())
	}

	if diags := data.reconcileWarnings("key", "ci", nil, &client.MintedToken{Token: client.Token{ID: "k"}}); len(diags) != 0 {
		t.Errorf("a mint with nothing to reconcile warned: %v", diags)
	}
}
