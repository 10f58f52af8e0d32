package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

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
		return printable(t.ID)
	}
	return fmt.Sprintf("%s (%q)", printable(t.ID), t.Name)
}

// printable makes text from the service (a name, an id) safe to show on a terminal: whatever
// would act on it (ESC, a newline that forges an output line, a bidirectional override, any other
// non-printing character) is escaped as Go writes it ("\x1b", "\n", "\u202e"), and invalid UTF-8
// byte by byte ("\xff"). Everything else, letters of any script included, is left as it is.
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r == utf8.RuneError || !unicode.IsPrint(r) }) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}

// echoInput shows a value someone typed where an id (or a name, or a prefix) belongs, which no key
// of snap has. Every live key's prefix is in a complete list, so a pasted plaintext is recognised
// there (secretLookalike, before this is called) and anything else is shown; a list that may be
// incomplete may lack the key whose secret it is, so then it is shown only as echo shows it.
func (d *providerData) echoInput(s string, snap *client.Snapshot) string {
	switch {
	case d.client.IsSecret(s):
		return "(not shown: it is a secret, the provider's credential or a key's plaintext)"
	case strings.Contains(d.redact(s), client.RedactedMark):
		// A secret the client knows, or one shaped like a guide-style key, inside it.
		return quoted(d.redact(s))
	case snap != nil && snap.Incomplete == "":
		return quoted(s)
	}
	return echo(s)
}

// quoted is s, made printable and cut short if need be, between double quotes.
func quoted(s string) string {
	s = printable(s)
	if r := []rune(s); len(r) > 100 {
		s = string(r[:100]) + "…"
	}
	return `"` + s + `"`
}

// echo shows a value someone typed that the provider cannot rule out as a secret pasted by
// mistake: an id that a list that may be incomplete does not show (echoInput), or a setting that
// is not what it should be (the credential pasted into the wrong variable). A value that cannot be
// a secret, being short or holding characters no key or credential has, is shown in full;
// otherwise only its first 8 characters, which are a key's public prefix, and its length.
func echo(s string) string {
	if len(s) <= client.PrefixLength || strings.IndexFunc(s, func(r rune) bool { return !credentialRune(r) }) >= 0 {
		return quoted(s)
	}
	return fmt.Sprintf("%s… (%d characters; the rest is not shown, in case it is a secret)", quoted(s[:client.PrefixLength]), len(s))
}

