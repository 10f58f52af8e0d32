package provider

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/hashicorp/terraform-plugin-log/tflogtest"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

// tflogMark is what tflog writes in place of a masked value.
const tflogMark = "***"

// The provider's logs hide exactly what the client's redaction hides, no more and no less: a
// key the client would redact from an error cannot reach a log line, and the two cannot drift
// apart on what a guide-style key looks like. The texts are the credential, guide-style keys and
// their near misses, and random runs of characters around "mola_".
func TestRedactionAgreesWithClient(t *testing.T) {
	t.Parallel()
	credential := newOpaqueSecret()
	requireOpaque(t, "the credential", credential)
	data, err := newProviderData(time.Now, client.Config{Endpoint: "http://127.0.0.1:9", Token: credential, UserAgent: "unit"})
	if err != nil {
		t.Fatal(err)
	}

	texts := []string{
		"credential " + credential,
		"key " + newGuideSecret(),
		"key mola_ABCdef0123456789XYZ, then more",
		"short mola_x.",
		"MOLA_ABCDEF0123456789 and mola-abcdef0123456789",
		"mola_ alone, molar_abc, mola_-abc, mola__abc",
		"nothing secret: a prefix " + credential[:client.PrefixLength],
	}
	rng := rand.New(rand.NewPCG(1, 2)) //nolint:gosec // G404: test inputs, not secrets
	const alphabet = "aZ9_-.:/ mMoOlLA"
	for range 200 {
		var b strings.Builder
		for range 4 + rng.IntN(20) {
			if rng.IntN(6) == 0 {
				b.WriteString("mola_")
			}
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		texts = append(texts, b.String())
	}

	hidden := 0
	for _, text := range texts {
		// Redaction against every secret the client knows (the credential alone), without the
		// white-space folding and truncation its error messages add.
		want := client.RedactSecrets(text, credential)
		if want != text {
			hidden++
		}
		// The client marks a guide-style key as mola_[redacted] and other secrets as [redacted];
		// tflog writes *** for either.
		want = strings.ReplaceAll(want, "mola_"+client.RedactedMark, tflogMark)
		want = strings.ReplaceAll(want, client.RedactedMark, tflogMark)

		var logs bytes.Buffer
		ctx := data.maskSecrets(tflogtest.RootLogger(context.Background(), &logs))
		tflog.Debug(ctx, text, map[string]any{"echo": text})
		entries, err := tflogtest.MultilineJSONDecode(&logs)
		if err != nil || len(entries) != 1 {
			t.Fatalf("reading the log: %v (%d entries)", err, len(entries))
		}
		if got := entries[0]["@message"]; got != want {
			t.Errorf("the log message is %q, but the client redacts the same text to %q", got, want)
		}
		if got := entries[0]["echo"]; got != want {
			t.Errorf("the log field is %q, but the client redacts the same text to %q", got, want)
		}
	}
	if hidden < 5 {
		t.Fatalf("the client redacted only %d of the texts: the comparison proves little", hidden)
	}
}

// Configure's errors come before any client exists; they hide a credential pasted into the
// endpoint as the client would, with the client's mark.
func TestConfigureRedactsCredentialFromEndpointErrors(t *testing.T) {
	t.Parallel()
	// Lower case, as a host name would show it.
	token := strings.ToLower(newOpaqueSecret())
	p := &moleculeProvider{getenv: func(string) string { return "" }}
	for _, endpoint := range []string{
		"http://" + token + ".example.com/",
		"https://" + token + ".example.com/?q",
	} {
		var resp provider.ConfigureResponse
		got := p.resolveEndpoint(moleculeProviderModel{Endpoint: types.StringValue(endpoint), Org: types.StringNull()}, token, &resp)
		if got != "" || !resp.Diagnostics.HasError() {
			t.Fatalf("endpoint %s was accepted", client.RedactSecrets(endpoint, token))
		}
		for _, d := range resp.Diagnostics {
			if strings.Contains(d.Detail(), token) || !strings.Contains(d.Detail(), client.RedactedMark) {
				t.Errorf("%s: the detail does not show the credential redacted: %s", d.Summary(), client.RedactSecrets(d.Detail(), token))
			}
			if ad, ok := d.(interface{ Path() path.Path }); !ok || !ad.Path().Equal(path.Root("endpoint")) {
				t.Errorf("%s does not name the endpoint attribute", d.Summary())
			}
		}
	}
}

// BenchmarkMaskPerRequest is what masking costs one refresh of a key, with every log line
// written (TF_LOG=trace), when the process already knows known secrets (the keys of the other
// resources it refreshed or minted): the masks the refresh installs, one log line of its own and
// one of the client's, redacted against every known secret. Masks are per request and the
// client's redaction looks secrets up by their first bytes, so the cost per request stays flat
// as known grows, and a plan over N keys costs N times it, not N².
func BenchmarkMaskPerRequest(b *testing.B) {
	for _, known := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("known=%d", known), func(b *testing.B) {
			data, err := newProviderData(time.Now, client.Config{Endpoint: "http://127.0.0.1:9", Token: newOpaqueSecret(), UserAgent: "unit"})
			if err != nil {
				b.Fatal(err)
			}
			keys := make([]string, known)
			for i := range keys {
				keys[i] = newOpaqueSecret()
				data.client.AddSecret(keys[i])
			}
			root := tflogtest.RootLogger(context.Background(), io.Discard)
			logger := tflogLogger{data: data}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key := keys[i%known]
				i++
				ctx := data.maskSecrets(root, key)
				tflog.Debug(ctx, "refreshed org API key", map[string]any{"id": "a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e", "key": key})
				logger.Debug(ctx, "GET /org/tokens: 200", map[string]any{"path": "/org/tokens", "status": 200, "attempt": 1})
			}
		})
	}
}
