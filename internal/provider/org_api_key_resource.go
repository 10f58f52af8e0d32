package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

var (
	_ resource.Resource                   = (*orgAPIKeyResource)(nil)
	_ resource.ResourceWithConfigure      = (*orgAPIKeyResource)(nil)
	_ resource.ResourceWithImportState    = (*orgAPIKeyResource)(nil)
	_ resource.ResourceWithIdentity       = (*orgAPIKeyResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*orgAPIKeyResource)(nil)
	_ resource.ResourceWithValidateConfig = (*orgAPIKeyResource)(nil)
)

// Bounds of rotate_after: below a minute every run would rotate; beyond ten years is a typo.
const (
	minRotateAfter = time.Minute
	maxRotateAfter = 87600 * time.Hour
)

// Bounds of lifetime: a key must outlive the apply that mints it; beyond ten years is a typo.
const (
	minLifetime = time.Minute
	maxLifetime = 87600 * time.Hour
)

// NewOrgAPIKeyResource is the constructor registered with the provider.
func NewOrgAPIKeyResource() resource.Resource {
	return &orgAPIKeyResource{}
}

type orgAPIKeyResource struct {
	data *providerData
}

// checkedAtKey names the private state entry with the time the provider last checked the key
// against the service: at its mint, or at the latest refresh, for a key that can fall due
// (recordCheck). It is the "now" against which
// ModifyPlan decides whether the key is due for rotation. The wall clock cannot be: when a
// saved plan is applied, Terraform plans again, later, from the prior state and private state
// saved in the plan file, and a decision that changed in between (a key that fell due) would
// fail the apply with "Provider produced inconsistent final plan". The time recorded at the
// plan's refresh is in that saved private state, so both plans decide alike.
const checkedAtKey = "checked_at"

// recordCheck keeps in private the time the key was checked (checkedAtKey), at, when the key can
// fall due by time alone, because it has rotate_after or an expiry, and removes it otherwise. No
// other key needs it, and private state on every key of a large configuration costs Terraform
// about a tenth more CPU in every command, as it copies and writes state.
func recordCheck(ctx context.Context, private interface {
	SetKey(context.Context, string, []byte) diag.Diagnostics
}, m *orgAPIKeyResourceModel, at time.Time,
) diag.Diagnostics {
	if m.RotateAfter.IsNull() && m.ExpiresAt.IsNull() {
		return private.SetKey(ctx, checkedAtKey, nil)
	}
	return private.SetKey(ctx, checkedAtKey, checkedAtValue(at))
}

// checkedAtValue is at as private state holds it: a JSON string, RFC 3339 with nanoseconds.
func checkedAtValue(at time.Time) []byte {
	return []byte(strconv.Quote(at.UTC().Format(time.RFC3339Nano)))
}

// parseCheckedAt reads a checkedAtValue; ok is false for none, or for one that is not a time.
func parseCheckedAt(b []byte) (at time.Time, ok bool) {
	var text string
	if len(b) == 0 || json.Unmarshal(b, &text) != nil {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, text)
	return at, err == nil
}

type orgAPIKeyResourceModel struct {
	ID               types.String `tfsdk:"id"`
	Name             types.String `tfsdk:"name"`
	Prefix           types.String `tfsdk:"prefix"`
	Key              types.String `tfsdk:"key"`
	CreatedBy        types.String `tfsdk:"created_by"`
	CreatedAt        types.String `tfsdk:"created_at"`
	LastUsedAt       types.String `tfsdk:"last_used_at"`
	RotateAfter      types.String `tfsdk:"rotate_after"`
	RotateAt         types.String `tfsdk:"rotate_at"`
	RotationTriggers types.Map    `tfsdk:"rotation_triggers"`
	Lifetime         types.String `tfsdk:"lifetime"`
	ExpiresAt        types.String `tfsdk:"expires_at"`
}

// orgAPIKeyIdentityModel is the resource identity: the key's id and nothing else. Terraform keeps
// it beside the state and shows it in plans, so it must never hold the plaintext.
type orgAPIKeyIdentityModel struct {
	ID types.String `tfsdk:"id"`
}

// identityType is the Terraform type of the identity schema's object.
var identityType = tftypes.Object{AttributeTypes: map[string]tftypes.Type{"id": tftypes.String}}

