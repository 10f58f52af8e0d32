package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

var (
	_ ephemeral.EphemeralResource              = (*orgAPIKeyEphemeralResource)(nil)
	_ ephemeral.EphemeralResourceWithConfigure = (*orgAPIKeyEphemeralResource)(nil)
	_ ephemeral.EphemeralResourceWithClose     = (*orgAPIKeyEphemeralResource)(nil)
)

// privateKeyOpened names the private data Open leaves for Close.
const privateKeyOpened = "opened_key"

// closeGrace bounds a revocation once Terraform has cancelled the call making it: long enough
// to revoke, short enough not to hold up Terraform's exit.
const closeGrace = 10 * time.Second

// defaultEphemeralLifetime is how long an ephemeral key lives unless configured: long enough for
// most runs, short enough that a key whose Close never ran (a killed run) soon stops working.
const defaultEphemeralLifetime = time.Hour

// NewOrgAPIKeyEphemeralResource is the constructor registered with the provider.
func NewOrgAPIKeyEphemeralResource() ephemeral.EphemeralResource {
	return &orgAPIKeyEphemeralResource{}
}

type orgAPIKeyEphemeralResource struct {
	data *providerData
}

type orgAPIKeyEphemeralResourceModel struct {
	Name          types.String `tfsdk:"name"`
	RevokeOnClose types.Bool   `tfsdk:"revoke_on_close"`
	ID            types.String `tfsdk:"id"`
	Prefix        types.String `tfsdk:"prefix"`
	Key           types.String `tfsdk:"key"`
	CreatedBy     types.String `tfsdk:"created_by"`
	CreatedAt     types.String `tfsdk:"created_at"`
	Lifetime      types.String `tfsdk:"lifetime"`
	ExpiresAt     types.String `tfsdk:"expires_at"`
}

// openedKey is what Close needs to know about the key Open minted. It never holds the plaintext.
type openedKey struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	RevokeOnClose bool   `json:"revoke_on_close"`
}

func (r *orgAPIKeyEphemeralResource) Metadata(_ context.Context, req ephemeral.MetadataRequest, resp *ephemeral.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_org_api_key"
}

func (r *orgAPIKeyEphemeralResource) Schema(_ context.Context, _ ephemeral.SchemaRequest, resp *ephemeral.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A short-lived org-scoped API key that never touches plan or state files. Terraform " +
			"mints the key when it opens the ephemeral resource and, by default, revokes it when it closes it, " +
			"at the end of the same plan or apply. Use it to hand a credential to something that accepts " +
			"ephemeral values, such as a provider's configuration or a write-only attribute. Plan **and** apply " +
			"each mint their own key, and each mint counts against the service's quota of 10 mints an hour.",
		Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{
				Required: true,
				MarkdownDescription: "Name shown in Canvas and in the audit trail, such as `terraform-run`. Every key " +
					"this resource mints carries it; choose one that says where the key came from, so a key left " +
					"behind by an interrupted run is easy to find. At most 100 bytes of UTF-8, not blank, no control characters.",
				Validators: []validator.String{keyNameValidator{}},
			},
			"revoke_on_close": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Whether the key is revoked when Terraform closes the ephemeral resource, at the " +
					"end of each plan and apply. Defaults to `true` when unset. With `false` every plan " +
					"and every apply leaves a new live key behind, which something else must revoke.",
			},
			"id": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Identifier of the minted key: an opaque string (a UUID on the deployed service). Different on every run.",
			},
			"prefix": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "The first 8 characters of the plaintext, as Canvas shows the key and as `created_by = \"org-token:<prefix>\"` names the keys it mints.",
			},
			"key": schema.StringAttribute{
				Computed:  true,
				Sensitive: true,
				MarkdownDescription: "The plaintext key, sent as `Authorization: Bearer <key>`. Valid until " +
					"the ephemeral resource is closed (unless `revoke_on_close` is `false`). Never stored in plan or state.",
			},
			"created_by": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Who minted the key: `admin-token` when the provider's credential is the ADMIN_TOKEN, " +
					"`org-token:<prefix>` (its first 8 characters) when it is an org API key. Taken from the list of keys, as " +
					"the deployed service's mint response has none; null if that list could not be read.",
			},
			"created_at": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the key was minted, RFC 3339 in UTC; from the list of keys, like `created_by`.",
			},
			"lifetime": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "How long the key stays valid after it is minted, as a Go duration, between `" +
					durationText(minLifetime) + "` and `" + durationText(maxLifetime) + "`. Defaults to `" +
					durationText(defaultEphemeralLifetime) + "`: a key whose close never ran (a killed run) stops working " +
					"by itself soon after. Set it longer than the longest run that uses the key. Builds of the service " +
					"before June 2026 ignore it (a warning says so, and `expires_at` is null).",
				Validators: []validator.String{durationValidator{min: minLifetime, max: maxLifetime}},
			},
			"expires_at": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the key expires, RFC 3339 in UTC: its mint time plus `lifetime`. Null when the service ignores expiry.",
			},
		},
	}
}