// credentialRune reports whether r may appear in a key or a credential: base64 in either alphabet,
// and the separators of the guide's keys and of typical tokens.
func credentialRune(r rune) bool {
	return r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_.~+/=:", r))
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
		id = printable(id)
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

// mintFailure explains a failed mint of what ("key" or "ephemeral key") named name, and above
// all whether a key may have been left behind: a title and a detail for a diagnostic.
func (d *providerData) mintFailure(ctx context.Context, what, name string, err error) (summary, detail string) {
	var (
		unresolved *client.UnresolvedMintError
		abandoned  *client.MintAbandonedError
		pending    *client.ApprovalPendingError
		denied     *client.ApprovalDeniedError
	)
	summary = "Unable to Mint Org API Key"
	if what != "key" {
		summary = "Unable to Mint Ephemeral Org API Key"
	}
	switch {
	case errors.As(err, &unresolved):
		return summary, fmt.Sprintf("%s. Nothing was recorded in state. Check these keys in Canvas (Settings → Org API Keys) or with the "+
			"molecule_org_api_keys data source, revoke the ones nobody uses, then run terraform apply again.", err)
	case errors.As(err, &abandoned):
		return summary, fmt.Sprintf("%s. Nothing was recorded in state; run terraform apply again. %s", err, nextStep(err))
	case errors.As(err, &pending):
		return "Org API Key Mint Awaits Approval", d.approvalPendingDetail(what, name, pending)
	case errors.As(err, &denied):
		return "Org API Key Mint Denied", fmt.Sprintf("A person denied minting %s %q: %s. Nothing was minted and nothing is in "+
			"state. Running terraform apply again asks for a new approval.", what, name, d.redact(denied.Error()))
	case client.IsMintCeiling(err):
		return summary, fmt.Sprintf("Minting %s %q was refused: the organization holds the most live keys the service allows "+
			"(100 by default; ORG_TOKEN_MINT_CEILING on a self-hosted deployment), counting the keys its org keys minted that are "+
			"neither revoked nor expired. Waiting does not help, so the request was not retried. Revoke keys nobody uses: find "+
			"them with the molecule_org_api_keys data source or terraform query with the molecule_org_api_key list resource "+
			"(its never_used and not_used_since filters), and revoke them with the molecule_revoke_org_api_keys action or in "+
			"Canvas; or let keys expire (lifetime). The keys minted so far are in state; run terraform apply again once "+
			"slots are free.", what, name)
	case client.IsNoApprovalAnchor(err):
		return summary, d.noAnchorDetail(ctx, what, name)
	}
	if info, ok := client.MintRateLimited(err); ok {
		return summary, mintQuotaDetail(name, info, d.now())
	}
	return summary, fmt.Sprintf("Minting %s %q failed: %s. No key was created. %s", what, name, err, nextStep(err))
}

// approvalPendingDetail explains a mint waiting for a person: which approval, who decides, and
// how the next apply finishes the job.
func (d *providerData) approvalPendingDetail(what, name string, p *client.ApprovalPendingError) string {
	id := "an approval (the service did not say which)"
	if p.ApprovalID != "" {
		id = "approval " + p.ApprovalID
	}
	s := fmt.Sprintf("Minting %s %q needs a person's approval: the service opened %s", what, name, id)
	if p.Reason != "" {
		s += fmt.Sprintf(" (%q)", p.Reason)
	}
	s += " and minted nothing. A person must approve it in Canvas (Approvals). Then run terraform apply again: it sends " +
		"the same mint, which uses the approval and mints the key."
	switch {
	case p.Waited > 0 && p.Stopped == "":
		s += fmt.Sprintf(" No one decided it in the %s the provider waited (approval_timeout).", p.Waited.Round(time.Second))
	case p.Stopped != "":
		s += " The provider stopped waiting for it: " + d.redact(p.Stopped) + "."
	default:
		s += " To have the provider wait for the decision instead, set approval_timeout (or " + envApprovalWait + ")."
	}
	return s + " The provider never approves a mint itself. An approval covers this credential and this key name only; " +
		"to mint without approvals, authenticate with an org key anchored to the organization (see the guide " +
		"Replacing ADMIN_TOKEN)."
}

// noAnchorDetail explains a mint refused for want of an approval anchor in the user's terms:
// which credential was refused and why, and which credential can mint.
func (d *providerData) noAnchorDetail(ctx context.Context, what, name string) string {
	who := "The provider's credential is not a key the service lists, so it is the deployment's ADMIN_TOKEN (or an org " +
		"key older than the newest 500), and this deployment has no platform workspace (MOLECULE_PLATFORM_WORKSPACE_ID) " +
		"in which a person could approve its mints."
	if snap, err := d.listKeys(ctx); err == nil {
		if k, ok := credentialKey(snap, d.token); ok {
			who = fmt.Sprintf("The provider's credential is the org key %s (prefix %s), which belongs to no organization: it "+
				"was minted in Canvas or with the ADMIN_TOKEN, and such keys cannot mint on this service.", describeKey(k), k.Prefix)
		}
	}
	return fmt.Sprintf("The service refused to mint %s %q: it has no approval anchor for this credential. %s Keys are minted "+
		"by an org key anchored to the organization (the hosted service gives one; the keys it mints belong to the "+
		"organization and can mint too), or, on a self-hosted deployment that sets MOLECULE_PLATFORM_WORKSPACE_ID, with "+
		"the ADMIN_TOKEN, each such mint then waiting for a person's approval. Nothing was minted, and the request was "+
		"not retried.", what, name, who)
}

// credentialKey returns the listed key that is the provider's credential: the one whose prefix
// begins it. Keys have no fixed format, so the prefix the service shows is the only tell.
func credentialKey(snap *client.Snapshot, token string) (client.Token, bool) {
	if len(token) < client.PrefixLength {
		return client.Token{}, false
	}
	for _, t := range snap.Tokens {
		if t.Prefix != "" && t.Prefix == token[:client.PrefixLength] {
			return t, true
		}
	}
	return client.Token{}, false
}

// expiryIgnoredWarning says that a key asked to expire never will: the service ignores expires_at.
func expiryIgnoredWarning(what, id string) (summary, detail string) {
	return "Org API Key Expiry Not Supported by the Service",
		fmt.Sprintf("The %s %s was minted with an expiry (lifetime), but the service's answer has none: this build of the "+
			"service (before June 2026) ignores expires_at, so the key does not expire. expires_at stays null; revoke the key "+
			"when it is no longer needed.", what, id)
}

// planMintWarning warns once per plan, on the mint that goes over the hourly quota, that the apply
// will mint only the first 10 keys. Creates and replacements both mint.
func (d *providerData) planMintWarning() (summary, detail string, ok bool) {
	if n := d.plannedMints.Add(1); n != mintQuota+1 {
		return "", "", false
	}
	return "Plan Mints More Keys Than the Hourly Quota",
		fmt.Sprintf("This plan mints more than %d keys (new keys and replacements), and the service allows %d mints an hour "+
			"(per organization on the hosted service, per credential on a self-hosted one). The apply mints %d, fails for "+
			"the rest with the time the quota refills, and the next apply continues. To avoid the failure, apply at most %d "+
			"keys at a time (-target, or the waves of the guide Planning large key sets).", mintQuota, mintQuota, mintQuota, mintQuota), true
}

// mintQuota is the service's mint quota: 10 an hour.
const mintQuota = 10

// mintQuotaDetail explains a mint refused by the service's rate limit: what the quota is, when it
// refills, and that nothing was lost.
func mintQuotaDetail(name string, info *client.RateLimitInfo, now time.Time) string {
	quota := "The service allows 10 mints an hour: per organization on the hosted service (every pipeline of the " +
		"organization shares them), per credential on a self-hosted deployment, and per client address on builds " +
		"before June 2026"
	if info.Limit > 0 && info.Limit != 10 {
		quota += fmt.Sprintf("; this answer gives the limit as %d (X-RateLimit-Limit)", info.Limit)
	}
	refill := "The service did not say when the quota refills; try again in a few minutes"
	if !info.ResetAt.IsZero() {
		refill = fmt.Sprintf("By the service's account the quota refills at %s (in %s)",
			info.ResetAt.In(time.UTC).Format("15:04:05 MST on 2 Jan"), max(info.ResetAt.Sub(now), 0).Round(time.Second))
	}
	return fmt.Sprintf("Minting key %q was refused because the mint quota is used up. %s. %s. No key was created by this "+
		"request, and the keys already minted are in state: run terraform apply again after that time, and it "+
		"continues with the keys still missing. The provider fails at once rather than hold the apply for longer "+
		"than max_retry_wait. "+
		"To mint many keys, apply them in batches of at most 10 an hour.", name, quota, refill)
}

// attrValues is an object of state, plan or configuration as Terraform sends it, attribute by
// attribute. The refresh and plan of every key go through it instead of the framework's
// reflection over a whole model (Get and Set), which compiles a regular expression per struct
// tag on every call: a method reads the attributes it needs and writes back the ones it changes,
// and every other attribute stays exactly as it came.
type attrValues map[string]tftypes.Value

// objectAttrs splits an object value into its attributes; a null object (no prior state) has none.
func objectAttrs(v tftypes.Value) (attrValues, diag.Diagnostics) {
	m := map[string]tftypes.Value{}
	if v.IsNull() {
		return m, nil
	}
	if err := v.As(&m); err != nil {
		var diags diag.Diagnostics
		diags.AddError("Unexpected Terraform Value", fmt.Sprintf("This is a bug in the provider; please report it: %s.", err))
		return nil, diags
	}
	return m, nil
}

// string is the attribute name as a types.String; an attribute of another type reads as null.
func (a attrValues) string(name string) types.String {
	v, _ := types.StringType.ValueFromTerraform(context.Background(), a[name])
	s, _ := v.(types.String)
	return s
}

// bool is the attribute name as a types.Bool; an attribute of another type reads as null.
func (a attrValues) bool(name string) types.Bool {
	v, _ := types.BoolType.ValueFromTerraform(context.Background(), a[name])
	b, _ := v.(types.Bool)
	return b
}

// setString sets the attribute name to s.
func (a attrValues) setString(name string, s types.String) {
	a[name], _ = s.ToTerraformValue(context.Background())
}

// object is the value of type typ (the one the attributes came in) holding the attributes.
func (a attrValues) object(typ tftypes.Type) tftypes.Value {
	return tftypes.NewValue(typ, map[string]tftypes.Value(a))
}
