package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

var (
	_ datasource.DataSource              = (*orgAPIKeysDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*orgAPIKeysDataSource)(nil)
)

// NewOrgAPIKeysDataSource is the constructor registered with the provider.
func NewOrgAPIKeysDataSource() datasource.DataSource {
	return &orgAPIKeysDataSource{}
}

type orgAPIKeysDataSource struct {
	data *providerData
}

var keySummaryAttrTypes = map[string]attr.Type{
	"id":           types.StringType,
	"name":         types.StringType,
	"prefix":       types.StringType,
	"created_by":   types.StringType,
	"created_at":   types.StringType,
	"last_used_at": types.StringType,
	"expires_at":   types.StringType,
	"expired":      types.BoolType,
}

// keySummaryType is a listed key as both data sources show it: the whole state of
// molecule_org_api_key, and each element of this one's keys.
var keySummaryType = types.ObjectType{AttrTypes: keySummaryAttrTypes}.TerraformType(context.Background())

// keySummary is t as an object of keySummaryType, expired as of now.
func keySummary(t client.Token, now time.Time) attrValues {
	a := attrValues{"expired": tftypes.NewValue(tftypes.Bool, t.Expired(now))}
	a.setString("id", types.StringValue(t.ID))
	a.setString("name", optionalString(t.Name))
	a.setString("prefix", optionalString(t.Prefix))
	a.setString("created_by", optionalString(t.CreatedBy))
	a.setString("created_at", timeValue(t.CreatedAt))
	a.setString("last_used_at", optionalTimeValue(t.LastUsedAt))
	a.setString("expires_at", optionalTimeValue(t.ExpiresAt))
	return a
}

func (d *orgAPIKeysDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_org_api_keys"
}

func (d *orgAPIKeysDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Lists the organization's live org API keys, optionally filtered, with their metadata. " +
			"Useful for audits (keys nobody has used lately, keys minted by a given person or key, keys that have expired) " +
			"and for finding ids to import. Plaintext keys are never listed.\n\nFilters combine with AND; without filters every " +
			"live key is returned. Expired keys are listed too, until they are revoked: `expired = false` keeps only usable ones.",
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
			"expired": schema.BoolAttribute{
				Optional:            true,
				MarkdownDescription: expiredFilterDescription,
			},
			"keys": schema.ListNestedAttribute{
				Computed:            true,
				MarkdownDescription: "The matching live keys, sorted by `created_at`, then `id`.",
				NestedObject: schema.NestedAttributeObject{
					Attributes: map[string]schema.Attribute{
						"id":           schema.StringAttribute{Computed: true, MarkdownDescription: "Key identifier."},
						"name":         schema.StringAttribute{Computed: true, MarkdownDescription: "Key name; null for a key without one (for example one made in Canvas)."},
						"prefix":       schema.StringAttribute{Computed: true, MarkdownDescription: "First 8 characters of the key, as Canvas shows it; null when the service does not report it."},
						"created_by":   schema.StringAttribute{Computed: true, MarkdownDescription: "Who minted the key; null when the service does not say."},
						"created_at":   schema.StringAttribute{Computed: true, MarkdownDescription: "When the key was minted, RFC 3339 in UTC."},
						"last_used_at": schema.StringAttribute{Computed: true, MarkdownDescription: "When the key was last used, RFC 3339 in UTC; null if never used."},
						"expires_at":   schema.StringAttribute{Computed: true, MarkdownDescription: expiresAtDescription},
						"expired":      schema.BoolAttribute{Computed: true, MarkdownDescription: expiredDescription},
					},
				},
			},
		},
	}
}

