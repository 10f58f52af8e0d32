package provider

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/actionvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

var (
	_ action.Action                     = (*revokeOrgAPIKeysAction)(nil)
	_ action.ActionWithConfigure        = (*revokeOrgAPIKeysAction)(nil)
	_ action.ActionWithConfigValidators = (*revokeOrgAPIKeysAction)(nil)
)

// maxCascadeRounds bounds how often a cascade lists again after revoking, looking for keys that
// revoked keys minted while the action ran. Each round costs one list request; a round that finds
// nothing new ends the cascade, and a revoked key cannot mint more, so more rounds are needed only
// while someone keeps minting with keys that are not yet revoked.
const maxCascadeRounds = 5

// NewRevokeOrgAPIKeysAction is the constructor registered with the provider.
func NewRevokeOrgAPIKeysAction() action.Action {
	return &revokeOrgAPIKeysAction{}
}

type revokeOrgAPIKeysAction struct {
	data *providerData
}

type revokeOrgAPIKeysActionModel struct {
	IDs                        types.Set    `tfsdk:"ids"`
	NamePrefix                 types.String `tfsdk:"name_prefix"`
	NameRegex                  types.String `tfsdk:"name_regex"`
	CreatedBy                  types.String `tfsdk:"created_by"`
	Cascade                    types.Bool   `tfsdk:"cascade"`
	DryRun                     types.Bool   `tfsdk:"dry_run"`
	AllowRevokingOwnCredential types.Bool   `tfsdk:"allow_revoking_own_credential"`
}

func (a *revokeOrgAPIKeysAction) Metadata(_ context.Context, req action.MetadataRequest, resp *action.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_revoke_org_api_keys"
}

func (a *revokeOrgAPIKeysAction) Schema(_ context.Context, _ action.SchemaRequest, resp *action.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Revokes org API keys at once, for incident response: the keys given by `ids`, the live keys " +
			"that match the filters, and with `cascade` every key they minted, transitively. Requires Terraform 1.14 or later. " +
			"Each key is reported as it is handled, with the reason it was selected, and a summary ends the run; a key that " +
			"cannot be revoked does not stop the others, but fails the action at the end. Already revoked keys count as " +
			"revoked. The action changes no Terraform state.\n\n" +
			"At least one of `ids`, `name_prefix`, `name_regex` or `created_by` must be set, and a selection that matches no " +
			"key is an error, in a dry run too. The service lists only its newest 500 live keys: with more, older keys cannot " +
			"be found by a filter or by `cascade`, and a warning says so; ids in `ids` are sent to the service even so.",
		Attributes: map[string]schema.Attribute{
			"ids": schema.SetAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Ids of the keys to revoke, as the `molecule_org_api_keys` data source or Canvas shows them. " +
					"An id missing from the service's list is still sent to the service, which may know it (the list shows " +
					"only the newest 500 keys); one that it does not know is reported as not live. Never put a key's " +
					"plaintext here: one that starts with a listed key's `prefix` is refused without being shown.",
				Validators: []validator.Set{setvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))},
			},
			"name_prefix": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: "Select live keys whose name starts with this string (case-sensitive). Must not be empty.",
				Validators:          []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"name_regex": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Select live keys whose name matches this [RE2](https://github.com/google/re2/wiki/Syntax) " +
					"regular expression (unanchored: use `^` and `$` for a whole-name match).",
				Validators: []validator.String{regexValidator{}},
			},
			"created_by": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Select live keys whose `created_by` equals this exactly, such as `org-token:UyJhAK6q` " +
					"(the keys minted by the key with that `prefix`), `admin-token` or `session`.",
				Validators: []validator.String{stringvalidator.LengthAtLeast(1)},
			},
			"cascade": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Also revoke every live key minted by a selected key, transitively: the keys whose " +
					"`created_by` is `org-token:<prefix>` of a selected key, the keys those minted, and so on. After revoking, " +
					"the action lists again and revokes keys minted meanwhile. A key whose `prefix` is unknown (the published " +
					"guide's shape, or an id the list does not show) cannot be followed, and a warning names it. Defaults to `false`.",
			},
			"dry_run": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Report what would be revoked, with the same checks and errors as a real run, " +
					"without revoking anything. Defaults to `false`.",
			},
			"allow_revoking_own_credential": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Allow the selection to include the key the provider authenticates with. Without it, " +
					"the action refuses, revoking nothing, when a selected live key's `prefix` equals the first 8 characters " +
					"of the provider's credential (an org API key's prefix is the start of its plaintext). With it, that key " +
					"is revoked last, after every other key, and the provider needs another credential afterwards. When the " +
					"service does not report prefixes, the provider cannot tell which key is its own: such keys are revoked " +
					"after the others, with a warning. Defaults to `false`.",
			},
		},
	}
}