// setIdentity records id as the resource's identity, which the framework hands every method of a
// resource with an identity schema to fill. The value is built directly, without the framework's
// reflection over a model (see attrValues): it is one attribute.
func setIdentity(ctx context.Context, identity *tfsdk.ResourceIdentity, id types.String) diag.Diagnostics {
	v, err := id.ToTerraformValue(ctx)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Unexpected Terraform Value", fmt.Sprintf("This is a bug in the provider; please report it: %s.", err))
		return diags
	}
	identity.Raw = tftypes.NewValue(identityType, map[string]tftypes.Value{"id": v})
	return nil
}

// stringAttrs are the model's string attributes by name: all but rotation_triggers, which the
// refresh and the plan leave as they are.
func (m *orgAPIKeyResourceModel) stringAttrs() map[string]*types.String {
	return map[string]*types.String{
		"id": &m.ID, "name": &m.Name, "prefix": &m.Prefix, "key": &m.Key, "created_by": &m.CreatedBy,
		"created_at": &m.CreatedAt, "last_used_at": &m.LastUsedAt, "rotate_after": &m.RotateAfter,
		"rotate_at": &m.RotateAt, "lifetime": &m.Lifetime, "expires_at": &m.ExpiresAt,
	}
}

// readAttrs fills the model's string attributes from a; rotation_triggers stays null.
func (m *orgAPIKeyResourceModel) readAttrs(a attrValues) {
	for name, v := range m.stringAttrs() {
		*v = a.string(name)
	}
}

// readModel reads a state, plan or configuration of the resource: the model of its string
// attributes, and all of its attributes, to write back what changed.
func readModel(v tftypes.Value, diags *diag.Diagnostics) (orgAPIKeyResourceModel, attrValues) {
	var m orgAPIKeyResourceModel
	attrs, d := objectAttrs(v)
	diags.Append(d...)
	m.readAttrs(attrs)
	return m, attrs
}

// writeAttrs sets the model's string attributes in a; rotation_triggers keeps what a holds.
func (m *orgAPIKeyResourceModel) writeAttrs(a attrValues) {
	for name, v := range m.stringAttrs() {
		a.setString(name, *v)
	}
}

// setMetadata copies what the service knows; the plaintext key is never among it. A prefix the
// service does not list (the guide's shape) keeps the value taken from the plaintext at mint.
func (m *orgAPIKeyResourceModel) setMetadata(t client.Token) {
	m.ID = types.StringValue(t.ID)
	m.Name = optionalString(t.Name)
	if t.Prefix != "" || m.Prefix.IsUnknown() {
		m.Prefix = optionalString(t.Prefix)
	}
	m.CreatedBy = optionalString(t.CreatedBy)
	m.CreatedAt = timeValue(t.CreatedAt)
	m.LastUsedAt = optionalTimeValue(t.LastUsedAt)
	m.ExpiresAt = optionalTimeValue(t.ExpiresAt)
}

// expiry is when the key expires, by expires_at in state; ok is false when it never does (or the
// value is unknown or unreadable).
func (m *orgAPIKeyResourceModel) expiry() (at time.Time, ok bool) {
	if m.ExpiresAt.IsNull() || m.ExpiresAt.IsUnknown() {
		return time.Time{}, false
	}
	at, err := time.Parse(time.RFC3339, m.ExpiresAt.ValueString())
	return at, err == nil
}

// lifetime is the configured lifetime; ok is false when none is set (or it is unknown).
func (m *orgAPIKeyResourceModel) lifetime() (d time.Duration, ok bool) {
	if m.Lifetime.IsNull() || m.Lifetime.IsUnknown() {
		return 0, false
	}
	d, err := time.ParseDuration(m.Lifetime.ValueString())
	return d, err == nil
}

// importing reports whether only the id is in state: an import that has not been read yet.
func (m *orgAPIKeyResourceModel) importing() bool {
	return m.Key.IsNull() && m.CreatedAt.IsNull() && m.Name.IsNull() && m.Prefix.IsNull()
}

// rotationTime is when the key falls due: created_at plus rotate_after. ok is false when either
// is null or unknown.
func (m *orgAPIKeyResourceModel) rotationTime() (at time.Time, ok bool, err error) {
	if m.CreatedAt.IsNull() || m.CreatedAt.IsUnknown() || m.RotateAfter.IsNull() || m.RotateAfter.IsUnknown() {
		return time.Time{}, false, nil
	}
	created, err := time.Parse(time.RFC3339, m.CreatedAt.ValueString())
	if err != nil {
		return time.Time{}, false, fmt.Errorf("created_at %q is not an RFC 3339 time", m.CreatedAt.ValueString())
	}
	// Bounds are the validator's job: a value in state must still work if they ever change.
	d, err := time.ParseDuration(m.RotateAfter.ValueString())
	if err != nil {
		return time.Time{}, false, fmt.Errorf("rotate_after %q is not a duration", m.RotateAfter.ValueString())
	}
	return created.Add(d).UTC(), true, nil
}

