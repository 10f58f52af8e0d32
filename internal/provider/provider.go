// Package provider is the Terraform glue of the Molecule provider: schemas, models, CRUD and
// diagnostics. Everything that speaks HTTP lives in internal/client.
package provider

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

var (
	_ provider.Provider                       = (*moleculeProvider)(nil)
	_ provider.ProviderWithEphemeralResources = (*moleculeProvider)(nil)
	_ provider.ProviderWithActions            = (*moleculeProvider)(nil)
	_ provider.ProviderWithListResources      = (*moleculeProvider)(nil)
)

// Environment variables read when the matching attribute is not set in configuration.
const (
	envEndpoint       = "MOLECULE_ENDPOINT"
	envOrg            = "MOLECULE_ORG"
	envOrgID          = "MOLECULE_ORG_ID"
	envOrgToken       = "MOLECULE_ORG_TOKEN" //nolint:gosec // G101: a variable name, not a credential
	envAdminToken     = "MOLECULE_ADMIN_TOKEN"
	envMaxRetries     = "MOLECULE_MAX_RETRIES"
	envRequestTimeout = "MOLECULE_REQUEST_TIMEOUT"
	envMaxRetryWait   = "MOLECULE_MAX_RETRY_WAIT"
	envApprovalWait   = "MOLECULE_APPROVAL_TIMEOUT"
)

const defaultMaxRetryWait = time.Minute

// The bounds of the retry settings, which their validators enforce and their descriptions state.
const (
	maxMaxRetries     = 20
	minRequestTimeout = time.Second
	maxRequestTimeout = 10 * time.Minute
	minMaxRetryWait   = 10 * time.Millisecond
	maxMaxRetryWait   = 10 * time.Minute
	maxApprovalWait   = 24 * time.Hour
)

// durationText spells d the way the documentation does, so that a default reads the same in the
// schema's descriptions as in the README and the guides: milliseconds below a second, whole
// seconds up to a minute (`30s`, `60s`: Retry-After counts seconds), else the largest unit that
// divides d (`10m`, `720h`). time.Duration's own String gives "1m0s" and "10m0s". Every result
// parses back to d with time.ParseDuration.
func durationText(d time.Duration) string {
	if d <= 0 {
		return d.String()
	}
	if d <= time.Minute && d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	for _, u := range []struct {
		unit   time.Duration
		suffix string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if d%u.unit == 0 {
			return fmt.Sprintf("%d%s", d/u.unit, u.suffix)
		}
	}
	return d.String()
}

type moleculeProvider struct {
	version string
	// clock is the provider's time: every resource, data source and action reads it through
	// providerData, and the client waits on it (retries, the grace window after a lost answer).
	clock client.Clock
	// getenv reads the environment variables that configuration falls back to.
	getenv func(string) string
}

type moleculeProviderModel struct {
	Endpoint       types.String `tfsdk:"endpoint"`
	Org            types.String `tfsdk:"org"`
	OrgID          types.String `tfsdk:"org_id"`
	Token          types.String `tfsdk:"token"`
	MaxRetries     types.Int64  `tfsdk:"max_retries"`
	RequestTimeout types.String `tfsdk:"request_timeout"`
	MaxRetryWait   types.String `tfsdk:"max_retry_wait"`
	ApprovalWait   types.String `tfsdk:"approval_timeout"`
}

// New returns the provider constructor that main serves: the wall clock and the process's
// environment.
func New(version string) func() provider.Provider {
	return newProvider(version, client.SystemClock{}, os.Getenv)
}

// newProvider is New with the clock and the environment handed in, so that the acceptance tests
// run in parallel, each against its own emulator and on its own clock.
func newProvider(version string, clock client.Clock, getenv func(string) string) func() provider.Provider {
	return func() provider.Provider {
		return &moleculeProvider{version: version, clock: clock, getenv: getenv}
	}
}

func (p *moleculeProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "molecule"
	resp.Version = p.version
}

