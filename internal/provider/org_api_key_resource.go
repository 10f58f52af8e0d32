package provider

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

var (
	_ resource.Resource                = (*orgAPIKeyResource)(nil)
	_ resource.ResourceWithConfigure   = (*orgAPIKeyResource)(nil)
	_ resource.ResourceWithImportState = (*orgAPIKeyResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*orgAPIKeyResource)(nil)
)

// Bounds of rotate_after: below a minute every run would rotate; beyond ten years is a typo.
const (
	minRotateAfter = time.Minute
	maxRotateAfter = 87600 * time.Hour
)

// NewOrgAPIKeyResource is the constructor registered with the provider.
func NewOrgAPIKeyResource() resource.Resource {
	return &orgAPIKeyResource{now: time.Now}
}

type orgAPIKeyResource struct {
	data *providerData
	// now decides whether a key is due for rotation; unit tests replace it to move time.
	now func() time.Time
}

type orgAPIKeyResourceModel struct {
	ID               types.String `tfsdk:"id"`
	Name             types.String `tfsdk:"name"`
	Key              types.String `tfsdk:"key"`
	CreatedBy        types.String `tfsdk:"created_by"`
	CreatedAt        types.String `tfsdk:"created_at"`
	LastUsedAt       types.String `tfsdk:"last_used_at"`
	RotateAfter      types.String `tfsdk:"rotate_after"`
	RotateAt         types.String `tfsdk:"rotate_at"`
	RotationTriggers types.Map    `tfsdk:"rotation_triggers"`
}

// setMetadata copies what the list endpoint knows; the plaintext key is never among it.
func (m *orgAPIKeyResourceModel) setMetadata(t client.Token) {
	m.ID = types.StringValue(t.ID)
	m.Name = types.StringValue(t.Name)
	m.CreatedBy = types.StringValue(t.CreatedBy)
	m.CreatedAt = timeValue(t.CreatedAt)
	m.LastUsedAt = optionalTimeValue(t.LastUsedAt)
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
			"mints a new key and revokes the old one. A key revoked outside Terraform is dropped from state " +
			"with a warning, and the next apply mints a replacement.\n\n" +
			"`rotate_after` replaces the key on the first plan after it has reached that age, and changing " +
			"`rotation_triggers` replaces it at once. With `lifecycle { create_before_destroy = true }` the new key " +
			"is minted before the old one is revoked.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Key identifier assigned by the service, such as `tok_01HZX3B7N8PQ9K4M5R6T`. Used to import and to revoke.",
				PlanModifiers:       keep,
			},
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Name shown in Canvas and in the audit trail, such as `ci-bot` or `claude-agent-prod`. " +
					"Not unique: the service accepts several live keys with one name. At most 128 characters, " +
					"not blank, no control characters. Changing it replaces the key.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
				Validators:    []validator.String{keyNameValidator{}},
			},
			"key": schema.StringAttribute{
				Computed:  true,
				Sensitive: true,
				MarkdownDescription: "The plaintext key (`mola_…`), sent as `Authorization: Bearer <key>`. " +
					"Set once, from the mint response, and kept in state from then on: the service never shows it again. " +
					"Null for an imported key. Treat the state file as a secret.",
				PlanModifiers: keep,
			},
			"created_by": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Who minted the key: `admin-token`, `org-token:<prefix>` (another org key, by its " +
					"first 8 characters) or `session:<user_id>` (a Canvas user).",
				PlanModifiers: keep,
			},
			"created_at": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the key was minted, RFC 3339 in UTC.",
				PlanModifiers:       keep,
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
					"between `1m` and `87600h` (10 years). The first plan at or after `rotate_at` replaces the key; " +
					"rotation needs a Terraform run, so run plan and apply on a schedule. Changing this value " +
					"only moves `rotate_at` and updates in place, unless the new `rotate_at` has already passed. " +
					"Unset by default: the key never falls due.",
				Validators: []validator.String{durationValidator{min: minRotateAfter, max: maxRotateAfter}},
			},
			"rotate_at": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "When the key falls due for rotation, RFC 3339 in UTC: `created_at` plus `rotate_after`. " +
					"Null when `rotate_after` is not set; known after apply for a key not yet minted.",
			},
			"rotation_triggers": schema.MapAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: "Arbitrary strings that replace the key when any of them changes, or when an entry " +
					"is added or removed: for rotation driven by other resources or by a version number you bump. " +
					"Setting it on a key that has none, such as one just imported, replaces the key too. " +
					"Not sent to the service.",
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()},
			},
		},
	}
}