// setRotateAt derives rotate_at from created_at and rotate_after, so that it can never drift.
func (m *orgAPIKeyResourceModel) setRotateAt() error {
	at, ok, err := m.rotationTime()
	switch {
	case err != nil:
		return err
	case ok:
		m.RotateAt = timeValue(at)
	case m.RotateAfter.IsNull() || m.CreatedAt.IsNull():
		m.RotateAt = types.StringNull()
	default:
		m.RotateAt = types.StringUnknown()
	}
	return nil
}

func (r *orgAPIKeyResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_org_api_key"
}

func (r *orgAPIKeyResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	resp.Schema = schema.Schema{
		MarkdownDescription: "An org-scoped API key. Creating the resource mints a key and stores its plaintext " +
			"in state as the sensitive `key` attribute; destroying it revokes the key at once.\n\n" +
			"The service shows the plaintext only in the mint response, so `key` is known only for keys minted " +
			"by this resource, never for imported ones. The API cannot rename a key: changing `name` " +
			"mints a new key and revokes the old one. `rotate_after`, `rotation_triggers` and `lifetime` replace " +
			"the key on a schedule, on demand or when it expires.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Key identifier assigned by the service: an opaque string (a UUID on the deployed " +
					"service). Used to import and to revoke.",
				PlanModifiers: keep,
			},
			"name": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Name shown in Canvas and in the audit trail, such as `ci-bot`. **Required to mint a " +
					"key**: at most 100 bytes of UTF-8, not blank, no control characters, checked at plan time. Not unique. " +
					"Changing it replaces the key; leaving it unset keeps an imported key's name as the service holds it.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplace()},
			},
			"prefix": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "The first 8 characters of the plaintext, as Canvas shows the key (`UyJhAK6q…`) and as " +
					"`created_by = \"org-token:<prefix>\"` names the keys this key mints. Not secret on its own.",
				PlanModifiers: keep,
			},
			"key": schema.StringAttribute{
				Computed:  true,
				Sensitive: true,
				MarkdownDescription: "The plaintext key, sent as `Authorization: Bearer <key>`. Set once, from the mint " +
					"response, and kept in state from then on: the service never shows it again. Null for an imported key.",
				PlanModifiers: keep,
			},
			"created_by": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Who minted the key: `admin-token`, `org-token:<prefix>` (an org key, by its " +
					"`prefix`) or `session` (a person in Canvas). Read from the list of keys after the mint; null if that " +
					"list could not be read.",
				PlanModifiers: keep,
			},
			"created_at": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "When the key was minted, RFC 3339 in UTC (to the second). Taken from the list of keys " +
					"when the mint response has none, as on the deployed service.",
				PlanModifiers: keep,
			},
			"last_used_at": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "When the key last authenticated a request, RFC 3339 in UTC; null if never used. " +
					"Refreshed on every read; a change never causes a diff.",
				PlanModifiers: keep,
			},
			"rotate_after": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Age at which the key is due for rotation, as a Go duration such as `\"720h\"` (30 days), " +
					"between `" + durationText(minRotateAfter) + "` and `" + durationText(maxRotateAfter) + "` (10 years). The first plan whose refresh of the key comes at or after " +
					"`rotate_at` replaces the key. Changing this value only moves `rotate_at` and updates in place, unless " +
					"the new `rotate_at` has already passed; set on a key that had none, it updates in place, and the next " +
					"plan replaces the key if `rotate_at` has passed. Unset by default: the key never falls due.",
				Validators: []validator.String{durationValidator{min: minRotateAfter, max: maxRotateAfter}},
			},
			"rotate_at": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "When the key falls due for rotation, RFC 3339 in UTC: `created_at` plus `rotate_after`. " +
					"Null when `rotate_after` is not set; known after apply for a key not yet minted.",
			},
			"lifetime": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "How long the key stays valid after it is minted, as a Go duration such as `\"2160h\"` (90 days), " +
					"between `" + durationText(minLifetime) + "` and `" + durationText(maxLifetime) + "`. The service expires " +
					"the key then (`expires_at`), and the first plan that refreshes it afterwards replaces it. `rotate_after` " +
					"must be shorter. Changing it replaces the key. Unset by default: the key never expires.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{durationValidator{min: minLifetime, max: maxLifetime}},
			},
			"expires_at": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "When the key expires, RFC 3339 in UTC, as the service reports it: its mint time plus " +
					"`lifetime`. Null when the key never expires (no `lifetime`, a key imported without an expiry, or a " +
					"service that ignores it).",
				PlanModifiers: keep,
			},
			"rotation_triggers": schema.MapAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Arbitrary strings that replace the key when any of them changes, or when an entry " +
					"is added or removed: for rotation driven by other resources or by a version number you bump. " +
					"Not sent to the service.",
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
			},
		},
	}
}