func (p *moleculeProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages Molecule AI org-scoped API keys: mint named keys for CI bots and " +
			"AI agents, list and audit them, and revoke them when they are destroyed.\n\n" +
			"Exactly one of `endpoint` or `org` must be set, in configuration or through the environment. " +
			"`endpoint` also serves self-hosted deployments of the Molecule platform, which serve the same API " +
			"at their own base URL. A hosted organization also needs `org_id`, its UUID.",
		Attributes: map[string]schema.Attribute{
			"endpoint": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Base URL of the organization, such as `https://acme.moleculesai.app`, or of a " +
					"self-hosted Molecule deployment. Plain `http://` is accepted only for a loopback host. " +
					"Conflicts with `org`. Falls back to the `" + envEndpoint + "` environment variable.",
			},
			"org": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "Organization slug (a DNS label), shorthand for `endpoint = \"https://<org>.moleculesai.app\"`. " +
					"Conflicts with `endpoint`. Falls back to the `" + envOrg + "` environment variable.",
			},
			"org_id": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: "The organization's UUID, in lower case, sent as the " +
					"`" + client.OrgIDHeader + "` header on every request. A hosted organization answers only requests " +
					"that carry it; self-hosted deployments ignore it for routing. Unset by default; falls back to the `" +
					envOrgID + "` environment variable.",
				Validators: []validator.String{orgIDValidator{}},
			},
			"token": schema.StringAttribute{
				Optional:  true,
				Sensitive: true,
				MarkdownDescription: "Credential sent as a bearer token: an org API key or the deployment's `ADMIN_TOKEN`. " +
					"Falls back to `" + envOrgToken + "`, then to `" + envAdminToken + "`. " +
					"Prefer the environment so the credential stays out of configuration files.",
			},
			"max_retries": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("How many times a failed request is retried (rate limits, `5xx`, "+
					"connection errors) before giving up, from `0` (no retries) to `%d`. A mint is re-sent only when the "+
					"service cannot have created a key. Defaults to `%d`; falls back to `%s`.", maxMaxRetries, client.DefaultMaxRetries, envMaxRetries),
				Validators: []validator.Int64{int64validator.Between(0, maxMaxRetries)},
			},
			"request_timeout": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Time limit for each HTTP attempt, as a Go duration such as `\"2m\"`, "+
					"from `%s` to `%s`. After a mint's answer is lost, the keys are listed again over as long (at least `%s`, at "+
					"most `%s`), for a key the service commits late. Defaults to `%s`; falls back to `%s`.",
					durationText(minRequestTimeout), durationText(maxRequestTimeout), durationText(client.MinLateCommitGrace),
					durationText(client.MaxLateCommitGrace), durationText(client.DefaultRequestTimeout), envRequestTimeout),
				Validators: []validator.String{durationValidator{min: minRequestTimeout, max: maxRequestTimeout}},
			},
			"max_retry_wait": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("The longest single wait before a retry, as a Go duration, from `%s` to `%s`. "+
					"When the service asks to wait longer, such as the mint quota's hour, the request fails at once. "+
					"Defaults to `%s`; falls back to `%s`.",
					durationText(minMaxRetryWait), durationText(maxMaxRetryWait), durationText(defaultMaxRetryWait), envMaxRetryWait),
				Validators: []validator.String{durationValidator{min: minMaxRetryWait, max: maxMaxRetryWait}},
			},
			"approval_timeout": schema.StringAttribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("How long a mint that waits for a person's approval is watched before the "+
					"apply gives up, as a Go duration such as `\"30m\"`, up to `%s`. Defaults to `0s`: such a mint fails at "+
					"once, naming the approval. Falls back to `%s`.",
					durationText(maxApprovalWait), envApprovalWait),
				Validators: []validator.String{durationValidator{min: 0, max: maxApprovalWait}},
			},
		},
	}
}

