package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/list/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

var (
	_ list.ListResource              = (*orgAPIKeyListResource)(nil)
	_ list.ListResourceWithConfigure = (*orgAPIKeyListResource)(nil)
	_ validator.String               = notUsedSinceValidator{}
)

// Bounds of a not_used_since duration: below a minute every key in use right now would count as
// stale; beyond ten years is a typo (an RFC 3339 time reaches further back).
const (
	minNotUsedSince = time.Minute
	maxNotUsedSince = 87600 * time.Hour
)

// NewOrgAPIKeyListResource is the constructor registered with the provider.
func NewOrgAPIKeyListResource() list.ListResource {
	return &orgAPIKeyListResource{}
}

type orgAPIKeyListResource struct {
	data *providerData
}

type orgAPIKeyListResourceModel struct {
	NamePrefix   types.String `tfsdk:"name_prefix"`
	NameRegex    types.String `tfsdk:"name_regex"`
	CreatedBy    types.String `tfsdk:"created_by"`
	NotUsedSince types.String `tfsdk:"not_used_since"`
	NeverUsed    types.Bool   `tfsdk:"never_used"`
	Expired      types.Bool   `tfsdk:"expired"`
}

func (r *orgAPIKeyListResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_org_api_key"
}

func (r *orgAPIKeyListResource) ListResourceConfigSchema(_ context.Context, _ list.ListResourceSchemaRequest, resp *list.ListResourceSchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Finds the organization's live org API keys for `terraform query` (Terraform 1.14 and later), " +
			"so that keys made outside Terraform, in Canvas or by a script, can be brought under management: " +
			"`terraform query -generate-config-out=<file>` writes a `molecule_org_api_key` resource and an `import` " +
			"block for each key found, and the next `terraform apply` imports them without minting or revoking anything.",
		Attributes: map[string]schema.Attribute{
			"name_prefix": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: namePrefixFilterDescription,
			},
			"name_regex": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: nameRegexFilterDescription,
				Validators:          []validator.String{regexValidator{}},
			},
			"created_by": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: createdByFilterDescription,
			},
			"not_used_since": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Keep only stale keys: those whose `last_used_at` is before this time, and those never used. " +
					fmt.Sprintf("Either a Go duration counted back from when the query runs, such as `\"720h\"` (30 days), between `%s` and "+
						"`%s`, or an RFC 3339 time such as `\"2026-01-01T00:00:00Z\"`.", durationText(minNotUsedSince), durationText(maxNotUsedSince)),
				Validators: []validator.String{notUsedSinceValidator{}},
			},
			"never_used": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "When `true`, keep only keys that have never authenticated a request (no `last_used_at`). " +
					"`false` or unset keeps keys whether used or not.",
			},
			"expired": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: expiredFilterDescription,
			},
		},
	}
}