func (a *revokeOrgAPIKeysAction) ConfigValidators(context.Context) []action.ConfigValidator {
	return []action.ConfigValidator{
		// A configuration that can select nothing is refused before a plan offers to invoke it.
		actionvalidator.AtLeastOneOf(path.MatchRoot("ids"), path.MatchRoot("name_prefix"),
			path.MatchRoot("name_regex"), path.MatchRoot("created_by")),
	}
}

func (a *revokeOrgAPIKeysAction) Configure(_ context.Context, req action.ConfigureRequest, resp *action.ConfigureResponse) {
	a.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// revokeCandidate is one selected key. A key named only by an explicit id the list lacks has
// nothing but its id.
type revokeCandidate struct {
	token  client.Token
	listed bool
	// reason says why the key was selected, as a phrase: "selected by explicit id",
	// "selected by filter …" or "minted by key …".
	reason string
}

// revokeOutcome is what happened to one candidate.
type revokeOutcome int

const (
	outcomeRevoked revokeOutcome = iota
	outcomeNotLive
	outcomeFailed
)

func (a *revokeOrgAPIKeysAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	if a.data == nil {
		resp.Diagnostics.AddError("Unconfigured Molecule Provider",
			"The action ran before the provider was configured. This is a bug in the provider; please report it.")
		return
	}
	ctx = a.data.maskSecrets(ctx)
	var cfg revokeOrgAPIKeysActionModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var ids []string
	if !cfg.IDs.IsNull() {
		resp.Diagnostics.Append(cfg.IDs.ElementsAs(ctx, &ids, false)...)
		if resp.Diagnostics.HasError() {
			return
		}
	}
	filtered := !cfg.NamePrefix.IsNull() || !cfg.NameRegex.IsNull() || !cfg.CreatedBy.IsNull()
	filter, err := newKeyFilter(cfg.NamePrefix, cfg.NameRegex, cfg.CreatedBy, types.BoolNull(), a.data.now())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("name_regex"), "Invalid Regular Expression", err.Error())
		return
	}
	run := &revocation{
		data:     a.data,
		resp:     resp,
		cascade:  cfg.Cascade.ValueBool(),
		dryRun:   cfg.DryRun.ValueBool(),
		allowOwn: cfg.AllowRevokingOwnCredential.ValueBool(),
		byID:     map[string]*revokeCandidate{},
	}
	snap, err := a.data.listKeys(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Unable to List Org API Keys",
			fmt.Sprintf("Nothing was revoked: the keys to revoke are chosen from the list of live keys. %s. %s", err, nextStep(err)))
		return
	}
	run.incomplete = snap.Incomplete != ""
	if snap.Incomplete != "" {
		resp.Diagnostics.AddWarning(incompleteListSummary,
			incompleteListDetail(snap.Incomplete, "what the filters and cascade can select")+
				" Ids given in \"ids\" are sent to the service even when the list does not show them.")
	}

	if !run.selectExplicit(snap, ids) {
		return
	}
	if filtered {
		reason := "selected by filter " + run.describeFilter(cfg)
		for _, t := range filter.apply(snap.Tokens) {
			run.add(t, true, reason)
		}
	}
	if run.cascade {
		run.expand(snap)
	}
	if len(run.order) == 0 {
		resp.Diagnostics.AddError("No Org API Keys Selected", run.emptySelectionDetail(snap, filtered))
		return
	}

	own, unverified := run.classify(snap)
	if len(own) > 0 && !run.allowOwn {
		if run.dryRun {
			run.reportDryRun()
		}
		resp.Diagnostics.AddAttributeError(path.Root("allow_revoking_own_credential"),
			"Refusing to Revoke the Provider's Own Credential", run.ownCredentialDetail(own))
		return
	}
	if len(unverified) > 0 {
		resp.Diagnostics.AddWarning("Provider Credential Not Ruled Out", run.unverifiedDetail(unverified, snap))
	}
	run.orderForRevocation(own, unverified)

	if run.dryRun {
		run.reportDryRun()
		run.warnUnfollowed()
		return
	}
	run.revokeAll(ctx)
	// A revoked credential would only have every later list refused.
	if run.cascade && !run.credentialRevoked() {
		for round := 1; round <= maxCascadeRounds && ctx.Err() == nil; round++ {
			fresh, err := a.data.listKeys(ctx)
			if err != nil {
				resp.Diagnostics.AddWarning("Unable to Check for Keys Minted During the Cascade",
					fmt.Sprintf("After revoking, the action lists again to find keys that revoked keys minted meanwhile; "+
						"that list failed: %s. Run the action again to catch them.", err))
				break
			}
			if run.expand(fresh) == 0 {
				break
			}
			own, unverified := run.classifyFrom(fresh, run.done)
			run.refuseLate(own)
			run.orderForRevocation(own, unverified)
			run.revokeAll(ctx)
		}
	}
	run.warnUnfollowed()
	run.summarize()
}