func (p *moleculeProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg moleculeProviderModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}

	unknown := map[string]bool{
		"endpoint":         cfg.Endpoint.IsUnknown(),
		"org":              cfg.Org.IsUnknown(),
		"org_id":           cfg.OrgID.IsUnknown(),
		"token":            cfg.Token.IsUnknown(),
		"max_retries":      cfg.MaxRetries.IsUnknown(),
		"request_timeout":  cfg.RequestTimeout.IsUnknown(),
		"max_retry_wait":   cfg.MaxRetryWait.IsUnknown(),
		"approval_timeout": cfg.ApprovalWait.IsUnknown(),
	}
	for _, attr := range []string{"endpoint", "org", "org_id", "token", "max_retries", "request_timeout", "max_retry_wait", "approval_timeout"} {
		if unknown[attr] {
			resp.Diagnostics.AddAttributeError(path.Root(attr), "Unknown Molecule Provider Configuration",
				fmt.Sprintf("The provider's %q depends on a value that is not known until apply. "+
					"Set it to a literal, a variable, or a value that is known at plan time, "+
					"or apply the resources it depends on first (terraform apply -target=...).", attr))
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}

	token := p.resolveToken(cfg, resp)
	endpoint := p.resolveEndpoint(cfg, token, resp)
	orgID := p.resolveOrgID(cfg, resp)
	maxRetries := p.resolveMaxRetries(cfg, token, resp)
	timeout := p.resolveDuration(cfg.RequestTimeout, "request_timeout", envRequestTimeout, client.DefaultRequestTimeout, minRequestTimeout, maxRequestTimeout, token, resp)
	maxWait := p.resolveDuration(cfg.MaxRetryWait, "max_retry_wait", envMaxRetryWait, defaultMaxRetryWait, minMaxRetryWait, maxMaxRetryWait, token, resp)
	approvalWait := p.resolveDuration(cfg.ApprovalWait, "approval_timeout", envApprovalWait, 0, 0, maxApprovalWait, token, resp)
	if resp.Diagnostics.HasError() {
		return
	}

	tfVersion := req.TerraformVersion
	if tfVersion == "" {
		tfVersion = "unknown"
	}
	data, err := newProviderData(p.clock.Now, client.Config{
		Endpoint:       endpoint,
		OrgID:          orgID,
		Token:          token,
		UserAgent:      fmt.Sprintf("terraform-provider-molecule/%s Terraform/%s", p.version, tfVersion),
		MaxRetries:     maxRetries,
		RequestTimeout: timeout,
		RetryWaitMax:   min(maxWait, 30*time.Second),
		MaxRetryAfter:  maxWait,
		ApprovalPoll:   approvalPoll(approvalWait),
		Clock:          p.clock,
	})
	if err != nil {
		resp.Diagnostics.AddError("Unable to Create Molecule API Client", err.Error())
		return
	}
	data.approvalWait = approvalWait
	resp.ResourceData = data
	resp.DataSourceData = data
	resp.EphemeralResourceData = data
	resp.ActionData = data
	resp.ListResourceData = data
}

// approvalPoll is how often a mint waiting for approval reads its state: every second when the
// wait is short, so that a decision is seen soon; every 5 seconds for longer waits, which keeps a
// wait of hours well within the service's request limit.
func approvalPoll(wait time.Duration) time.Duration {
	if wait < 5*time.Minute {
		return time.Second
	}
	return client.DefaultApprovalPoll
}

// resolveEndpoint applies the precedence rule: configuration first, then the environment.
// Mixing levels is deliberate: an explicit endpoint in configuration wins over a stray
// MOLECULE_ORG in the shell, but two values at the same level are ambiguous and rejected.
func (p *moleculeProvider) resolveEndpoint(cfg moleculeProviderModel, token string, resp *provider.ConfigureResponse) string {
	// No client exists yet to redact these errors. Keys have no fixed format, so a credential
	// pasted into the wrong variable is recognized only by its value; a guide-style key by its
	// pattern, as the client recognizes it.
	hide := func(err error) string { return client.RedactSecrets(err.Error(), token) }
	endpoint, org := cfg.Endpoint.ValueString(), cfg.Org.ValueString()
	source := "configuration"
	if cfg.Endpoint.IsNull() && cfg.Org.IsNull() {
		endpoint, org = strings.TrimSpace(p.getenv(envEndpoint)), strings.TrimSpace(p.getenv(envOrg))
		source = "environment (" + envEndpoint + ", " + envOrg + ")"
	}
	switch {
	case endpoint != "" && org != "":
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Conflicting Molecule Endpoint Configuration",
			"Both \"endpoint\" and \"org\" are set in the "+source+". Set exactly one: "+
				"\"org\" for https://<org>.moleculesai.app, or \"endpoint\" for any other base URL.")
		return ""
	case endpoint == "" && org == "":
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Missing Molecule Endpoint Configuration",
			"The provider needs to know which organization to manage. Set \"org\" (or "+envOrg+") to the "+
				"organization's slug, or \"endpoint\" (or "+envEndpoint+") to its base URL, "+
				"such as https://acme.moleculesai.app.")
		return ""
	case org != "":
		u, err := client.OrgEndpoint(org)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("org"), "Invalid Molecule Organization", hide(err))
			return ""
		}
		return u
	}
	u, err := client.ParseEndpoint(endpoint)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Invalid Molecule Endpoint", hide(err))
		return ""
	}
	return u.String()
}

