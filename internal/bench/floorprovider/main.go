// Command floorprovider is the benchmark's framework floor: a provider with the real one's
// address and schema, on the same framework, that does no I/O at all. Its resource is written the
// conventional way (the whole model through Plan.Get and State.Set in every method) and fills its
// computed values locally, so that `make bench` can show what the provider costs beyond what any
// provider of this schema pays the framework. Everything but molecule_org_api_key takes its name
// and schema from the real provider and does nothing; the benchmark never calls it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	molecule "github.com/molecule-ai/terraform-provider-molecule/internal/provider"
)

func main() {
	err := providerserver.Serve(context.Background(), newFloor, providerserver.ServeOpts{
		Address: "registry.terraform.io/molecule-ai/molecule",
	})
	if err != nil {
		log.Fatal(err)
	}
}

// fullProvider is the real provider, whose schema the floor serves. It is never configured.
type fullProvider interface {
	provider.Provider
	provider.ProviderWithEphemeralResources
	provider.ProviderWithListResources
	provider.ProviderWithActions
}

var (
	_ fullProvider      = floorProvider{}
	_ resource.Resource = (*keyResource)(nil)
)

// floorProvider serves the real provider's name and schema, and configures nothing.
type floorProvider struct {
	real fullProvider
}

func newFloor() provider.Provider {
	full, ok := molecule.New("floor")().(fullProvider)
	if !ok {
		panic("the provider no longer serves every object type the floor wraps")
	}
	return floorProvider{real: full}
}

func (p floorProvider) Metadata(ctx context.Context, req provider.MetadataRequest, resp *provider.MetadataResponse) {
	p.real.Metadata(ctx, req, resp)
}

func (p floorProvider) Schema(ctx context.Context, req provider.SchemaRequest, resp *provider.SchemaResponse) {
	p.real.Schema(ctx, req, resp)
}

func (floorProvider) Configure(context.Context, provider.ConfigureRequest, *provider.ConfigureResponse) {
}

func (floorProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{newKeyResource}
}

func (p floorProvider) DataSources(ctx context.Context) []func() datasource.DataSource {
	return wrap(p.real.DataSources(ctx), func(d datasource.DataSource) datasource.DataSource { return dataSource{d} })
}

func (p floorProvider) EphemeralResources(ctx context.Context) []func() ephemeral.EphemeralResource {
	return wrap(p.real.EphemeralResources(ctx), func(e ephemeral.EphemeralResource) ephemeral.EphemeralResource { return ephemeralResource{e} })
}

func (p floorProvider) ListResources(ctx context.Context) []func() list.ListResource {
	return wrap(p.real.ListResources(ctx), func(l list.ListResource) list.ListResource { return listResource{l} })
}

func (p floorProvider) Actions(ctx context.Context) []func() action.Action {
	return wrap(p.real.Actions(ctx), func(a action.Action) action.Action { return noAction{a} })
}

// wrap gives each of the real provider's constructors a floor type around what it builds.
func wrap[T any](ctors []func() T, floor func(T) T) []func() T {
	out := make([]func() T, len(ctors))
	for i, ctor := range ctors {
		out[i] = func() T { return floor(ctor()) }
	}
	return out
}

// The types the benchmark does not use keep the real name and schema (the embedded value's
// Metadata and Schema) and answer without doing anything.
type (
	dataSource        struct{ datasource.DataSource }
	ephemeralResource struct{ ephemeral.EphemeralResource }
	listResource      struct{ list.ListResource }
	noAction          struct{ action.Action }
)

func (dataSource) Read(_ context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	resp.State.Raw = req.Config.Raw
}

func (ephemeralResource) Open(_ context.Context, req ephemeral.OpenRequest, resp *ephemeral.OpenResponse) {
	resp.Result.Raw = req.Config.Raw
}

func (listResource) List(_ context.Context, _ list.ListRequest, stream *list.ListResultsStream) {
	stream.Results = list.NoListResults
}

func (noAction) Invoke(context.Context, action.InvokeRequest, *action.InvokeResponse) {}

// createdBy is who the service says minted a key: the minting org key, named by its prefix.
var createdBy = "org-token:" + newKeyText()[:8]

// newKey is a key's id and plaintext in the shapes the service hands out, a UUID and 43
// characters of base64url, so that the floor's state is as large as the provider's.
func newKey() (id, key string) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), newKeyText()
}