func (d *orgAPIKeysDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (d *orgAPIKeysDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	ctx = d.data.maskSecrets(ctx)
	cfg, diags := objectAttrs(req.Config.Raw)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}

	now := d.data.now()
	filter, err := newKeyFilter(cfg.string("name_prefix"), cfg.string("name_regex"), cfg.string("created_by"), cfg.bool("expired"), now)
	if err != nil {
		resp.Diagnostics.AddError("Invalid Regular Expression", err.Error())
		return
	}

	snap, err := d.data.listKeys(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Unable to List Org API Keys", fmt.Sprintf("%s. %s", err, nextStep(err)))
		return
	}
	if snap.Incomplete != "" {
		resp.Diagnostics.AddWarning(incompleteListSummary, incompleteListDetail(snap.Incomplete, `"keys"`))
	}

	kept := filter.apply(snap.Tokens)

	keys := make([]tftypes.Value, len(kept))
	for i, t := range kept {
		keys[i] = keySummary(t, now).object(keySummaryType)
	}
	cfg["keys"] = tftypes.NewValue(tftypes.List{ElementType: keySummaryType}, keys)
	resp.State.Raw = cfg.object(req.Config.Raw.Type())
}

// The filters that molecule_org_api_keys and the molecule_org_api_key list resource share, so that
// one configuration selects the same keys in both.
const (
	namePrefixFilterDescription = "Keep only keys whose name starts with this string (case-sensitive)."
	nameRegexFilterDescription  = "Keep only keys whose name matches this [RE2](https://github.com/google/re2/wiki/Syntax) regular expression (unanchored: use `^` and `$` for a whole-name match)."
	createdByFilterDescription  = "Keep only keys whose `created_by` equals this exactly, such as `admin-token`, " +
		"`org-token:UyJhAK6q` (keys minted by the key with that `prefix`) or `session`."
	expiredFilterDescription = "`true` keeps only keys that have expired, `false` only keys that have not (or never " +
		"expire); unset keeps both. Expired keys no longer authenticate, but the service lists them until they are revoked."
)

// What every object that shows listed keys says about their expiry.
const (
	expiresAtDescription = "When the key expires, RFC 3339 in UTC; null when it never expires."
	expiredDescription   = "Whether the key had expired when it was read: it is listed until revoked, but no longer authenticates."
)

// keyFilter selects keys by name, creator and expiry at now; a null filter value selects everything.
type keyFilter struct {
	namePrefix, createdBy types.String
	nameRegex             *regexp.Regexp
	expired               types.Bool
	now                   time.Time
}

// newKeyFilter compiles the filter. The schema's validator has already checked the regular
// expression, so an error here is only a backstop.
func newKeyFilter(namePrefix, nameRegex, createdBy types.String, expired types.Bool, now time.Time) (keyFilter, error) {
	f := keyFilter{namePrefix: namePrefix, createdBy: createdBy, expired: expired, now: now}
	if !nameRegex.IsNull() {
		var err error
		if f.nameRegex, err = regexp.Compile(nameRegex.ValueString()); err != nil {
			return keyFilter{}, err
		}
	}
	return f, nil
}

func (f keyFilter) match(t client.Token) bool {
	switch {
	case !f.namePrefix.IsNull() && !strings.HasPrefix(t.Name, f.namePrefix.ValueString()):
		return false
	case f.nameRegex != nil && !f.nameRegex.MatchString(t.Name):
		return false
	case !f.createdBy.IsNull() && t.CreatedBy != f.createdBy.ValueString():
		return false
	case !f.expired.IsNull() && t.Expired(f.now) != f.expired.ValueBool():
		return false
	}
	return true
}

// apply returns the matching keys in a new slice, sorted by created_at, then id: the snapshot's
// slice is shared and must not be reordered.
func (f keyFilter) apply(tokens []client.Token) []client.Token {
	kept := tokens[:0:0]
	for _, t := range tokens {
		if f.match(t) {
			kept = append(kept, t)
		}
	}
	sortTokens(kept)
	return kept
}

const incompleteListSummary = "Org API Key List May Be Incomplete"

// incompleteListDetail explains a possibly incomplete list to a reader of results, named where,
// that it may lack keys.
func incompleteListDetail(reason, where string) string {
	return fmt.Sprintf("The service's list of live keys may be incomplete (%s): keys older than those listed are missing from "+
		"%s. The service lists only its newest %d live keys; revoking keys nobody uses, until fewer than %d "+
		"are live, makes the list complete again.", reason, where, client.ServiceListMax, client.ServiceListMax)
}