// revocation is one invocation's selection and progress.
type revocation struct {
	data     *providerData
	resp     *action.InvokeResponse
	cascade  bool
	dryRun   bool
	allowOwn bool

	order []*revokeCandidate // selected keys, in the order they are handled
	byID  map[string]*revokeCandidate
	// done counts the candidates of order already handled (revoked, or failed).
	done     int
	outcomes map[revokeOutcome][]*revokeCandidate
	failures []string
	refused  map[string]bool // late finds that are the provider's credential
	rejected bool            // a revocation was refused with 401 after others succeeded
	// unfollow lists, once each, the selected keys whose minted keys cannot be found.
	unfollow   []*revokeCandidate
	unfollowed map[string]bool
	ambiguous  map[string]bool // prefixes that more than one live key has
	// incomplete says the list may lack keys, so an id it does not show may be a pasted secret.
	incomplete bool
}

func (r *revocation) add(t client.Token, listed bool, reason string) bool {
	if _, ok := r.byID[t.ID]; ok {
		return false
	}
	c := &revokeCandidate{token: t, listed: listed, reason: reason}
	r.byID[t.ID] = c
	r.order = append(r.order, c)
	return true
}

// selectExplicit adds the keys named in ids, refusing the whole invocation when one of them is
// a secret rather than an id: it must be neither sent anywhere nor echoed.
func (r *revocation) selectExplicit(snap *client.Snapshot, ids []string) bool {
	slices.Sort(ids)
	var bad []string
	for _, id := range ids {
		switch t, ok := snap.Lookup(id); {
		case ok:
			r.add(t, true, "selected by explicit id")
		case r.data.client.IsSecret(id):
			bad = append(bad, "one value is a secret this provider knows (its own credential, or a key's plaintext), not an id")
		default:
			if owner, ok := secretLookalike(snap, id); ok {
				r.data.client.AddSecret(id)
				bad = append(bad, fmt.Sprintf("one value is not an id but starts with the prefix of key %s, so it is probably that "+
					"key's plaintext; to revoke that key, put its id in \"ids\" and treat the plaintext as leaked", describeKey(owner)))
				continue
			}
			r.add(client.Token{ID: id}, false, "selected by explicit id")
		}
	}
	if len(bad) > 0 {
		r.resp.Diagnostics.AddAttributeError(path.Root("ids"), "Invalid Org API Key Id",
			"Nothing was revoked, and the values are not shown: "+strings.Join(bad, "; ")+".")
		return false
	}
	return true
}

func (r *revocation) describeFilter(cfg revokeOrgAPIKeysActionModel) string {
	var parts []string
	for _, f := range []struct {
		name string
		v    types.String
	}{{"name_prefix", cfg.NamePrefix}, {"name_regex", cfg.NameRegex}, {"created_by", cfg.CreatedBy}} {
		if !f.v.IsNull() {
			parts = append(parts, fmt.Sprintf("%s = %q", f.name, r.data.sanitizeForMessage(f.v.ValueString())))
		}
	}
	return strings.Join(parts, ", ")
}