func (r *orgAPIKeyResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (r *orgAPIKeyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	ctx = r.data.maskSecrets(ctx)
	var plan orgAPIKeyResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}

	name := plan.Name.ValueString()
	minted, revoked, err := r.data.client.MintReconciled(ctx, name)
	for _, id := range revoked {
		resp.Diagnostics.AddWarning("Revoked Key From a Lost Mint Response",
			fmt.Sprintf("A request to mint key %q got no usable answer, but the service had created key %s. "+
				"Its secret was lost with the response, so nobody can use it: the provider revoked it.", name, id))
	}
	if err != nil {
		resp.Diagnostics.AddError("Unable to Mint Org API Key", mintFailureDetail(name, err))
		return
	}

	plan.setMetadata(minted.Token)
	plan.Key = types.StringValue(minted.Key)
	tflog.Info(ctx, "minted org API key", map[string]any{"id": minted.ID, "name": minted.Name})
	if err := plan.setRotateAt(); err != nil {
		// The key is live and its secret exists only here, so it goes to state regardless.
		resp.Diagnostics.AddWarning("Unable to Compute Rotation Time",
			fmt.Sprintf("Key %s was minted, but its rotate_at could not be computed: %s.", minted.ID, err))
		plan.RotateAt = types.StringNull()
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *orgAPIKeyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	ctx = r.data.maskSecrets(ctx)
	var state orgAPIKeyResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}

	id := state.ID.ValueString()
	token, err := r.data.findKey(ctx, id)
	if err != nil {
		resp.Diagnostics.AddError("Unable to Read Org API Key",
			fmt.Sprintf("Listing keys to refresh key %s failed: %s. State was left unchanged. %s", id, err, nextStep(err)))
		return
	}
	if token == nil {
		// An import has only the id in state; a vanished key there is a typo, not drift.
		if state.Name.IsNull() {
			resp.Diagnostics.AddError("Cannot Import Org API Key",
				fmt.Sprintf("No live org API key has id %s. Check the id with the molecule_org_api_keys data source "+
					"or in Canvas (Settings → Org API Keys); revoked keys cannot be imported.", id))
			return
		}
		resp.Diagnostics.AddWarning("Org API Key Revoked Outside Terraform",
			fmt.Sprintf("Key %s (%q) is no longer live: it was revoked outside Terraform. It has been removed from state; "+
				"the next apply mints a replacement with a new secret.", id, state.Name.ValueString()))
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
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// Update only ever changes rotate_after: everything else forces replacement. The key stays as it
// is, so no request is made; rotate_at moves with the new setting.
func (r *orgAPIKeyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state orgAPIKeyResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	state.RotateAfter = plan.RotateAfter
	state.RotationTriggers = plan.RotationTriggers
	if err := state.setRotateAt(); err != nil {
		resp.Diagnostics.AddError("Unable to Update Org API Key",
			fmt.Sprintf("Key %s: %s. State was left unchanged.", state.ID.ValueString(), err))
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// ModifyPlan shows the rotate_at that rotate_after implies and, once that time has passed,
// replaces the key. A time-driven replacement can only be decided here: nothing in the
// configuration or in the service's data changes when a key comes of age.
func (r *orgAPIKeyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan orgAPIKeyResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// A new key's rotate_at waits for the mint's created_at: setRotateAt leaves it unknown.
	existing := !req.State.Raw.IsNull()
	var state orgAPIKeyResourceModel
	if existing {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		plan.CreatedAt = state.CreatedAt
	}
	if err := plan.setRotateAt(); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("rotate_after"), "Unable to Plan Org API Key Rotation",
			fmt.Sprintf("The rotation time of key %q cannot be computed: %s.", plan.Name.ValueString(), err))
		return
	}

	if at, known, _ := plan.rotationTime(); existing && known && !r.now().Before(at) {
		// An unknown rotate_at is what makes Terraform honour the replacement: it replaces only
		// when the value at a RequiresReplace path differs from state.
		plan.RotateAt = types.StringUnknown()
		resp.RequiresReplace = append(resp.RequiresReplace, path.Root("rotate_at"))
		resp.Diagnostics.AddWarning("Org API Key Due for Rotation",
			fmt.Sprintf("Key %s (%q) is due for rotation: rotate_at %s has passed; this plan replaces it with a new key. "+
				"With lifecycle { create_before_destroy = true } the new key is minted before the old one is revoked.",
				state.ID.ValueString(), state.Name.ValueString(), at.Format(time.RFC3339)))
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("rotate_at"), plan.RotateAt)...)
}

func (r *orgAPIKeyResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	ctx = r.data.maskSecrets(ctx)
	var state orgAPIKeyResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}

	id := state.ID.ValueString()
	err := r.data.client.Revoke(ctx, id)
	switch {
	case err == nil:
		tflog.Info(ctx, "revoked org API key", map[string]any{"id": id})
	case client.IsNotFound(err):
		tflog.Info(ctx, "org API key was already revoked", map[string]any{"id": id})
	default:
		resp.Diagnostics.AddError("Unable to Revoke Org API Key",
			fmt.Sprintf("Revoking key %s (%q) failed: %s. The key may still be live and stays in state; "+
				"run terraform destroy again, or revoke it in Canvas. %s", id, state.Name.ValueString(), err, nextStep(err)))
	}
}

func (r *orgAPIKeyResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if !keyIDPattern.MatchString(req.ID) {
		resp.Diagnostics.AddError("Invalid Import ID",
			fmt.Sprintf("%q is not an org API key id. Import by the key's id, such as tok_01HZX3B7N8PQ9K4M5R6T "+
				"(see the molecule_org_api_keys data source or Canvas), not by its name or secret.", sanitizeForMessage(req.ID)))
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
	resp.Diagnostics.AddWarning("Imported Org API Key Has No Secret",
		fmt.Sprintf("Key %s was imported with a null \"key\": the service shows a key's plaintext only when it is minted, "+
			"so it cannot be recovered. Terraform now manages (and on destroy revokes) this key. If something needs "+
			"the secret, mint a new key instead, or taint this one to replace it.", req.ID))
}

// mintFailureDetail explains a failed mint, and above all whether a key may have been left behind.
func mintFailureDetail(name string, err error) string {
	var unresolved *client.UnresolvedMintError
	var abandoned *client.MintAbandonedError
	switch {
	case errors.As(err, &unresolved):
		return fmt.Sprintf("%s. Nothing was recorded in state. Check these keys in Canvas (Settings → Org API Keys) or with the "+
			"molecule_org_api_keys data source, revoke the ones nobody uses, then run terraform apply again.", err)
	case errors.As(err, &abandoned):
		return fmt.Sprintf("%s. Nothing was recorded in state and no key was left behind; run terraform apply again. %s",
			err, nextStep(err))
	}
	return fmt.Sprintf("Minting key %q failed: %s. No key was created. %s", name, err, nextStep(err))
}
