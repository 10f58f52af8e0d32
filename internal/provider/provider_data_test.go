package provider

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// Runs a key's whole life, including retries and a lost mint response, with logging at TRACE,
// and proves that neither the credential nor the minted key reaches the log. In the deployed
// dialect both are opaque (no pattern could find them), so this proves masking by value; the
// guide's variant has guide-shaped values, which the mola_ pattern masks as well.
func TestLogsNeverContainSecrets(t *testing.T) {
	t.Parallel()
	for _, d := range []emulator.Dialect{emulator.DialectDeployed, emulator.DialectGuide} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			canaryCredential := newOpaqueSecret()
			if d == emulator.DialectGuide {
				canaryCredential = newGuideSecret()
			} else {
				requireOpaque(t, "the canary credential", canaryCredential)
			}
			logsNeverContainSecrets(t, d, canaryCredential)
		})
	}
}

func logsNeverContainSecrets(t *testing.T, d emulator.Dialect, canaryCredential string) {
	e := newTestEnv(t, onEmulator(emulator.Options{OrgKey: canaryCredential, Dialect: d}))
	if e.emu.OrgKey() != canaryCredential {
		t.Fatal("the emulator does not know the canary as its org key")
	}
	env := e.env()
	env[envAdminToken], env[envMaxRetries], env[envMaxRetryWait] = canaryCredential, "3", "10ms"
	h := newResourceHarness(t, e, env)
	data := h.r.data
	var logs bytes.Buffer
	h.ctx = tflogtest.RootLogger(context.Background(), &logs)

	e.emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502})
	e.emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Status: 503, RetryAfter: "0"})
	created := h.create(&orgAPIKeyResourceModel{
		ID: types.StringUnknown(), Name: types.StringValue("canary"), Prefix: types.StringUnknown(), Key: types.StringUnknown(),
		CreatedBy: types.StringUnknown(), CreatedAt: types.StringUnknown(), LastUsedAt: types.StringUnknown(),
		RotateAt: types.StringNull(), RotationTriggers: types.MapNull(types.StringType),
	})
	if created.Diagnostics.HasError() {
		t.Fatal(created.Diagnostics)
	}
	var model orgAPIKeyResourceModel
	created.State.Get(h.ctx, &model)
	plaintext := model.Key.ValueString()
	if !keyRegexpFor(d).MatchString(plaintext) {
		t.Fatal("create did not store a plaintext key")
	}
	if d == emulator.DialectDeployed {
		requireOpaque(t, "the minted plaintext", plaintext)
	}
	if model.Prefix.ValueString() != plaintext[:client.PrefixLength] {
		t.Fatal("the prefix in state is not the start of the plaintext")
	}

	read := h.read(created.State)
	deleted := resource.DeleteResponse{State: read.State}
	h.r.Delete(h.ctx, resource.DeleteRequest{State: read.State}, &deleted)
	if read.Diagnostics.HasError() || deleted.Diagnostics.HasError() {
		t.Fatal(read.Diagnostics, deleted.Diagnostics)
	}

	out := logs.String()
	for _, want := range []string{"Molecule API request", "Retrying Molecule API request", "Mint outcome unknown", "minted org API key"} {
		if !strings.Contains(out, want) {
			t.Fatalf("log lacks %q; the test would pass without logging anything", want)
		}
	}
	// The prefix is logged on purpose: it is not secret, while the rest of the key is. (The guide
	// pattern masks a guide-style prefix too.)
	if d == emulator.DialectDeployed && !strings.Contains(out, plaintext[:client.PrefixLength]) {
		t.Fatal("the log does not name the minted key's prefix; the test would pass without logging the mint")
	}
	checkLog(t, "the key's life", out, plaintext, canaryCredential)

	// A careless log line, in a later call on the key (which holds it from state, as Read and
	// Delete do), that names the secrets outright is masked too: the masks are set on every entry
	// point's context, not left to each call site.
	var careless bytes.Buffer
	carelessCtx := tflogtest.RootLogger(context.Background(), &careless)
	tflog.Trace(data.maskSecrets(carelessCtx, plaintext), "careless "+plaintext+" "+canaryCredential, map[string]any{
		"key": plaintext, "token": canaryCredential, "header": "Bearer " + canaryCredential, "echo": "got " + plaintext,
	})
	if !strings.Contains(careless.String(), "careless") {
		t.Fatal("the careless line was not logged")
	}
	checkLog(t, "a careless log line", careless.String(), plaintext, canaryCredential)

	// Any other call's text goes through the client's redaction, which knows every secret the
	// process has seen, whatever call received it.
	if echoed := data.redact("server said: " + plaintext + " / " + canaryCredential); strings.Contains(echoed, plaintext[client.PrefixLength:]) ||
		strings.Contains(echoed, canaryCredential) {
		t.Fatal("the client's redaction let a secret through")
	}
}

// checkLog fails the test for every log line that holds the key beyond its prefix or any half
// of the credential, showing the line with the secret cut out.
func checkLog(t *testing.T, what, log, plaintext, credential string) {
	t.Helper()
	half := len(credential) / 2
	secrets := map[string]string{
		"<REST OF THE KEY>":         plaintext[client.PrefixLength:],
		"<CREDENTIAL, FIRST HALF>":  credential[:half],
		"<CREDENTIAL, SECOND HALF>": credential[half:],
	}
	for _, line := range strings.Split(log, "\n") {
		shown, leaked := line, false
		for label, s := range secrets {
			if strings.Contains(shown, s) {
				shown, leaked = strings.ReplaceAll(shown, s, label), true
			}
		}
		if leaked {
			t.Errorf("a secret reached the log of %s:\n%s", what, shown)
		}
	}
}