// expand adds, breadth first, every live key of snap minted by a selected key, and returns how
// many it added. Every selected key is looked at again on each call: a fresh list may show keys
// that an already revoked key minted after the previous list.
func (r *revocation) expand(snap *client.Snapshot) int {
	if r.unfollowed == nil {
		r.unfollowed, r.ambiguous = map[string]bool{}, map[string]bool{}
	}
	minted := map[string][]client.Token{}
	holders := map[string]int{}
	for _, t := range snap.Tokens {
		if strings.HasPrefix(t.CreatedBy, "org-token:") {
			minted[t.CreatedBy] = append(minted[t.CreatedBy], t)
		}
		if t.Prefix != "" {
			holders[t.Prefix]++
		}
	}
	added := 0
	for i := 0; i < len(r.order); i++ {
		parent := r.order[i]
		if parent.token.Prefix == "" {
			if !r.unfollowed[parent.token.ID] {
				r.unfollowed[parent.token.ID] = true
				r.unfollow = append(r.unfollow, parent)
			}
			continue
		}
		if holders[parent.token.Prefix] > 1 {
			r.ambiguous[parent.token.Prefix] = true
		}
		children := slices.Clone(minted["org-token:"+parent.token.Prefix])
		sortTokens(children)
		for _, child := range children {
			if r.add(child, true, "minted by "+r.name(parent.token)) {
				added++
			}
		}
	}
	return added
}

// ownPrefix is what an org key used as the provider's credential is listed by: the service
// shows the first PrefixLength characters of a key's plaintext as its prefix. Keys are opaque,
// so nothing else about the credential tells an org key from the ADMIN_TOKEN.
func (r *revocation) ownPrefix() string {
	if len(r.data.token) < client.PrefixLength {
		return ""
	}
	return r.data.token[:client.PrefixLength]
}

// classify splits the selection into the keys that are the provider's credential and those
// that cannot be ruled out.
func (r *revocation) classify(snap *client.Snapshot) (own, unverified []*revokeCandidate) {
	return r.classifyFrom(snap, 0)
}

// classifyFrom is classify for the candidates from index from on.
//
// A listed key is taken for the credential when its prefix equals the credential's first 8
// characters: exactly, case-sensitively, and every key that matches counts, since a shared
// prefix would otherwise let the credential pass as another key. When no listed key matches,
// the credential is the ADMIN_TOKEN or an org key the list does not show with a prefix: then
// a selected key without a known prefix may be it (in the guide's shape no key has one, and an
// id the list lacks may be an older key when the list is cut at 500).
func (r *revocation) classifyFrom(snap *client.Snapshot, from int) (own, unverified []*revokeCandidate) {
	prefix := r.ownPrefix()
	if prefix == "" {
		return nil, nil
	}
	identified := false
	for _, t := range snap.Tokens {
		if t.Prefix == prefix {
			identified = true
			break
		}
	}
	for _, c := range r.order[from:] {
		switch {
		case c.listed && c.token.Prefix == prefix:
			own = append(own, c)
		case identified:
			// The credential is a listed key, and this is not it.
		case c.listed && c.token.Prefix == "", !c.listed && snap.Incomplete != "":
			unverified = append(unverified, c)
		}
	}
	return own, unverified
}

// orderForRevocation orders the keys not handled yet. It keeps the selection order (explicit ids, filter matches, then what they
// minted, parents first, so that a leaked key cannot mint more while its descendants go) but
// moves the keys that may be the provider's credential after the others, and the credential
// itself to the very end: once it is revoked, no later request would be accepted.
func (r *revocation) orderForRevocation(own, unverified []*revokeCandidate) {
	rank := func(c *revokeCandidate) int {
		switch {
		case slices.Contains(own, c):
			return 2
		case slices.Contains(unverified, c):
			return 1
		}
		return 0
	}
	slices.SortStableFunc(r.order[r.done:], func(a, b *revokeCandidate) int { return rank(a) - rank(b) })
}

// refuseLate marks keys found by a later cascade round that are the provider's credential: the
// refusal cannot undo what earlier rounds revoked, so they are reported as failures instead.
func (r *revocation) refuseLate(own []*revokeCandidate) {
	if r.allowOwn || len(own) == 0 {
		return
	}
	if r.refused == nil {
		r.refused = map[string]bool{}
	}
	for _, c := range own {
		r.refused[c.token.ID] = true
	}
}

