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

func (d *orgAPIKeyDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_org_api_key"
}

func (d *orgAPIKeyDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	exactlyOne := stringvalidator.ExactlyOneOf(path.MatchRoot("id"), path.MatchRoot("name"), path.MatchRoot("prefix"))
	resp.Schema = schema.Schema{
		MarkdownDescription: "Looks up one live org API key by `id`, `name` or `prefix` and exposes its metadata. " +
			"The plaintext key is never available here: the service shows it only when it is minted.\n\n" +
			"Names are not unique; looking up a name (or prefix) that several live keys share is an error that lists " +
			"their ids.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Optional:            true,
				Computed:            true,
				MarkdownDescription: "Id of the key to look up. Exactly one of `id`, `name` or `prefix` must be set.",
				Validators:          []validator.String{exactlyOne},
			},
			"name": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "Name of the key to look up; exactly one live key must have it. Exactly one of `id`, `name` " +
					"or `prefix` must be set. Null for a key without a name (for example one made in Canvas).",
				// Any name the service holds can be looked up: Canvas accepts names Terraform would not mint.
				Validators: []validator.String{exactlyOne, stringvalidator.LengthAtLeast(1)},
			},
			"prefix": schema.StringAttribute{
				Optional: true,
				Computed: true,
				MarkdownDescription: "The first 8 characters of the key's plaintext, as Canvas shows it (`UyJhAK6q…`) and as " +
					"`created_by = \"org-token:<prefix>\"` names a minting key; look a key up by it to find the key behind " +
					"such a `created_by`. Exactly one of `id`, `name` or `prefix` must be set. Null when the service does " +
					"not report prefixes (the published guide's shape).",
				Validators: []validator.String{exactlyOne, stringvalidator.LengthAtLeast(1)},
			},
			"created_by": schema.StringAttribute{
				Computed: true,
				MarkdownDescription: "Who minted the key: `admin-token`, `org-token:<prefix>` or `session` " +
					"(`session:<user_id>` in the published guide).",
			},
			"created_at": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the key was minted, RFC 3339 in UTC.",
			},
			"last_used_at": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: "When the key last authenticated a request, RFC 3339 in UTC; null if never used.",
			},
			"expires_at": schema.StringAttribute{
				Computed:            true,
				MarkdownDescription: expiresAtDescription,
			},
			"expired": schema.BoolAttribute{
				Computed: true,
				MarkdownDescription: expiredDescription + " A lookup finds an expired key like any other: check this " +
					"before handing the key's id to something that expects a usable key.",
			},
		},
	}
}

func (d *orgAPIKeyDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = configuredData(req.ProviderData, &resp.Diagnostics)
}

func (d *orgAPIKeyDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	ctx = d.data.maskSecrets(ctx)
	cfg, diags := objectAttrs(req.Config.Raw)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}

	snap, err := d.data.listKeys(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Unable to List Org API Keys", fmt.Sprintf("%s. %s", err, nextStep(err)))
		return
	}
	var matches []client.Token
	id, prefix := cfg.string("id"), cfg.string("prefix")
	attr, want := "name", cfg.string("name").ValueString()
	match := func(t client.Token) bool { return t.Name == want }
	switch {
	case !id.IsNull():
		attr, want = "id", id.ValueString()
		match = func(t client.Token) bool { return t.ID == want }
	case !prefix.IsNull():
		attr, want = "prefix", prefix.ValueString()
		match = func(t client.Token) bool { return t.Prefix == want }
	}
	for _, t := range snap.Tokens {
		if match(t) {
			matches = append(matches, t)
		}
	}
	switch {
	case len(matches) == 0:
		shown := d.data.echoInput(want, snap)
		if t, ok := secretLookalike(snap, want); ok {
			shown = fmt.Sprintf("(not shown: it starts with the prefix of key %s, so it is probably that key's secret)", describeKey(t))
		}
		msg := fmt.Sprintf("No live org API key has %s %s. ", attr, shown)
		switch attr {
		case "id":
			msg += "It may have been revoked; list live keys with the molecule_org_api_keys data source."
		case "name":
			msg += "Names are matched exactly, including case and spaces; list live keys with the molecule_org_api_keys data source."
		default:
			msg += "A prefix is the first 8 characters of the key, case-sensitive; list live keys with the molecule_org_api_keys data source."
		}
		if snap.Incomplete != "" {
			msg += " " + incompleteListAdvice(snap.Incomplete)
		}
		resp.Diagnostics.AddAttributeError(path.Root(attr), "Org API Key Not Found", msg)
		return
	case len(matches) > 1:
		sortTokens(matches)
		ids := make([]string, len(matches))
		for i, t := range matches {
			ids[i] = printable(t.ID)
		}
		resp.Diagnostics.AddAttributeError(path.Root(attr), "Org API Key Lookup Is Ambiguous",
			fmt.Sprintf("%d live org API keys have %s %q: %s. Look the key up by id instead.",
				len(matches), attr, want, strings.Join(ids, ", ")))
		return
	}
	if snap.Incomplete != "" && attr != "id" {
		resp.Diagnostics.AddWarning("Org API Key Lookup May Be Ambiguous",
			fmt.Sprintf("Key %s is the only live key with %s %q in the service's list, but that list may be incomplete (%s): "+
				"an older key the list does not show may have the same %s. Look the key up by id to be sure.",
				printable(matches[0].ID), attr, want, snap.Incomplete, attr))
	}
	resp.State.Raw = keySummary(matches[0], d.data.now()).object(req.Config.Raw.Type())
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
