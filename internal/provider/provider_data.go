package provider

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

// plaintextKeyPattern is the client's pattern of a key in the published guide's format (mola_…),
// so that the provider's logs mask exactly what the client's errors redact. The deployed
// service's keys have no fixed format, so secrets are masked by value; this is an extra net.
var plaintextKeyPattern = client.KeyPattern

// secretFieldKeys are log field names whose values are always masked, whatever they hold.
var secretFieldKeys = []string{"token", "key", "authorization", "Authorization", "credential"}

// providerData is what Configure hands to every resource, data source and ephemeral resource:
// one client, which also knows every secret that must stay out of logs.
type providerData struct {
	client *client.Client
	token  string
	// now is the provider's clock: when keys expire and were checked, and what not_used_since
	// counts back from.
	now func() time.Time
	// approvalWait is how long a mint waiting for a person's approval is watched (approval_timeout).
	approvalWait time.Duration
	// plannedMints counts the keys this process's plans mint (creates and replacements), to
	// warn when one plan needs more than the hourly quota.
	plannedMints atomic.Int64
}

func newProviderData(now func() time.Time, cfg client.Config) (*providerData, error) {
	d := &providerData{token: cfg.Token, now: now}
	cfg.Logger = tflogLogger{data: d}
	c, err := client.New(cfg)
	if err != nil {
		return nil, err
	}
	d.client = c
	return d, nil
}

// maskSecrets returns a context whose tflog output masks, by value, in fields and in messages,
// the credential and the secrets this call holds (a key read from state, a key it minted), plus
// anything under a secret field name or shaped like a guide-style key. Every entry point applies
// it, so a log line cannot leak a secret even if a later change logs one by mistake; an entry
// point that learns a secret applies it again. tflog masks every log call, even one nobody reads,
// at a cost per masked string, so a call masks only the secrets it can hold; the client redacts
// its own log lines and errors against every secret the process knows (they are added to it here).
func (d *providerData) maskSecrets(ctx context.Context, known ...string) context.Context {
	values := []string{d.token}
	for _, v := range known {
		if v != "" {
			d.client.AddSecret(v)
			values = append(values, v)
		}
	}
	ctx = tflog.MaskFieldValuesWithFieldKeys(ctx, secretFieldKeys...)
	ctx = tflog.MaskAllFieldValuesRegexes(ctx, plaintextKeyPattern)
	ctx = tflog.MaskMessageRegexes(ctx, plaintextKeyPattern)
	ctx = tflog.MaskAllFieldValuesStrings(ctx, values...)
	return tflog.MaskMessageStrings(ctx, values...)
}

// redact makes text that may echo user input or a server's words safe for a diagnostic.
func (d *providerData) redact(s string) string {
	return d.client.Redact(s)
}

// tflogLogger routes the client's logs into Terraform's log stream, redacted against every
// secret the client knows.
type tflogLogger struct {
	data *providerData
}

func (l tflogLogger) fields(fields map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		if s, ok := v.(string); ok {
			v = l.data.redact(s)
		}
		out[k] = v
	}
	return out
}

func (l tflogLogger) Debug(ctx context.Context, msg string, fields map[string]any) {
	tflog.Debug(l.data.maskSecrets(ctx), l.data.redact(msg), l.fields(fields))
}

func (l tflogLogger) Warn(ctx context.Context, msg string, fields map[string]any) {
	tflog.Warn(l.data.maskSecrets(ctx), l.data.redact(msg), l.fields(fields))
}

// configuredData extracts the provider data handed to a resource or data source's Configure.
// It is nil while Terraform validates configuration before the provider is configured.
func configuredData(raw any, diags *diag.Diagnostics) *providerData {
	if raw == nil {
		return nil
	}
	d, ok := raw.(*providerData)
	if !ok {
		diags.AddError("Unexpected Provider Data",
			fmt.Sprintf("Expected *providerData, got %T. This is a bug in the provider; please report it.", raw))
		return nil
	}
	return d
}
