package provider

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

type probeKey struct{}

// probe stands for what a request's context carries: loggers, fields, the gRPC stream.
type probe struct{ _ [256]byte }

// keepsRequestContext serves one request on server under a context carrying a probe, ends the
// request as gRPC does (by canceling its context), and reports whether the probe outlived it.
func keepsRequestContext(t *testing.T, server tfprotov6.ProviderServer) bool {
	t.Helper()
	p := new(probe)
	held := weak.Make(p)
	func() {
		ctx, cancel := context.WithCancel(context.WithValue(t.Context(), probeKey{}, p))
		defer cancel()
		resp, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
		if err != nil || len(resp.Diagnostics) > 0 {
			t.Fatalf("GetProviderSchema: %v %v", err, resp.Diagnostics)
		}
	}()
	p = nil
	runtime.GC()
	runtime.GC()
	kept := held.Value() != nil
	// A provider's server lives as long as its process: the server itself must not be what
	// lets go of the context.
	runtime.KeepAlive(server)
	return kept
}

func newServer(t *testing.T, factory func() (tfprotov6.ProviderServer, error)) tfprotov6.ProviderServer {
	t.Helper()
	server, err := factory()
	if err != nil {
		t.Fatal(err)
	}
	return server
}

func TestProtocolServer_letsGoOfRequestContexts(t *testing.T) {
	t.Parallel()
	server := newServer(t, ProtocolServer(newTestProvider(client.SystemClock{}, nil)))
	if keepsRequestContext(t, server) {
		t.Error("a request's context outlived the request")
	}
}

// The reason for ProtocolServer: the framework's own server keeps every request's context until
// StopProvider. Should this fail, the framework has stopped doing so and ProtocolServer can go.
func TestFrameworkServer_keepsRequestContexts(t *testing.T) {
	t.Parallel()
	server := newServer(t, providerserver.NewProtocol6WithError(newTestProvider(client.SystemClock{}, nil)))
	if !keepsRequestContext(t, server) {
		t.Error("the framework let go of a request's context: ProtocolServer is no longer needed")
	}
}

func TestProtocolServer_servesWhatTheFrameworkServes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ours := newServer(t, ProtocolServer(newTestProvider(client.SystemClock{}, nil)))
	theirs := newServer(t, providerserver.NewProtocol6WithError(newTestProvider(client.SystemClock{}, nil)))

	for _, call := range []func(tfprotov6.ProviderServer) (any, error){
		func(s tfprotov6.ProviderServer) (any, error) {
			return s.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
		},
		func(s tfprotov6.ProviderServer) (any, error) {
			return s.GetResourceIdentitySchemas(ctx, &tfprotov6.GetResourceIdentitySchemasRequest{})
		},
	} {
		got, err1 := call(ours)
		want, err2 := call(theirs)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ProtocolServer answered %#v (%v), the framework %#v (%v)", got, err1, want, err2)
		}
	}
	if _, ok := ours.(tfprotov6.ProviderServerWithListResource); !ok { //nolint:staticcheck // SA1019: what terraform-plugin-go asks for
		t.Error("list resources are not served")
	}
	if _, ok := ours.(tfprotov6.ProviderServerWithActions); !ok { //nolint:staticcheck // SA1019: what terraform-plugin-go asks for
		t.Error("actions are not served")
	}
}

func TestRequestContext(t *testing.T) {
	t.Parallel()
	deadline := time.Now().Add(time.Hour)
	request, cancel := context.WithDeadline(context.WithValue(t.Context(), probeKey{}, "value"), deadline)
	rc := newRequestContext(request)
	child, cancelChild := context.WithCancel(rc)
	defer cancelChild()

	if got := rc.Value(probeKey{}); got != "value" {
		t.Errorf("Value before release = %v, want the request's", got)
	}
	if got, ok := rc.Deadline(); !ok || !got.Equal(deadline) {
		t.Errorf("Deadline = %v %v, want the request's", got, ok)
	}
	if rc.Done() != request.Done() || rc.Err() != nil || child.Err() != nil {
		t.Errorf("before the request ends: Done is not the request's, or Err = %v / child %v", rc.Err(), child.Err())
	}

	rc.release()
	if got := rc.Value(probeKey{}); got != nil {
		t.Errorf("Value after release = %v, want nil", got)
	}
	if rc.Err() != nil || child.Err() != nil {
		t.Errorf("released but not canceled: Err = %v / child %v", rc.Err(), child.Err())
	}

	cancel()
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a context derived from the request's was not canceled with it")
	}
	if !errors.Is(rc.Err(), context.Canceled) || !errors.Is(child.Err(), context.Canceled) {
		t.Errorf("after the request ends: Err = %v / child %v, want context.Canceled", rc.Err(), child.Err())
	}
}
