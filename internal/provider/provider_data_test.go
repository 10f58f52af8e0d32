package provider

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// Runs a key's whole life, including retries and a lost mint response, with logging at TRACE,
// and proves that neither the credential nor the minted key reaches the log.
func TestLogsNeverContainSecrets(t *testing.T) {
	t.Parallel()
	canaryCredential := "canary-credential-" + strings.Repeat("c", 16)
	emu := emulator.NewTestServer(t, emulator.Options{AdminToken: canaryCredential})
	var logs bytes.Buffer
	ctx := tflogtest.RootLogger(context.Background(), &logs)

	data, err := newProviderData(client.Config{
		Endpoint: emu.URL(), Token: canaryCredential, UserAgent: "unit", MaxRetries: 3,
		RetryWaitMax: 10 * time.Millisecond, MaxRetryAfter: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &orgAPIKeyResource{data: data}
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	emptyState := func() tfsdk.State {
		return tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)}
	}

	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502})
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Status: 503, RetryAfter: "0"})
	plan := tfsdk.Plan{Schema: sr.Schema, Raw: emptyState().Raw}
	if d := plan.Set(ctx, &orgAPIKeyResourceModel{
		ID: types.StringUnknown(), Name: types.StringValue("canary"), Key: types.StringUnknown(),
		CreatedBy: types.StringUnknown(), CreatedAt: types.StringUnknown(), LastUsedAt: types.StringUnknown(),
		RotationTriggers: types.MapNull(types.StringType),
	}); d.HasError() {
		t.Fatal(d)
	}
	created := resource.CreateResponse{State: emptyState()}
	r.Create(ctx, resource.CreateRequest{Plan: plan}, &created)
	if created.Diagnostics.HasError() {
		t.Fatal(created.Diagnostics)
	}
	var model orgAPIKeyResourceModel
	created.State.Get(ctx, &model)
	plaintext := model.Key.ValueString()
	if !plaintextRegexp.MatchString(plaintext) {
		t.Fatal("create did not store a plaintext key")
	}

	read := resource.ReadResponse{State: created.State}
	r.Read(ctx, resource.ReadRequest{State: created.State}, &read)
	deleted := resource.DeleteResponse{State: read.State}
	r.Delete(ctx, resource.DeleteRequest{State: read.State}, &deleted)
	if read.Diagnostics.HasError() || deleted.Diagnostics.HasError() {
		t.Fatal(read.Diagnostics, deleted.Diagnostics)
	}

	// A careless log line that names the secrets outright is masked too: the masks are set on
	// every entry point's context, not left to each call site.
	tflog.Trace(data.maskSecrets(ctx), "careless "+plaintext+" "+canaryCredential, map[string]any{
		"key": plaintext, "token": canaryCredential, "header": "Bearer " + canaryCredential, "echo": "got " + plaintext,
	})

	out := logs.String()
	for _, want := range []string{"Molecule API request", "Retrying Molecule API request", "Mint outcome unknown", "minted org API key", "careless"} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %q; the test would pass without logging anything", want)
		}
	}
	if strings.Contains(out, plaintext) || strings.Contains(out, plaintext[5:]) {
		t.Fatal("a minted key reached the log")
	}
	if strings.Contains(out, canaryCredential) {
		t.Fatal("the credential reached the log")
	}
}