func (r *orgAPIKeyResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identityschema.Schema{
		Attributes: map[string]identityschema.Attribute{
			"id": identityschema.StringAttribute{
				RequiredForImport: true,
				// Identity attributes have a single description, rendered as Markdown.
				Description: "The key's id, as the service reports it and as the resource's `id` attribute holds it: " +
					"an opaque string (a UUID such as `a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e` on the deployed service). " +
					"Never the key's plaintext. Find it with the `molecule_org_api_keys` data source.",
			},
		},
	}
}

func (r *orgAPIKeyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (r *orgAPIKeyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	ctx = r.data.maskSecrets(ctx)
	plan, attrs := readModel(req.Plan.Raw, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}

	name := plan.Name.ValueString()
	if plan.Name.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Missing Org API Key Name",
			"A name is required to mint a key: set \"name\" to what uses the key, such as \"ci-bot\". "+
				"Only an imported key that has no name may leave it unset.")
		return
	}
	opts := client.MintOptions{ApprovalWait: r.data.approvalWait}
	if d, ok := plan.lifetime(); ok {
		opts.ExpiresAt = r.data.now().Add(d).UTC().Truncate(time.Second)
	}
	minted, revoked, err := r.data.client.MintReconciled(ctx, name, opts)
	resp.Diagnostics.Append(r.data.reconcileWarnings("key", name, revoked, minted)...)
	if err != nil {
		resp.Diagnostics.AddError(r.data.mintFailure(ctx, "key", name, err))
		return
	}

	ctx = r.data.maskSecrets(ctx, minted.Key)
	plan.Prefix = types.StringUnknown()
	plan.setMetadata(minted.Token)
	plan.Key = types.StringValue(minted.Key)
	tflog.Info(ctx, "minted org API key", map[string]any{"id": minted.ID, "name": minted.Name, "prefix": minted.Prefix})
	if minted.ExpiryIgnored {
		resp.Diagnostics.AddWarning(expiryIgnoredWarning("key", minted.ID))
	}
	if minted.MetadataErr != nil {
		resp.Diagnostics.AddWarning("Org API Key Metadata Not Yet Known",
			fmt.Sprintf("Key %s was minted and is in state with its secret, but %s. created_by and created_at stay null "+
				"until the next refresh (terraform plan or apply) fills them in.", minted.ID, r.data.redact(minted.MetadataErr.Error())))
	}
	if err := plan.setRotateAt(); err != nil {
		// The key is live and its secret exists only here, so it goes to state regardless.
		resp.Diagnostics.AddWarning("Unable to Compute Rotation Time",
			fmt.Sprintf("Key %s was minted, but its rotate_at could not be computed: %s.", minted.ID, err))
		plan.RotateAt = types.StringNull()
	}
	resp.Diagnostics.Append(recordCheck(ctx, resp.Private, &plan, r.data.now())...)
	plan.writeAttrs(attrs)
	resp.State.Raw = attrs.object(req.Plan.Raw.Type())
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, plan.ID)...)
}

