package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

var (
	_ datasource.DataSource              = (*orgAPIKeyDataSource)(nil)
	_ datasource.DataSourceWithConfigure = (*orgAPIKeyDataSource)(nil)
)

// NewOrgAPIKeyDataSource is the constructor registered with the provider.
func NewOrgAPIKeyDataSource() datasource.DataSource {
	return &orgAPIKeyDataSource{}
}

type orgAPIKeyDataSource struct {
	data *providerData
}

type orgAPIKeyDataSourceModel struct {
	ID         types.String `tfsdk:"id"`
	Name       types.String `tfsdk:"name"`
	CreatedBy  types.String `tfsdk:"created_by"`
	CreatedAt  types.String `tfsdk:"created_at"`
	LastUsedAt types.String `tfsdk:"last_used_at"`
}

func (d *orgAPIKeyDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_org_api_key"
}

func (d *orgAPIKeyDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	exactlyOne := stringvalidator.ExactlyOneOf(path.MatchRoot("id"), path.MatchRoot("name"))
	resp.Schema = schema.Schema{
		MarkdownDescription: "Looks up one live org API key by `id` or by `name` and exposes its metadata. " +
			"The plaintext key is never available here: the service shows it only when it is minted.\n\n" +
			"Names are not unique; looking up a name that several live keys share is an error that lists their ids.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "Id of the key to look up. Exactly one of `id` or `name` must be set.",
				Validators:          []validator.String{exactlyOne},
			},
			"name": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "Name of the key to look up; exactly one live key must have it. Exactly one of `id` or `name` must be set.",
				Validators:          []validator.String{exactlyOne, keyNameValidator{}},
			},
			"created_by": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "Who minted the key: `admin-token`, `org-token:<prefix>` or `session:<user_id>`.",
			},
			"created_at": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the key was minted, RFC 3339 in UTC.",
			},
			"last_used_at": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the key last authenticated a request, RFC 3339 in UTC; null if never used.",
			},
		},
	}
}

func (d *orgAPIKeyDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (d *orgAPIKeyDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	ctx = d.data.maskSecrets(ctx)
	var cfg orgAPIKeyDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	tokens, err := d.data.listKeys(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Unable to List Org API Keys", fmt.Sprintf("%s. %s", err, nextStep(err)))
		return
	}

	var matches []client.Token
	byID := !cfg.ID.IsNull()
	for _, t := range tokens {
		if (byID && t.ID == cfg.ID.ValueString()) || (!byID && t.Name == cfg.Name.ValueString()) {
			matches = append(matches, t)
		}
	}

	switch {
	case len(matches) == 0 && byID:
		resp.Diagnostics.AddAttributeError(path.Root("id"), "Org API Key Not Found",
			fmt.Sprintf("No live org API key has id %q. It may have been revoked; list live keys with the "+
				"molecule_org_api_keys data source.", sanitizeForMessage(cfg.ID.ValueString())))
		return
	case len(matches) == 0:
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Org API Key Not Found",
			fmt.Sprintf("No live org API key is named %q. Names are matched exactly, including case and spaces; "+
				"list live keys with the molecule_org_api_keys data source.", cfg.Name.ValueString()))
		return
	case len(matches) > 1:
		sortTokens(matches)
		ids := make([]string, len(matches))
		for i, t := range matches {
			ids[i] = t.ID
		}
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Org API Key Name Is Ambiguous",
			fmt.Sprintf("%d live org API keys are named %q: %s. Names are not unique; look the key up by id instead.",
				len(matches), cfg.Name.ValueString(), strings.Join(ids, ", ")))
		return
	}

	t := matches[0]
	state := orgAPIKeyDataSourceModel{
		ID:         types.StringValue(t.ID),
		Name:       types.StringValue(t.Name),
		CreatedBy:  types.StringValue(t.CreatedBy),
		CreatedAt:  timeValue(t.CreatedAt),
		LastUsedAt: optionalTimeValue(t.LastUsedAt),
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// sortTokens orders keys by creation time, then id, so output is stable whatever order the
// service lists them in.
func sortTokens(tokens []client.Token) {
	sort.Slice(tokens, func(i, j int) bool {
		if !tokens[i].CreatedAt.Equal(tokens[j].CreatedAt) {
			return tokens[i].CreatedAt.Before(tokens[j].CreatedAt)
		}
		return tokens[i].ID < tokens[j].ID
	})
}
