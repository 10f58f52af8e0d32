package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/actionvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/action/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
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
			"that match the filters, and with `cascade` every key they minted, transitively. Each key is reported as it is " +
			"handled, with the reason it was selected. The action changes no Terraform state.",
		Attributes: map[string]schema.Attribute{
			"ids": schema.SetAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Ids of the keys to revoke, as the `molecule_org_api_keys` data source or Canvas shows them. " +
					"An id missing from the service's list is still sent; one the service does not know is reported as not " +
					"live. Never put a key's plaintext here.",
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
					"`created_by` is `org-token:<prefix>` of a selected key, the keys those minted, and so on. Defaults to `false`.",
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
					"of the provider's credential. With it, that key is revoked last, after every other key. Defaults to `false`.",
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

// Invoke selects the keys from the list of live keys, orders them, and revokes them; the selecting
// and ordering are in revoke_org_api_keys_action_plan.go.
func (a *revokeOrgAPIKeysAction) Invoke(ctx context.Context, req action.InvokeRequest, resp *action.InvokeResponse) {
	if a.data == nil {
		resp.Diagnostics.AddError("Unconfigured Molecule Provider",
			"The action ran before the provider was configured. This is a bug in the provider; please report it.")
		return
	}
	ctx = a.data.maskSecrets(ctx)
	cfg, ok := a.readConfig(ctx, req.Config, &resp.Diagnostics)
	if !ok {
		return
	}
	list, err := a.liveKeys(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Unable to List Org API Keys",
			fmt.Sprintf("Nothing was revoked: the keys to revoke are chosen from the list of live keys. %s. %s", err, nextStep(err)))
		return
	}
	names := keyNamer{incomplete: list.incomplete != "", now: a.data.now, sanitize: a.data.sanitizeForMessage,
		echoID: func(id string) string { return a.data.echoInput(id, nil) }}
	sel, ok := a.plan(list, cfg, names, resp)
	if !ok {
		return
	}
	progress := progressTo(resp)
	if cfg.dryRun {
		progress(names.dryRunReport(sel.order)...)
		warnUnfollowed(&resp.Diagnostics, names, sel)
		return
	}
	run := &keyRevocation{sel: sel, names: names, ownPrefix: credentialPrefix(a.data.token), refused: map[string]bool{},
		revoke: a.data.client.Revoke, list: a.liveKeys, progress: progress, diags: &resp.Diagnostics}
	run.revokeAll(ctx)
	if cfg.cascade {
		run.cascade(ctx, cfg.allowOwn)
	}
	warnUnfollowed(&resp.Diagnostics, names, sel)
	run.summarize()
}

// readConfig reads the configuration into plain values.
func (a *revokeOrgAPIKeysAction) readConfig(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics) (revokeConfig, bool) {
	var m revokeOrgAPIKeysActionModel
	if diags.Append(config.Get(ctx, &m)...); diags.HasError() {
		return revokeConfig{}, false
	}
	cfg := revokeConfig{cascade: m.Cascade.ValueBool(), dryRun: m.DryRun.ValueBool(), allowOwn: m.AllowRevokingOwnCredential.ValueBool()}
	if !m.IDs.IsNull() {
		if diags.Append(m.IDs.ElementsAs(ctx, &cfg.ids, false)...); diags.HasError() {
			return revokeConfig{}, false
		}
	}
	if m.NamePrefix.IsNull() && m.NameRegex.IsNull() && m.CreatedBy.IsNull() {
		return cfg, true
	}
	// The action never filters by expiry, so the filter needs no clock.
	filter, err := newKeyFilter(m.NamePrefix, m.NameRegex, m.CreatedBy, types.BoolNull(), time.Time{})
	if err != nil {
		diags.AddAttributeError(path.Root("name_regex"), "Invalid Regular Expression", err.Error())
		return revokeConfig{}, false
	}
	cfg.filter, cfg.filterDesc = &filter, a.describeFilters(m)
	return cfg, true
}

