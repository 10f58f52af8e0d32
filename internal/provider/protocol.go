package provider

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// ProtocolServer is providerserver.NewProtocol6WithError with one difference: the framework sees
// each request's context only until the request is answered.
//
// The framework keeps the cancel function of every request it has served, so that StopProvider
// can cancel them, and lets go of them only on StopProvider, which Terraform sends when it is
// interrupted. Each cancel function holds its request's whole context: the SDK's loggers and
// their fields, the gRPC stream. That is about 27 KB a request, 80 MiB by the end of a plan of a
// thousand keys, all of it scanned by every garbage collection. Here the framework gets a
// context that forwards to the request's until the answer is sent, and holds nothing after.
// Cancellation, StopProvider and deadlines work as before.
func ProtocolServer(p provider.Provider) func() (tfprotov6.ProviderServer, error) {
	framework := providerserver.NewProtocol6WithError(p)
	return func() (tfprotov6.ProviderServer, error) {
		next, err := framework()
		if err != nil {
			return nil, err
		}
		full, ok := next.(frameworkServer)
		if !ok {
			return nil, fmt.Errorf("the framework's protocol server (%T) no longer serves list resources and actions", next)
		}
		return detachingServer{next: full}, nil
	}
}

// frameworkServer is what the framework's protocol server implements and this provider uses. The
// two interfaces are deprecated only in favour of ProviderServer growing their methods; until
// then terraform-plugin-go serves list resources and actions only to a server that has them.
type frameworkServer interface {
	tfprotov6.ProviderServerWithListResource //nolint:staticcheck // SA1019: see above
	tfprotov6.ProviderServerWithActions      //nolint:staticcheck // SA1019: see above
}

var _ frameworkServer = detachingServer{}

// detachingServer hands every request to the framework under a requestContext, released when
// the framework returns. The two streaming methods, ListResource and InvokeAction, go on using
// their context after returning, while Terraform reads the stream, so they keep the request's
// own: one query or action per run does not add up.
type detachingServer struct {
	next frameworkServer
}

// detached serves req with serve under a requestContext of ctx, released once serve returns.
func detached[Req, Resp any](ctx context.Context, req Req, serve func(context.Context, Req) (Resp, error)) (Resp, error) {
	rc := newRequestContext(ctx)
	defer rc.release()
	return serve(rc, req)
}

func (s detachingServer) GetMetadata(ctx context.Context, req *tfprotov6.GetMetadataRequest) (*tfprotov6.GetMetadataResponse, error) {
	return detached(ctx, req, s.next.GetMetadata)
}

func (s detachingServer) GetProviderSchema(ctx context.Context, req *tfprotov6.GetProviderSchemaRequest) (*tfprotov6.GetProviderSchemaResponse, error) {
	return detached(ctx, req, s.next.GetProviderSchema)
}

func (s detachingServer) GetResourceIdentitySchemas(ctx context.Context, req *tfprotov6.GetResourceIdentitySchemasRequest) (*tfprotov6.GetResourceIdentitySchemasResponse, error) {
	return detached(ctx, req, s.next.GetResourceIdentitySchemas)
}

func (s detachingServer) ValidateProviderConfig(ctx context.Context, req *tfprotov6.ValidateProviderConfigRequest) (*tfprotov6.ValidateProviderConfigResponse, error) {
	return detached(ctx, req, s.next.ValidateProviderConfig)
}

func (s detachingServer) ConfigureProvider(ctx context.Context, req *tfprotov6.ConfigureProviderRequest) (*tfprotov6.ConfigureProviderResponse, error) {
	return detached(ctx, req, s.next.ConfigureProvider)
}

func (s detachingServer) StopProvider(ctx context.Context, req *tfprotov6.StopProviderRequest) (*tfprotov6.StopProviderResponse, error) {
	return detached(ctx, req, s.next.StopProvider)
}

func (s detachingServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return detached(ctx, req, s.next.ValidateResourceConfig)
}

func (s detachingServer) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return detached(ctx, req, s.next.UpgradeResourceState)
}

func (s detachingServer) UpgradeResourceIdentity(ctx context.Context, req *tfprotov6.UpgradeResourceIdentityRequest) (*tfprotov6.UpgradeResourceIdentityResponse, error) {
	return detached(ctx, req, s.next.UpgradeResourceIdentity)
}

func (s detachingServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return detached(ctx, req, s.next.ReadResource)
}

func (s detachingServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return detached(ctx, req, s.next.PlanResourceChange)
}

func (s detachingServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return detached(ctx, req, s.next.ApplyResourceChange)
}

func (s detachingServer) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return detached(ctx, req, s.next.ImportResourceState)
}

