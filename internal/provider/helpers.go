package provider

import (
	"context"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

// keyIDPattern is deliberately looser than the documented `tok_` + 20 characters: the service
// may change the length, and a stricter check would only block imports that would work.
var keyIDPattern = regexp.MustCompile(`^tok_[A-Za-z0-9]+$`)

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

// sanitizeForMessage keeps user input that is echoed in a diagnostic short and free of
// anything that looks like a plaintext key (someone may paste a secret where an id belongs).
func sanitizeForMessage(s string) string {
	s = plaintextKeyPattern.ReplaceAllString(s, "mola_<redacted>")
	if r := []rune(s); len(r) > 80 {
		s = string(r[:80]) + "…"
	}
	return s
}

// nextStep turns an API failure into advice on what to do about it.
func nextStep(err error) string {
	switch {
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

// findKey returns the live key with the given id, or nil when no live key has it. The API has
// no get-by-id, so this looks the key up in the process's shared list snapshot: refreshing N
// keys costs one list request, not N.
func (d *providerData) findKey(ctx context.Context, id string) (*client.Token, error) {
	snap, err := d.client.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	if t, ok := snap.Lookup(id); ok {
		return &t, nil
	}
	return nil, nil
}

// listKeys returns the live keys from the shared snapshot. The slice is shared: callers copy
// before they reorder or modify it.
func (d *providerData) listKeys(ctx context.Context) ([]client.Token, error) {
	snap, err := d.client.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return snap.Tokens, nil
}