func (r *orgAPIKeyEphemeralResource) Configure(_ context.Context, req ephemeral.ConfigureRequest, resp *ephemeral.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (r *orgAPIKeyEphemeralResource) Open(ctx context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	ctx = r.data.maskSecrets(ctx)
	var cfg orgAPIKeyEphemeralResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	name := cfg.Name.ValueString()
	lifetime := defaultEphemeralLifetime
	if !cfg.Lifetime.IsNull() {
		// The validator has checked it.
		lifetime, _ = time.ParseDuration(cfg.Lifetime.ValueString())
	}
	opts := client.MintOptions{ExpiresAt: r.data.now().Add(lifetime).UTC().Truncate(time.Second), ApprovalWait: r.data.approvalWait}
	minted, revoked, err := r.data.client.MintReconciled(ctx, name, opts)
	resp.Diagnostics.Append(r.data.reconcileWarnings("ephemeral key", name, revoked, minted)...)
	if err != nil {
		resp.Diagnostics.AddError(r.data.mintFailure(ctx, "ephemeral key", name, err))
		return
	}
	if minted.ExpiryIgnored {
		resp.Diagnostics.AddWarning(expiryIgnoredWarning("ephemeral key", minted.ID))
	}
	ctx = r.data.maskSecrets(ctx, minted.Key)
	tflog.Info(ctx, "minted ephemeral org API key", map[string]any{"id": minted.ID, "name": minted.Name, "prefix": minted.Prefix})
	if minted.MetadataErr != nil {
		resp.Diagnostics.AddWarning("Ephemeral Org API Key Metadata Not Known",
			fmt.Sprintf("Key %s was minted and is usable, but %s; its created_by and created_at are null.",
				minted.ID, r.data.redact(minted.MetadataErr.Error())))
	}

	// Terraform calls Close only after a successful Open, so from here on a failure must revoke
	// the key itself or leave it live with nobody holding its secret.
	opened := openedKey{ID: minted.ID, Name: name, RevokeOnClose: cfg.RevokeOnClose.IsNull() || cfg.RevokeOnClose.ValueBool()}
	var diags diag.Diagnostics
	if raw, err := json.Marshal(opened); err != nil {
		diags.AddError("Unable to Record Ephemeral Org API Key", err.Error())
	} else {
		diags.Append(resp.Private.SetKey(ctx, privateKeyOpened, raw)...)
	}
	if !diags.HasError() {
		cfg.ID = types.StringValue(minted.ID)
		cfg.Prefix = optionalString(minted.Prefix)
		cfg.Key = types.StringValue(minted.Key)
		cfg.CreatedBy = optionalString(minted.CreatedBy)
		cfg.CreatedAt = timeValue(minted.CreatedAt)
		cfg.ExpiresAt = optionalTimeValue(minted.ExpiresAt)
		diags.Append(resp.Result.Set(ctx, &cfg)...)
	}
	resp.Diagnostics.Append(diags...)
	if diags.HasError() {
		r.revoke(ctx, opened, &resp.Diagnostics)
	}
}

func (r *orgAPIKeyEphemeralResource) Close(ctx context.Context, req ephemeral.CloseRequest, resp *ephemeral.CloseResponse) {
	ctx = r.data.maskSecrets(ctx)
	raw, diags := req.Private.GetKey(ctx, privateKeyOpened)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	if raw == nil {
		resp.Diagnostics.AddWarning(unidentifiedCloseSummary, unidentifiedCloseDetail("Terraform handed the provider no record of it"))
		return
	}
	var opened openedKey
	if err := json.Unmarshal(raw, &opened); err != nil || opened.ID == "" {
		resp.Diagnostics.AddWarning(unidentifiedCloseSummary, unidentifiedCloseDetail("the record Terraform kept of it could not be read"))
		return
	}
	if !opened.RevokeOnClose {
		tflog.Info(ctx, "leaving ephemeral org API key live: revoke_on_close is false", map[string]any{"id": opened.ID})
		return
	}
	r.revoke(ctx, opened, &resp.Diagnostics)
}

const unidentifiedCloseSummary = "Unable to Identify Ephemeral Org API Key to Revoke"

// unidentifiedCloseDetail explains a Close that cannot tell which key its Open minted, and why.
// The private data that would say so is gone, so it names no key: it says how to find one.
func unidentifiedCloseDetail(why string) string {
	return "Terraform closed an ephemeral molecule_org_api_key, but the key it opened, if any, could not be identified: " +
		why + ". No key was revoked, so the key this run minted may still be live. Find it by its name and created_at " +
		"with the molecule_org_api_keys data source, with terraform query and the molecule_org_api_key list resource, " +
		"or in Canvas (Settings → Org API Keys), and revoke it with the molecule_revoke_org_api_keys action or in Canvas. " +
		"Please report this to the provider's maintainers."
}

// revoke revokes an opened key; a key that is already revoked is fine.
func (r *orgAPIKeyEphemeralResource) revoke(ctx context.Context, opened openedKey, diags *diag.Diagnostics) {
	// Interrupting a run cancels the calls in flight; a revocation under way is let finish, as
	// the key would otherwise stay live after its secret was handed out.
	ctx, cancel := client.Outlive(ctx, closeGrace)
	defer cancel()
	err := r.data.client.Revoke(ctx, opened.ID)
	switch {
	case err == nil:
		tflog.Info(ctx, "revoked ephemeral org API key", map[string]any{"id": opened.ID})
	case client.IsKeyNotLive(err):
		tflog.Info(ctx, "ephemeral org API key was already revoked", map[string]any{"id": opened.ID})
	default:
		diags.AddError("Unable to Revoke Ephemeral Org API Key",
			fmt.Sprintf("Revoking ephemeral key %s (%q) failed: %s. The key may still be live, and no Terraform state "+
				"tracks it. Revoke it in Canvas (Settings → Org API Keys), or import it into a molecule_org_api_key "+
				"resource (import by id %s) and destroy that. %s",
				printable(opened.ID), opened.Name, err, printable(opened.ID), nextStep(err)))
	}
}