func (r *orgAPIKeyListResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

// List answers from the process's shared list snapshot: one list request, however many list
// blocks a query has.
func (r *orgAPIKeyListResource) List(ctx context.Context, req list.ListRequest, stream *list.ListResultsStream) {
	var diags diag.Diagnostics
	fail := func(summary, detail string) {
		diags.AddError(summary, detail)
		stream.Results = list.ListResultsStreamDiagnostics(diags)
	}
	if r.data == nil {
		fail("Unconfigured Molecule Provider",
			"The molecule provider was not configured before listing org API keys. This is a bug in the provider; please report it.")
		return
	}
	ctx = r.data.maskSecrets(ctx)

	var cfg orgAPIKeyListResourceModel
	diags.Append(req.Config.Get(ctx, &cfg)...)
	if diags.HasError() {
		stream.Results = list.ListResultsStreamDiagnostics(diags)
		return
	}
	now := r.data.now()
	filter, err := newKeyFilter(cfg.NamePrefix, cfg.NameRegex, cfg.CreatedBy, cfg.Expired, now)
	if err != nil {
		fail("Invalid Regular Expression", err.Error())
		return
	}
	stale, err := newStaleFilter(cfg.NotUsedSince, cfg.NeverUsed, now)
	if err != nil {
		fail("Invalid Org API Key Filter", "not_used_since: "+err.Error())
		return
	}

	snap, err := r.data.listKeys(ctx)
	if err != nil {
		fail("Unable to List Org API Keys", fmt.Sprintf("%s. %s", err, nextStep(err)))
		return
	}
	var found []client.Token
	for _, t := range filter.apply(snap.Tokens) {
		if stale.match(t) {
			found = append(found, t)
		}
	}
	tflog.Debug(ctx, "listed org API keys for query", map[string]any{
		"listed": len(snap.Tokens), "found": len(found), "limit": req.Limit, "incomplete": snap.Incomplete != "",
	})

	stream.Results = func(push func(list.ListResult) bool) {
		// A result of diagnostics only: Terraform shows the warning on the list block even when
		// nothing matches, and does not count it as a key.
		if snap.Incomplete != "" {
			var warning diag.Diagnostics
			warning.AddWarning(incompleteListSummary, incompleteListDetail(snap.Incomplete, "the results"))
			if !push(list.ListResult{Diagnostics: warning}) {
				return
			}
		}
		for i, t := range found {
			if req.Limit > 0 && int64(i) >= req.Limit {
				return
			}
			if !push(keyListResult(ctx, req, t, now)) {
				return
			}
		}
	}
}

// keyListResult describes one key: identified by its id, shown by its name or prefix and, when
// asked for, with the resource as an import would store it.
func keyListResult(ctx context.Context, req list.ListRequest, t client.Token, now time.Time) list.ListResult {
	result := req.NewListResult(ctx)
	result.DisplayName = keyDisplayName(t)
	if t.Expired(now) {
		result.DisplayName += " (expired)"
	}
	result.Diagnostics.Append(setIdentity(ctx, result.Identity, types.StringValue(t.ID))...)
	if req.IncludeResource {
		result.Diagnostics.Append(result.Resource.Set(ctx, importedKeyModel(t))...)
	}
	return result
}

// keyDisplayName names a key as Canvas does: by its name, or by its prefix when it has none. The
// published guide's list has no prefix, so an unnamed key there is shown by its id.
// Names are what people typed in Canvas, and any of it is escaped that would act on a terminal.
func keyDisplayName(t client.Token) string {
	switch {
	case t.Name != "":
		return printable(t.Name)
	case t.Prefix != "":
		return printable(t.Prefix) + "…"
	}
	return printable(t.ID)
}

// importedKeyModel is exactly what Read stores after importing t, so that configuration generated
// from it plans no change: the service's metadata, a null plaintext (the service never shows it
// again) and null settings, which only configuration holds (rotate_at follows rotate_after).
func importedKeyModel(t client.Token) orgAPIKeyResourceModel {
	m := orgAPIKeyResourceModel{
		Key:              types.StringNull(),
		Prefix:           types.StringNull(),
		RotateAfter:      types.StringNull(),
		RotateAt:         types.StringNull(),
		RotationTriggers: types.MapNull(types.StringType),
		Lifetime:         types.StringNull(),
	}
	m.setMetadata(t)
	return m
}

// staleFilter selects keys by when they were last used; its zero value selects everything.
type staleFilter struct {
	cutoff    time.Time // zero: no cutoff
	neverUsed bool
}

// newStaleFilter reads not_used_since, a duration counted back from now or an RFC 3339 time, and
// never_used.
func newStaleFilter(notUsedSince types.String, neverUsed types.Bool, now time.Time) (staleFilter, error) {
	f := staleFilter{neverUsed: neverUsed.ValueBool()}
	if !notUsedSince.IsNull() {
		var err error
		if f.cutoff, err = parseNotUsedSince(notUsedSince.ValueString(), now); err != nil {
			return staleFilter{}, err
		}
	}
	return f, nil
}

// match keeps a key never used, and one last used before the cutoff; never_used keeps only the former.
func (f staleFilter) match(t client.Token) bool {
	if t.LastUsedAt == nil {
		return true
	}
	return !f.neverUsed && (f.cutoff.IsZero() || t.LastUsedAt.Before(f.cutoff))
}

func parseNotUsedSince(raw string, now time.Time) (time.Time, error) {
	if at, err := time.Parse(time.RFC3339, raw); err == nil {
		return at, nil
	}
	if _, err := time.ParseDuration(raw); err != nil {
		return time.Time{}, fmt.Errorf("%s is neither a duration, such as \"720h\" (30 days), nor an RFC 3339 time, "+
			"such as \"2026-01-01T00:00:00Z\"", echo(raw))
	}
	d, err := parseDuration(raw, minNotUsedSince, maxNotUsedSince)
	if err != nil {
		return time.Time{}, err
	}
	return now.Add(-d), nil
}

// notUsedSinceValidator checks not_used_since before any request is made.
type notUsedSinceValidator struct{}

func (notUsedSinceValidator) Description(context.Context) string {
	return fmt.Sprintf("must be a Go duration between %s and %s, or an RFC 3339 time", durationText(minNotUsedSince), durationText(maxNotUsedSince))
}

func (v notUsedSinceValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (notUsedSinceValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := parseNotUsedSince(req.ConfigValue.ValueString(), time.Now()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Duration or Time", err.Error())
	}
}