func (r *orgAPIKeyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	state, attrs := readModel(req.State.Raw, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// Set before anything can return early. State from a release without identity, or kept by a
	// CLI without it (Terraform before 1.12), has none, and the framework rejects a read that
	// leaves it null, even one that keeps the key on an incomplete list or drops it as revoked.
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, state.ID)...)
	// The time of this refresh is what the plan that follows, and its second run when the plan is
	// applied, decide rotation against (see checkedAtKey): recorded on every way out, for the key
	// as refreshed, or as it was where state is kept unchanged.
	checkedAt := r.data.now()
	defer func() { resp.Diagnostics.Append(recordCheck(ctx, resp.Private, &state, checkedAt)...) }()
	// Masked once the key from state is known: every mask is copied into each call's logger.
	ctx = r.data.maskSecrets(ctx, state.Key.ValueString())
	id := state.ID.ValueString()
	token, incomplete, err := r.data.findKey(ctx, id)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Org API Key",
			fmt.Sprintf("Listing keys to refresh key %s failed: %s. State was left unchanged. %s", r.data.sanitizeForMessage(id), err, nextStep(err)))
		return
	}
	if token == nil {
		// An import has only the id in state; a vanished key there is a typo, not drift.
		if state.importing() {
			resp.Diagnostics.AddError("Cannot Import Org API Key", r.importNotFound(ctx, id, incomplete))
			return
		}
		if incomplete != "" {
			resp.Diagnostics.AddWarning("Org API Key Not Found in an Incomplete List",
				fmt.Sprintf("Key %s (%q) was not in the service's list of live keys. %s It stays in state unchanged, and "+
					"nothing is minted in its place. If it was revoked, replace it with terraform apply -replace=<address> "+
					"or forget it with terraform state rm <address>.", printable(id), state.Name.ValueString(), incompleteListAdvice(incomplete)))
			return
		}
		resp.Diagnostics.AddWarning("Org API Key Revoked Outside Terraform",
			fmt.Sprintf("Key %s (%q) is no longer live: it was revoked outside Terraform. It has been removed from state; "+
				"the next apply mints a replacement with a new secret.", printable(id), state.Name.ValueString()))
		resp.State.RemoveResource(ctx)
		return
	}

	// The plaintext comes from prior state untouched: the service can never supply it again.
	state.setMetadata(*token)
	if err := state.setRotateAt(); err != nil {
		resp.Diagnostics.AddError("Unable to Read Org API Key",
			fmt.Sprintf("Key %s: %s. State was left unchanged.", id, err))
		return
	}
	state.writeAttrs(attrs)
	resp.State.Raw = attrs.object(req.State.Raw.Type())
}

// Update only ever changes rotate_after: everything else forces replacement. The key stays as it
// is, so no request is made; rotate_at moves with the new setting.
func (r *orgAPIKeyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	plan, planned := readModel(req.Plan.Raw, &resp.Diagnostics)
	state, attrs := readModel(req.State.Raw, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	state.RotateAfter = plan.RotateAfter
	attrs["rotation_triggers"] = planned["rotation_triggers"]
	if err := state.setRotateAt(); err != nil {
		resp.Diagnostics.AddError("Unable to Update Org API Key",
			fmt.Sprintf("Key %s: %s. State was left unchanged.", state.ID.ValueString(), err))
		return
	}
	state.writeAttrs(attrs)
	resp.State.Raw = attrs.object(req.State.Raw.Type())
	// The planned identity is the prior one: null on a CLI that keeps no identity (Terraform before
	// 1.12), and the framework rejects an update that leaves it null.
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, state.ID)...)
}