// describeFilters names the filters that are set, for the report: name_prefix = "ci-", ….
func (a *revokeOrgAPIKeysAction) describeFilters(m revokeOrgAPIKeysActionModel) string {
	var set []string
	for _, f := range []struct {
		name string
		v    types.String
	}{{"name_prefix", m.NamePrefix}, {"name_regex", m.NameRegex}, {"created_by", m.CreatedBy}} {
		if !f.v.IsNull() {
			set = append(set, fmt.Sprintf("%s = %q", f.name, a.data.sanitizeForMessage(f.v.ValueString())))
		}
	}
	return strings.Join(set, ", ")
}

// liveKeys lists the live keys, from the snapshot the provider shares.
func (a *revokeOrgAPIKeysAction) liveKeys(ctx context.Context) (keyList, error) {
	snap, err := a.data.listKeys(ctx)
	if err != nil {
		return keyList{}, err
	}
	return keyListOf(snap), nil
}

// plan selects and orders the keys cfg asks for from list, and reports what stops the
// invocation or qualifies it: values in ids that are secrets, an empty selection, the
// provider's own credential.
func (a *revokeOrgAPIKeysAction) plan(list keyList, cfg revokeConfig, names keyNamer, resp *action.InvokeResponse) (*selection, bool) {
	if list.incomplete != "" {
		resp.Diagnostics.AddWarning(incompleteListSummary,
			incompleteListDetail(list.incomplete, "what the filters and cascade can select")+
				" Ids given in \"ids\" are sent to the service even when the list does not show them.")
	}
	sel, invalid, lookalikes := selectKeys(list, cfg, names, a.data.client.IsSecret)
	for _, s := range lookalikes {
		a.data.client.AddSecret(s)
	}
	if len(invalid) > 0 {
		resp.Diagnostics.AddAttributeError(path.Root("ids"), "Invalid Org API Key Id",
			"Nothing was revoked, and the values are not shown: "+strings.Join(invalid, "; ")+".")
		return nil, false
	}
	if len(sel.order) == 0 {
		resp.Diagnostics.AddError("No Org API Keys Selected", emptySelectionDetail(list, cfg.filter != nil))
		return nil, false
	}
	own, unverified := classify(sel.order, list, credentialPrefix(a.data.token))
	if len(own) > 0 && !cfg.allowOwn {
		if cfg.dryRun {
			progressTo(resp)(names.dryRunReport(sel.order)...)
		}
		resp.Diagnostics.AddAttributeError(path.Root("allow_revoking_own_credential"),
			"Refusing to Revoke the Provider's Own Credential", names.ownCredentialDetail(own))
		return nil, false
	}
	if len(unverified) > 0 {
		resp.Diagnostics.AddWarning("Provider Credential Not Ruled Out", names.unverifiedDetail(unverified, list.incomplete, cfg.dryRun))
	}
	orderForRevocation(sel.order, own, unverified)
	return sel, true
}

// progressTo returns what sends progress events to the CLI, one per message.
func progressTo(resp *action.InvokeResponse) func(msgs ...string) {
	return func(msgs ...string) {
		for _, msg := range msgs {
			if resp.SendProgress != nil {
				resp.SendProgress(action.InvokeProgressEvent{Message: msg})
			}
		}
	}
}

func warnUnfollowed(diags *diag.Diagnostics, names keyNamer, sel *selection) {
	if detail := names.unfollowedDetail(sel); detail != "" {
		diags.AddWarning("Cascade Could Not Follow Every Key", detail)
	}
}

// keyRevocation revokes a selection's keys in order, reporting each as it is handled. list and
// revoke are the client's.
type keyRevocation struct {
	sel       *selection
	names     keyNamer
	ownPrefix string // see credentialPrefix
	revoke    func(ctx context.Context, id string) error
	list      func(ctx context.Context) (keyList, error)
	progress  func(msgs ...string)
	diags     *diag.Diagnostics

	done                     int             // how many keys of sel.order have been handled
	refused                  map[string]bool // keys found by a later cascade round that are the provider's credential
	rejected                 bool            // a revocation was refused with 401 after others succeeded
	revoked, notLive, failed []*revokeCandidate
	failures                 []string
}

