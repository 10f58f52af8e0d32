package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

func timeValue(t time.Time) types.String {
	if t.IsZero() {
		return types.StringNull()
	}
	return types.StringValue(t.UTC().Format(time.RFC3339))
}

func optionalTimeValue(t *time.Time) types.String {
	if t == nil {
		return types.StringNull()
	}
	return timeValue(*t)
}

// sanitizeForMessage keeps user input that is echoed in a diagnostic short and free of known
// secrets (someone may paste a secret where an id belongs).
func (d *providerData) sanitizeForMessage(s string) string {
	s = d.redact(s)
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80]) + "…"
	}
	return s
}

// optionalString maps the service's "absent" (an empty string) to null.
func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// nextStep turns an API failure into advice on what to do about it.
func nextStep(err error) string {
	sent := client.OrgIDWasSent(err)
	switch {
	case client.OrgIDRequired(err) && !sent:
		return orgIDAdvice
	case client.OrgIDRequired(err):
		return "org_id is set, but the request reached the service without it: a proxy between this machine and the " +
			"service may drop the " + client.OrgIDHeader + " header."
	case client.IsRoutingFailure(err) && sent:
		return "org_id is set: it may be another organization's id (a hosted organization answers a bare 404 to any other), " +
			"or the endpoint may be wrong. Check that org_id (" + envOrgID + ") is this organization's UUID, and that endpoint " +
			"or org (" + envEndpoint + ", " + envOrg + ") is its base URL, without a path."
	case client.IsRoutingFailure(err):
		return "Check that endpoint or org (" + envEndpoint + ", " + envOrg + ") is the organization's base URL, without a " +
			"path. " + orgIDAdvice + " Builds of the service before June 2026 answer a bare 404 without it."
	case client.IsUnauthorized(err):
		return "Check the provider's credential (MOLECULE_ORG_TOKEN or MOLECULE_ADMIN_TOKEN): it was rejected, " +
			"and may have been revoked, expired with a redeploy, or belong to another organization."
	case client.IsForbidden(err):
		return "The credential is valid but not allowed to do this; use an org API key or the ADMIN_TOKEN of this organization."
	case client.IsRateLimited(err):
		return "The service is rate limiting requests; wait a moment, or lower Terraform's -parallelism, and try again."
	}
	return ""
}

// orgIDAdvice says what a hosted organization needs that the configuration lacks.
const orgIDAdvice = "A hosted organization answers only requests that carry its UUID: set the provider's org_id " +
	"attribute, or the " + envOrgID + " environment variable, to the organization's UUID (not its slug)."

// findKey returns the live key with the given id, or nil when the list does not have it; then
// incomplete says why that proves nothing ("" when the list was certainly complete). The API has
// no get-by-id, so this looks the key up in the process's shared list snapshot: refreshing N
// keys costs one list request, not N.
func (d *providerData) findKey(ctx context.Context, id string) (token *client.Token, incomplete string, err error) {
	snap, err := d.client.Snapshot(ctx)
	if err != nil {
		return nil, "", err
	}
	if t, ok := snap.Lookup(id); ok {
		return &t, "", nil
	}
	return nil, snap.Incomplete, nil
}

// listKeys returns the shared snapshot of live keys. Its slice is shared: callers copy before
// they reorder or modify it.
func (d *providerData) listKeys(ctx context.Context) (*client.Snapshot, error) {
	return d.client.Snapshot(ctx)
}

// secretLookalike returns the live key whose prefix input starts with, when input is longer than
// a prefix and is not itself an id: input is then almost certainly that key's plaintext, pasted
// where an id belongs, and must not be echoed. Keys have no fixed format; the prefix the service
// shows is the only tell.
func secretLookalike(snap *client.Snapshot, input string) (client.Token, bool) {
	if len(input) <= client.PrefixLength {
		return client.Token{}, false
	}
	if _, ok := snap.Lookup(input); ok {
		return client.Token{}, false
	}
	for _, t := range snap.Tokens {
		if t.Prefix != "" && strings.HasPrefix(input, t.Prefix) {
			return t, true
		}
	}
	return client.Token{}, false
}

// describeKey names a key for a diagnostic: its id, and its name when it has one.
func describeKey(t client.Token) string {
	if t.Name == "" {
		return t.ID
	}
	return fmt.Sprintf("%s (%q)", t.ID, t.Name)
}

// incompleteListAdvice explains what an incomplete list means for a key it lacks.
func incompleteListAdvice(reason string) string {
	return fmt.Sprintf("The list of live keys may be incomplete (%s), so a key absent from it may still be live: "+
		"the service lists only its newest %d keys (Canvas shows the same list). Revoking keys nobody uses, "+
		"until fewer than %d are live, lets Terraform see every key again.",
		reason, client.ServiceListMax, client.ServiceListMax)
}

// reconcileWarnings reports what reconciling a mint of key name (what: "key" or "ephemeral key")
// did behind the caller's back: keys revoked as a lost answer's, and, when the mint succeeded
// after a lost answer, keys that could not be accounted for.
func (d *providerData) reconcileWarnings(what, name string, revoked []string, minted *client.MintedToken) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, id := range revoked {
		diags.AddWarning("Revoked Key From a Lost Mint Response",
			fmt.Sprintf("A request to mint %s %q got no usable answer, and key %s with that name was created, by this "+
				"provider's credential or by a creator the service did not name, while that request was in flight or soon after. It is the lost request's key, "+
				"whose secret nobody has, unless another run using the same credential minted the same name at that "+
				"moment: the two cannot be told apart, so the provider revoked it. Such a run sees its key gone and "+
				"replaces it at its next apply; give each pipeline its own key names or its own credential.", what, name, id))
	}
	if minted != nil && minted.ReconcileErr != nil {
		diags.AddWarning("Lost Mint Response Not Fully Reconciled",
			fmt.Sprintf("Key %s was minted and is usable, but an earlier attempt to mint %s %q lost its answer, and %s. "+
				"Check those keys in Canvas (Settings → Org API Keys) or with the molecule_org_api_keys data source, "+
				"and revoke the ones nobody uses (the molecule_revoke_org_api_keys action, or Canvas).",
				minted.ID, what, name, d.redact(minted.ReconcileErr.Error())))
	}
	return diags
}