// resolveOrgID reads org_id, falling back to MOLECULE_ORG_ID. The attribute's validator has
// checked a configured value at plan time already; the environment's is checked here, which
// Terraform also runs at plan time.
func (p *moleculeProvider) resolveOrgID(cfg moleculeProviderModel, resp *provider.ConfigureResponse) string {
	if !cfg.OrgID.IsNull() {
		return cfg.OrgID.ValueString()
	}
	id := strings.TrimSpace(p.getenv(envOrgID))
	if id == "" {
		return ""
	}
	if err := client.ValidateOrgID(id); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("org_id"), "Invalid Molecule Organization ID", envOrgID+": "+err.Error())
	}
	return id
}

func (p *moleculeProvider) resolveToken(cfg moleculeProviderModel, resp *provider.ConfigureResponse) string {
	token := cfg.Token.ValueString()
	if cfg.Token.IsNull() {
		token = p.getenv(envOrgToken)
		if token == "" {
			token = p.getenv(envAdminToken)
		}
	}
	token = strings.TrimSpace(token)
	if token == "" {
		resp.Diagnostics.AddAttributeError(path.Root("token"), "Missing Molecule Credential",
			"The provider needs a credential to call the Molecule API. Set the "+envOrgToken+
				" environment variable to an org API key, or "+envAdminToken+" to the deployment's ADMIN_TOKEN. "+
				"The \"token\" attribute works too, but keeps the secret in configuration.")
	}
	return token
}

func (p *moleculeProvider) resolveMaxRetries(cfg moleculeProviderModel, token string, resp *provider.ConfigureResponse) int {
	if !cfg.MaxRetries.IsNull() {
		return int(cfg.MaxRetries.ValueInt64())
	}
	raw := strings.TrimSpace(p.getenv(envMaxRetries))
	if raw == "" {
		return client.DefaultMaxRetries
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 || n > maxMaxRetries {
		resp.Diagnostics.AddAttributeError(path.Root("max_retries"), "Invalid Molecule Provider Configuration",
			client.RedactSecrets(fmt.Sprintf("%s must be a whole number from 0 to %d, got %s.", envMaxRetries, maxMaxRetries, echo(raw)), token))
	}
	return n
}

// resolveDuration reads a duration attribute, falling back to its environment variable and then
// to its default.
func (p *moleculeProvider) resolveDuration(v types.String, attr, env string, def, minimum, maximum time.Duration, token string, resp *provider.ConfigureResponse) time.Duration {
	raw, source := v.ValueString(), attr
	if v.IsNull() {
		raw, source = strings.TrimSpace(p.getenv(env)), env
	}
	if raw == "" {
		return def
	}
	d, err := parseDuration(raw, minimum, maximum)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root(attr), "Invalid Molecule Provider Configuration",
			client.RedactSecrets(fmt.Sprintf("%s: %s", source, err), token))
	}
	return d
}

func (p *moleculeProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewOrgAPIKeyResource,
	}
}

func (p *moleculeProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewOrgAPIKeyDataSource,
		NewOrgAPIKeysDataSource,
	}
}

func (p *moleculeProvider) EphemeralResources(_ context.Context) []func() ephemeral.EphemeralResource {
	return []func() ephemeral.EphemeralResource{
		NewOrgAPIKeyEphemeralResource,
	}
}

func (p *moleculeProvider) ListResources(_ context.Context) []func() list.ListResource {
	return []func() list.ListResource{
		NewOrgAPIKeyListResource,
	}
}

func (p *moleculeProvider) Actions(_ context.Context) []func() action.Action {
	return []func() action.Action{
		NewRevokeOrgAPIKeysAction,
	}
}