// ModifyPlan shows the rotate_at that rotate_after implies and replaces the key once that time
// has passed, or once the key has expired. A time-driven replacement can only be decided here:
// nothing in the configuration or in the service's data changes when a key comes of age. "Now" is
// the time recorded when the key was last checked (see checkedAtKey), never the wall clock, so
// that applying a saved plan, which plans again from the same prior state, decides as the plan did.
// It also counts the keys the plan mints, to warn when they are more than the hourly quota.
func (r *orgAPIKeyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	plan, planned := readModel(req.Plan.Raw, &resp.Diagnostics)
	state, _ := readModel(req.State.Raw, &resp.Diagnostics)
	config, _ := readModel(req.Config.Raw, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// A new key's rotate_at waits for the mint's created_at: setRotateAt leaves it unknown.
	existing := !req.State.Raw.IsNull()
	if existing {
		plan.CreatedAt = state.CreatedAt
	}
	if !validNameToMint(config.Name, existing, state.Name, &resp.Diagnostics) {
		return
	}
	if err := plan.setRotateAt(); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("rotate_after"), "Unable to Plan Org API Key Rotation",
			fmt.Sprintf("The rotation time of key %q cannot be computed: %s.", plan.Name.ValueString(), err))
		return
	}

	// A plan without a refresh (-refresh=false) decides as of the last check in state. A key
	// with no check recorded, from state written before checks were, or one that could not fall
	// due until this plan set rotate_after (recordCheck), is left alone, and the next plan that
	// refreshes decides. Deciding by the wall clock instead could flip at apply.
	checkedAt, checked := time.Time{}, false
	if existing {
		b, diags := req.Private.GetKey(ctx, checkedAtKey)
		resp.Diagnostics.Append(diags...)
		checkedAt, checked = parseCheckedAt(b)
	}
	expiresAt, expires := state.expiry()
	rotateAt, rotates, _ := plan.rotationTime()
	switch {
	case checked && expires && !checkedAt.Before(expiresAt):
		resp.Diagnostics.AddWarning("Org API Key Expired",
			fmt.Sprintf("Key %s (%q) expired at %s: it no longer authenticates, although the service lists it until it is "+
				"revoked. This plan replaces it with a new key and revokes the expired one. Set rotate_after shorter than "+
				"lifetime, and run plan and apply on a schedule, to replace keys before they expire.",
				state.ID.ValueString(), state.Name.ValueString(), expiresAt.Format(time.RFC3339)))
		replaceAt(resp, &plan.ExpiresAt, "expires_at")
	case checked && rotates && !checkedAt.Before(rotateAt):
		resp.Diagnostics.AddWarning("Org API Key Due for Rotation",
			fmt.Sprintf("Key %s (%q) is due for rotation: rotate_at %s has passed; this plan replaces it with a new key. "+
				"With lifecycle { create_before_destroy = true } the new key is minted before the old one is revoked.",
				state.ID.ValueString(), state.Name.ValueString(), rotateAt.Format(time.RFC3339)))
		replaceAt(resp, &plan.RotateAt, "rotate_at")
	}
	if !existing {
		// Known at plan time when nothing will expire; otherwise the mint says when.
		if _, ok := plan.lifetime(); !ok && !plan.Lifetime.IsUnknown() {
			plan.ExpiresAt = types.StringNull()
		}
		// Terraform plans the new key of a replacement as a create of its own, so every key the
		// plan mints is counted here once.
		if summary, detail, ok := r.data.planMintWarning(); ok {
			resp.Diagnostics.AddWarning(summary, detail)
		}
	}
	planned.setString("rotate_at", plan.RotateAt)
	planned.setString("expires_at", plan.ExpiresAt)
	resp.Plan.Raw = planned.object(req.Plan.Raw.Type())
}

// validNameToMint checks the name the configuration gives a key about to be minted: a new one, or
// the replacement a new name makes (checked at plan, before a replacement revokes the old key).
// The service's rules apply to what Terraform mints, never to what the service already holds: an
// existing key keeps whatever name it has, and dropping name from its configuration keeps it too.
func validNameToMint(name types.String, existing bool, current types.String, diags *diag.Diagnostics) bool {
	switch {
	case name.IsUnknown():
		return true
	case existing && (name.IsNull() || name.Equal(current)):
		return true
	case name.IsNull():
		diags.AddAttributeError(path.Root("name"), "Missing Org API Key Name",
			"A name is required to mint a key: set \"name\" to what uses the key, such as \"ci-bot\". "+
				"Only a key that already exists, such as an imported one, may leave it unset.")
		return false
	}
	if err := client.ValidateName(name.ValueString()); err != nil {
		diags.AddAttributeError(path.Root("name"), "Invalid Org API Key Name", err.Error())
		return false
	}
	return true
}

// replaceAt makes the plan replace the key because of the computed attribute attr, whose planned
// value is planned: an unknown value is what makes Terraform honour the replacement, as it
// replaces only when the value at a RequiresReplace path differs from state.
func replaceAt(resp *resource.ModifyPlanResponse, planned *types.String, attr string) {
	*planned = types.StringUnknown()
	resp.RequiresReplace = append(resp.RequiresReplace, path.Root(attr))
}