// revokeAll handles, in order, the selected keys not handled yet. A key that cannot be revoked
// does not stop the others.
func (r *keyRevocation) revokeAll(ctx context.Context) {
	for ; r.done < len(r.sel.order); r.done++ {
		c := r.sel.order[r.done]
		if r.refused[c.token.ID] {
			r.fail(c, "not revoked: it is the provider's own credential (its prefix is the start of the credential); "+
				"set allow_revoking_own_credential = true to revoke it too")
			continue
		}
		err := ctx.Err()
		if err == nil {
			err = r.revoke(ctx, c.token.ID)
		}
		switch {
		case err == nil:
			r.revoked = append(r.revoked, c)
			r.progress(fmt.Sprintf("Revoked %s: %s.", r.names.name(c.token), c.reason))
			tflog.Info(ctx, "revoked org API key", map[string]any{"id": c.token.ID, "reason": c.reason})
		case client.IsKeyNotLive(err):
			r.notLive = append(r.notLive, c)
			r.progress(fmt.Sprintf("Not live: %s (%s) is unknown to the service or already revoked; counted as revoked.",
				r.names.name(c.token), c.reason))
		case client.IsUnauthorized(err) && len(r.revoked) > 0 && !r.rejected:
			// The credential worked for the revocation before: that key was most likely it.
			r.rejected = true
			r.fail(c, revokeErrorText(err, c.token, r.names.incomplete)+fmt.Sprintf(" The credential was accepted until %s "+
				"was revoked, so that key was probably the provider's own credential.", r.names.name(r.revoked[len(r.revoked)-1].token)))
		default:
			r.fail(c, revokeErrorText(err, c.token, r.names.incomplete))
		}
	}
}

// cascade lists again after revoking, up to maxCascadeRounds times, and revokes the keys that
// revoked keys minted meanwhile.
func (r *keyRevocation) cascade(ctx context.Context, allowOwn bool) {
	if credentialRevoked(r.revoked, r.ownPrefix) {
		// A revoked credential would only have every later list refused.
		return
	}
	for round := 1; round <= maxCascadeRounds && ctx.Err() == nil; round++ {
		fresh, err := r.list(ctx)
		if err != nil {
			r.diags.AddWarning("Unable to Check for Keys Minted During the Cascade",
				fmt.Sprintf("After revoking, the action lists again to find keys that revoked keys minted meanwhile; "+
					"that list failed: %s. Run the action again to catch them.", err))
			return
		}
		added, refused := r.sel.nextRound(fresh, r.done, r.ownPrefix, allowOwn)
		if added == 0 {
			return
		}
		for _, c := range refused {
			r.refused[c.token.ID] = true
		}
		r.revokeAll(ctx)
	}
}

func (r *keyRevocation) fail(c *revokeCandidate, why string) {
	r.failed = append(r.failed, c)
	r.failures = append(r.failures, fmt.Sprintf("%s (%s): %s", r.names.name(c.token), c.reason, why))
	r.progress(fmt.Sprintf("Failed to revoke %s (%s): %s", r.names.name(c.token), c.reason, why))
}

func (r *keyRevocation) summarize() {
	selected := len(r.sel.order)
	r.progress(fmt.Sprintf("Summary: %d %s selected; %d revoked, %d already not live, %d failed.",
		selected, plural(selected, "key"), len(r.revoked), len(r.notLive), len(r.failed)))
	if len(r.failed) > 0 {
		r.diags.AddError("Unable to Revoke Org API Keys",
			fmt.Sprintf("%d of %d selected keys may still be live:\n  - %s\nThe other %d were revoked or already not live. "+
				"Run the action again to retry: keys already revoked are reported as not live.",
				len(r.failed), selected, strings.Join(r.failures, "\n  - "), len(r.revoked)+len(r.notLive)))
	}
	if credentialRevoked(r.revoked, r.ownPrefix) {
		r.diags.AddWarning("Provider Credential Revoked",
			"The key this provider authenticates with was revoked, last, as allow_revoking_own_credential allows. "+
				"Keys minted meanwhile by the revoked keys could not be looked for with it: run the action again with another "+
				"credential to catch them. Every later run needs another credential: set MOLECULE_ORG_TOKEN or "+
				"MOLECULE_ADMIN_TOKEN to one.")
	}
}