func (r *revocation) revokeAll(ctx context.Context) {
	if r.outcomes == nil {
		r.outcomes = map[revokeOutcome][]*revokeCandidate{}
	}
	for ; r.done < len(r.order); r.done++ {
		c := r.order[r.done]
		var err error
		switch {
		case r.refused[c.token.ID]:
			r.fail(c, "not revoked: it is the provider's own credential (its prefix is the start of the credential); "+
				"set allow_revoking_own_credential = true to revoke it too")
			continue
		case ctx.Err() != nil:
			err = ctx.Err()
		default:
			err = r.data.client.Revoke(ctx, c.token.ID)
		}
		switch {
		case err == nil:
			r.outcomes[outcomeRevoked] = append(r.outcomes[outcomeRevoked], c)
			r.progress(fmt.Sprintf("Revoked %s: %s.", r.name(c.token), c.reason))
			tflog.Info(ctx, "revoked org API key", map[string]any{"id": c.token.ID, "reason": c.reason})
		case client.IsKeyNotLive(err):
			r.outcomes[outcomeNotLive] = append(r.outcomes[outcomeNotLive], c)
			r.progress(fmt.Sprintf("Not live: %s (%s) is unknown to the service or already revoked; counted as revoked.",
				r.name(c.token), c.reason))
		default:
			msg := err.Error()
			if unlisted(c.token) && r.incomplete {
				// The service's answer names the path, with an id that may be a pasted secret.
				shown := echo(c.token.ID)
				msg = strings.ReplaceAll(strings.ReplaceAll(msg, url.PathEscape(c.token.ID), shown), c.token.ID, shown)
			}
			if next := nextStep(err); next != "" {
				msg += ". " + next
			}
			if revoked := r.outcomes[outcomeRevoked]; client.IsUnauthorized(err) && len(revoked) > 0 && !r.rejected {
				// The credential worked for the revocation before: that key was most likely it.
				r.rejected = true
				msg += fmt.Sprintf(" The credential was accepted until %s was revoked, so that key was probably the provider's own credential.",
					r.name(revoked[len(revoked)-1].token))
			}
			r.fail(c, msg)
		}
	}
}

func (r *revocation) fail(c *revokeCandidate, why string) {
	r.outcomes[outcomeFailed] = append(r.outcomes[outcomeFailed], c)
	r.failures = append(r.failures, fmt.Sprintf("%s (%s): %s", r.name(c.token), c.reason, why))
	r.progress(fmt.Sprintf("Failed to revoke %s (%s): %s", r.name(c.token), c.reason, why))
}

func (r *revocation) reportDryRun() {
	for _, c := range r.order {
		r.progress(fmt.Sprintf("Dry run: would revoke %s: %s.", r.name(c.token), c.reason))
	}
	r.progress(fmt.Sprintf("Dry run: %d %s would be revoked; nothing was revoked.", len(r.order), plural(len(r.order), "key")))
}

func (r *revocation) summarize() {
	revoked, notLive, failed := len(r.outcomes[outcomeRevoked]), len(r.outcomes[outcomeNotLive]), len(r.outcomes[outcomeFailed])
	r.progress(fmt.Sprintf("Summary: %d %s selected; %d revoked, %d already not live, %d failed.",
		len(r.order), plural(len(r.order), "key"), revoked, notLive, failed))
	if failed > 0 {
		r.resp.Diagnostics.AddError("Unable to Revoke Org API Keys",
			fmt.Sprintf("%d of %d selected keys may still be live:\n  - %s\nThe other %d were revoked or already not live. "+
				"Run the action again to retry: keys already revoked are reported as not live.",
				failed, len(r.order), strings.Join(r.failures, "\n  - "), revoked+notLive))
	}
	if r.credentialRevoked() {
		r.resp.Diagnostics.AddWarning("Provider Credential Revoked",
			"The key this provider authenticates with was revoked, last, as allow_revoking_own_credential allows. "+
				"Keys minted meanwhile by the revoked keys could not be looked for with it: run the action again with another "+
				"credential to catch them. Every later run needs another credential: set MOLECULE_ORG_TOKEN or "+
				"MOLECULE_ADMIN_TOKEN to one.")
	}
}

func (r *revocation) credentialRevoked() bool {
	prefix := r.ownPrefix()
	if prefix == "" {
		return false
	}
	for _, c := range r.outcomes[outcomeRevoked] {
		if c.token.Prefix == prefix {
			return true
		}
	}
	return false
}