// ValidateConfig refuses a rotation that would come after the key expires.
func (r *orgAPIKeyResource) ValidateConfig(_ context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	cfg, _ := readModel(req.Config.Raw, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	lifetime, limited := cfg.lifetime()
	if !limited || cfg.RotateAfter.IsNull() || cfg.RotateAfter.IsUnknown() {
		return
	}
	if rotateAfter, err := time.ParseDuration(cfg.RotateAfter.ValueString()); err == nil && rotateAfter >= lifetime {
		resp.Diagnostics.AddAttributeError(path.Root("rotate_after"), "Rotation After the Key Expires",
			fmt.Sprintf("rotate_after (%s) must be shorter than lifetime (%s): the key would expire before it falls due for "+
				"rotation. Set rotate_after to the lifetime less at least the time between your scheduled runs, so that one "+
				"of them replaces the key before it expires.", cfg.RotateAfter.ValueString(), cfg.Lifetime.ValueString()))
	}
}

func (r *orgAPIKeyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	state, _ := readModel(req.State.Raw, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	// Masked once the key from state is known: every mask is copied into each call's logger.
	ctx = r.data.maskSecrets(ctx, state.Key.ValueString())
	id := state.ID.ValueString()
	err := r.data.client.Revoke(ctx, id)
	switch {
	case err == nil:
		tflog.Info(ctx, "revoked org API key", map[string]any{"id": id})
	case client.IsKeyNotLive(err):
		tflog.Info(ctx, "org API key was already revoked", map[string]any{"id": id})
	default:
		resp.Diagnostics.AddError("Unable to Revoke Org API Key",
			fmt.Sprintf("Revoking key %s (%q) failed: %s. The key may still be live and stays in state; "+
				"run terraform destroy again, or revoke it in Canvas. %s", printable(id), state.Name.ValueString(), err, nextStep(err)))
	}
}

// ImportState takes the key's id from an id string (terraform import, or an import block with
// id) or from an import block with identity (Terraform 1.12 and later), and checks both alike.
func (r *orgAPIKeyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := req.ID
	if id == "" && req.Identity != nil && !req.Identity.Raw.IsNull() {
		var identity orgAPIKeyIdentityModel
		resp.Diagnostics.Append(req.Identity.Get(ctx, &identity)...)
		if resp.Diagnostics.HasError() {
			return
		}
		id = identity.ID.ValueString()
	}
	switch {
	case strings.TrimSpace(id) == "":
		resp.Diagnostics.AddError("Invalid Import ID",
			"The import id is empty. Import by the key's id, as the molecule_org_api_keys data source or Canvas "+
				"(Settings → Org API Keys) shows it.")
		return
	case strings.TrimSpace(id) != id:
		resp.Diagnostics.AddError("Invalid Import ID",
			"The import id starts or ends with white space; remove it. Import by the key's id, as the "+
				"molecule_org_api_keys data source or Canvas (Settings → Org API Keys) shows it.")
		return
	case r.data.client.IsSecret(id):
		resp.Diagnostics.AddError("Invalid Import ID",
			"The import id is a secret (the provider's credential or a key's plaintext), not a key id. Nothing was "+
				"imported and the value is not shown. Import by the key's id, as the molecule_org_api_keys data source "+
				"or Canvas (Settings → Org API Keys) shows it.")
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	// Like the id in state, it is kept only if Read then finds a live key with this id.
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, types.StringValue(id))...)
	// The id is not repeated here: until Read has found the key, it may be a pasted secret.
	resp.Diagnostics.AddWarning("Imported Org API Key Has No Secret",
		"The key was imported with a null \"key\": the service shows a key's plaintext only when it is minted, "+
			"so it cannot be recovered. Terraform now manages (and on destroy revokes) this key. If something needs "+
			"the secret, mint a new key instead, or replace this one with terraform apply -replace=<address> "+
			"(a key without a name needs a \"name\" in configuration first).")
}

// importNotFound explains why an id being imported matches no live key, without echoing a
// secret that was pasted where the id belongs.
func (r *orgAPIKeyResource) importNotFound(ctx context.Context, id, incomplete string) string {
	const find = "Find the ids of live keys with the molecule_org_api_keys data source (by name, prefix or created_by) " +
		"or in Canvas (Settings → Org API Keys); revoked keys cannot be imported."
	snap, err := r.data.listKeys(ctx)
	if err == nil {
		if t, ok := secretLookalike(snap, id); ok {
			return fmt.Sprintf("The import id is not a key id: it starts with the prefix of key %s, so it is probably that "+
				"key's secret. It is not shown here; keep it out of configuration and shell history. To import that key, "+
				"use its id: %s.", describeKey(t), printable(t.ID))
		}
	}
	if err != nil {
		snap = nil
	}
	msg := fmt.Sprintf("No live key has the id %s. %s", r.data.echoInput(id, snap), find)
	if incomplete != "" {
		msg += " " + incompleteListAdvice(incomplete)
	}
	return msg
}