func (s detachingServer) MoveResourceState(ctx context.Context, req *tfprotov6.MoveResourceStateRequest) (*tfprotov6.MoveResourceStateResponse, error) {
	return detached(ctx, req, s.next.MoveResourceState)
}

func (s detachingServer) GenerateResourceConfig(ctx context.Context, req *tfprotov6.GenerateResourceConfigRequest) (*tfprotov6.GenerateResourceConfigResponse, error) {
	return detached(ctx, req, s.next.GenerateResourceConfig)
}

func (s detachingServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return detached(ctx, req, s.next.ValidateDataResourceConfig)
}

func (s detachingServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return detached(ctx, req, s.next.ReadDataSource)
}

func (s detachingServer) CallFunction(ctx context.Context, req *tfprotov6.CallFunctionRequest) (*tfprotov6.CallFunctionResponse, error) {
	return detached(ctx, req, s.next.CallFunction)
}

func (s detachingServer) GetFunctions(ctx context.Context, req *tfprotov6.GetFunctionsRequest) (*tfprotov6.GetFunctionsResponse, error) {
	return detached(ctx, req, s.next.GetFunctions)
}

func (s detachingServer) ValidateEphemeralResourceConfig(ctx context.Context, req *tfprotov6.ValidateEphemeralResourceConfigRequest) (*tfprotov6.ValidateEphemeralResourceConfigResponse, error) {
	return detached(ctx, req, s.next.ValidateEphemeralResourceConfig)
}

func (s detachingServer) OpenEphemeralResource(ctx context.Context, req *tfprotov6.OpenEphemeralResourceRequest) (*tfprotov6.OpenEphemeralResourceResponse, error) {
	return detached(ctx, req, s.next.OpenEphemeralResource)
}

func (s detachingServer) RenewEphemeralResource(ctx context.Context, req *tfprotov6.RenewEphemeralResourceRequest) (*tfprotov6.RenewEphemeralResourceResponse, error) {
	return detached(ctx, req, s.next.RenewEphemeralResource)
}

func (s detachingServer) CloseEphemeralResource(ctx context.Context, req *tfprotov6.CloseEphemeralResourceRequest) (*tfprotov6.CloseEphemeralResourceResponse, error) {
	return detached(ctx, req, s.next.CloseEphemeralResource)
}

func (s detachingServer) ValidateListResourceConfig(ctx context.Context, req *tfprotov6.ValidateListResourceConfigRequest) (*tfprotov6.ValidateListResourceConfigResponse, error) {
	return detached(ctx, req, s.next.ValidateListResourceConfig)
}

func (s detachingServer) ListResource(ctx context.Context, req *tfprotov6.ListResourceRequest) (*tfprotov6.ListResourceServerStream, error) {
	return s.next.ListResource(ctx, req)
}

func (s detachingServer) ValidateActionConfig(ctx context.Context, req *tfprotov6.ValidateActionConfigRequest) (*tfprotov6.ValidateActionConfigResponse, error) {
	return detached(ctx, req, s.next.ValidateActionConfig)
}

func (s detachingServer) PlanAction(ctx context.Context, req *tfprotov6.PlanActionRequest) (*tfprotov6.PlanActionResponse, error) {
	return detached(ctx, req, s.next.PlanAction)
}

func (s detachingServer) InvokeAction(ctx context.Context, req *tfprotov6.InvokeActionRequest) (*tfprotov6.InvokeActionServerStream, error) {
	return s.next.InvokeAction(ctx, req)
}

// requestContext forwards to one request's context until release, and holds nothing of it
// after: no values, and no error before the request's own Done channel is closed. Its Done
// channel is the request's, so a context derived from it is canceled with the request, through
// the standard library's parent-child link rather than a goroutine.
type requestContext struct {
	done        <-chan struct{}
	deadline    time.Time
	hasDeadline bool
	request     atomic.Pointer[context.Context]
}

func newRequestContext(ctx context.Context) *requestContext {
	rc := &requestContext{done: ctx.Done()}
	rc.deadline, rc.hasDeadline = ctx.Deadline()
	rc.request.Store(&ctx)
	return rc
}

// release drops the request's context; from now on Value answers nil.
func (c *requestContext) release() { c.request.Store(nil) }

func (c *requestContext) Deadline() (time.Time, bool) { return c.deadline, c.hasDeadline }

func (c *requestContext) Done() <-chan struct{} { return c.done }

func (c *requestContext) Err() error {
	if ctx := c.request.Load(); ctx != nil {
		return (*ctx).Err()
	}
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

func (c *requestContext) Value(key any) any {
	if ctx := c.request.Load(); ctx != nil {
		return (*ctx).Value(key)
	}
	return nil
}