func (r *revocation) warnUnfollowed() {
	var parts []string
	if len(r.unfollow) > 0 {
		names := make([]string, len(r.unfollow))
		for i, c := range r.unfollow {
			names[i] = r.name(c.token)
		}
		parts = append(parts, fmt.Sprintf("The keys minted by %s cannot be found: keys name the key that minted them by its "+
			"prefix (created_by = \"org-token:<prefix>\"), and the service's list does not report a prefix for them (the "+
			"published guide's shape, or an id the list does not show). Where a key's prefix is known (Canvas shows it), "+
			"select what it minted with created_by = \"org-token:<prefix>\".", strings.Join(names, ", ")))
	}
	if len(r.ambiguous) > 0 {
		prefixes := make([]string, 0, len(r.ambiguous))
		for p := range r.ambiguous {
			prefixes = append(prefixes, p)
		}
		slices.Sort(prefixes)
		parts = append(parts, fmt.Sprintf("More than one live key has the prefix %s, so the keys created_by names with it may "+
			"have been minted by a key that was not selected; they were selected anyway.", strings.Join(prefixes, ", ")))
	}
	if len(parts) > 0 {
		r.resp.Diagnostics.AddWarning("Cascade Could Not Follow Every Key", strings.Join(parts, " "))
	}
}

func (r *revocation) emptySelectionDetail(snap *client.Snapshot, filtered bool) string {
	msg := fmt.Sprintf("No key matches the selection among the %d live keys the service lists, so nothing was revoked. ", len(snap.Tokens))
	if filtered {
		msg += "Filters match exactly and are case-sensitive, combine with AND, and never match a key without a name by " +
			"name; the molecule_org_api_keys data source with the same filters shows what they select."
	} else {
		msg += "\"ids\" is empty."
	}
	if snap.Incomplete != "" {
		msg += " " + incompleteListAdvice(snap.Incomplete)
	}
	return msg
}

func (r *revocation) ownCredentialDetail(own []*revokeCandidate) string {
	names := make([]string, len(own))
	for i, c := range own {
		names[i] = fmt.Sprintf("%s (%s)", r.name(c.token), c.reason)
	}
	return fmt.Sprintf("Nothing was revoked. The selection includes %s, whose prefix equals the first %d characters of the "+
		"credential this provider authenticates with: an org API key's prefix is the start of its plaintext, so this is "+
		"almost certainly that credential (the comparison is exact, and every key with that prefix counts). Revoking it "+
		"would reject every later request of this run and every run after it. Narrow the selection, or run with another "+
		"credential (the ADMIN_TOKEN, or a key outside the selection); if this credential is the leaked key, set "+
		"allow_revoking_own_credential = true, which revokes it after every other key.",
		strings.Join(names, "; "), client.PrefixLength)
}

func (r *revocation) unverifiedDetail(unverified []*revokeCandidate, snap *client.Snapshot) string {
	names := make([]string, len(unverified))
	for i, c := range unverified {
		names[i] = r.name(c.token)
	}
	why := "the service does not report the prefix of"
	if snap.Incomplete != "" {
		why = "the service's list, which may be incomplete, does not show or does not report the prefix of"
	}
	verb := "are revoked"
	if r.dryRun {
		verb = "would be revoked"
	}
	return fmt.Sprintf("The provider recognizes its own credential by the prefix of a live key, and %s %s, so it cannot "+
		"tell whether one of them is the credential it authenticates with. They %s after every other selected key, so "+
		"that a revoked credential cannot stop the rest.", why, strings.Join(names, ", "), verb)
}

func (r *revocation) progress(msg string) {
	if r.resp.SendProgress != nil {
		r.resp.SendProgress(action.InvokeProgressEvent{Message: msg})
	}
}

// name describes a key for a progress message or diagnostic: its id, and its name and prefix
// when known. A key's name is whatever someone typed, so it is redacted and shortened.
func (r *revocation) name(t client.Token) string {
	if unlisted(t) && r.incomplete {
		return "key " + r.data.echoInput(t.ID, nil)
	}
	var extra []string
	if t.Name != "" {
		extra = append(extra, fmt.Sprintf("%q", r.data.sanitizeForMessage(t.Name)))
	}
	if t.Prefix != "" {
		extra = append(extra, "prefix "+t.Prefix)
	}
	if t.ExpiresAt != nil {
		verb := "expires"
		if t.Expired(r.data.now()) {
			verb = "expired"
		}
		extra = append(extra, verb+" "+t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	id := r.data.sanitizeForMessage(t.ID)
	if len(extra) == 0 {
		return "key " + id
	}
	return fmt.Sprintf("key %s (%s)", id, strings.Join(extra, ", "))
}

// unlisted reports whether t is an id the list did not show, as given, with nothing else known.
func unlisted(t client.Token) bool {
	return t.CreatedAt.IsZero() && t.Name == "" && t.Prefix == "" && t.CreatedBy == ""
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