func newKeyText() string {
	var k [32]byte
	_, _ = rand.Read(k[:])
	return base64.RawURLEncoding.EncodeToString(k[:])
}

// keyResource is molecule_org_api_key without a service: a key is a random id and plaintext.
type keyResource struct {
	schemaOf resource.ResourceWithIdentity // the real resource, for its name and schemas
}

func newKeyResource() resource.Resource {
	key, ok := molecule.NewOrgAPIKeyResource().(resource.ResourceWithIdentity)
	if !ok {
		panic("molecule_org_api_key has no identity schema")
	}
	return &keyResource{schemaOf: key}
}

// keyModel is the resource's whole state, read and written in one piece as most providers do.
type keyModel struct {
	CreatedAt        types.String `tfsdk:"created_at"`
	CreatedBy        types.String `tfsdk:"created_by"`
	ExpiresAt        types.String `tfsdk:"expires_at"`
	ID               types.String `tfsdk:"id"`
	Key              types.String `tfsdk:"key"`
	LastUsedAt       types.String `tfsdk:"last_used_at"`
	Lifetime         types.String `tfsdk:"lifetime"`
	Name             types.String `tfsdk:"name"`
	Prefix           types.String `tfsdk:"prefix"`
	RotateAfter      types.String `tfsdk:"rotate_after"`
	RotateAt         types.String `tfsdk:"rotate_at"`
	RotationTriggers types.Map    `tfsdk:"rotation_triggers"`
}

type identityModel struct {
	ID types.String `tfsdk:"id"`
}

func (r *keyResource) Metadata(ctx context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	r.schemaOf.Metadata(ctx, req, resp)
}

func (r *keyResource) Schema(ctx context.Context, req resource.SchemaRequest, resp *resource.SchemaResponse) {
	r.schemaOf.Schema(ctx, req, resp)
}

func (r *keyResource) IdentitySchema(ctx context.Context, req resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	r.schemaOf.IdentitySchema(ctx, req, resp)
}

// rotateAt is created_at plus rotate_after, as the real resource computes it.
func (m *keyModel) rotateAt() types.String {
	created, err1 := time.Parse(time.RFC3339, m.CreatedAt.ValueString())
	after, err2 := time.ParseDuration(m.RotateAfter.ValueString())
	switch {
	case m.RotateAfter.IsNull():
		return types.StringNull()
	case err1 != nil || err2 != nil:
		return types.StringUnknown()
	}
	return types.StringValue(created.Add(after).UTC().Format(time.RFC3339))
}

func (r *keyResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan keyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.RotateAt = plan.rotateAt()
	if req.State.Raw.IsNull() && plan.Lifetime.IsNull() {
		plan.ExpiresAt = types.StringNull()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *keyResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m keyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, key := newKey()
	m.ID = types.StringValue(id)
	m.Key = types.StringValue(key)
	m.Prefix = types.StringValue(key[:8])
	m.CreatedBy = types.StringValue(createdBy)
	m.CreatedAt = types.StringValue(time.Now().UTC().Format(time.RFC3339))
	m.LastUsedAt = types.StringNull()
	m.ExpiresAt = types.StringNull()
	if d, err := time.ParseDuration(m.Lifetime.ValueString()); err == nil {
		m.ExpiresAt = types.StringValue(time.Now().Add(d).UTC().Format(time.RFC3339))
	}
	resp.Diagnostics.Append(m.save(ctx, &resp.State, resp.Identity)...)
}

func (r *keyResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m keyModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	resp.Diagnostics.Append(m.save(ctx, &resp.State, resp.Identity)...)
}

func (r *keyResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m keyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	resp.Diagnostics.Append(m.save(ctx, &resp.State, resp.Identity)...)
}

// save writes m, with the rotate_at it implies, to state, and its id to the identity.
func (m *keyModel) save(ctx context.Context, state *tfsdk.State, identity *tfsdk.ResourceIdentity) diag.Diagnostics {
	m.RotateAt = m.rotateAt()
	diags := state.Set(ctx, m)
	diags.Append(identity.Set(ctx, identityModel{ID: m.ID})...)
	return diags
}

// Delete has nothing to revoke: the framework removes the state.
func (r *keyResource) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}
