package provider

import (
	"context"
	"fmt"
	"regexp"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

// plaintextKeyPattern matches an org API key wherever it might surface in a log line.
var plaintextKeyPattern = regexp.MustCompile(`mola_[A-Za-z0-9]+`)

// secretFieldKeys are log field names whose values are always masked, whatever they hold.
var secretFieldKeys = []string{"token", "key", "authorization", "Authorization", "credential"}

// providerData is what Configure hands to every resource, data source and ephemeral resource:
// one client, and what is needed to keep secrets out of logs.
type providerData struct {
	client *client.Client
	token  string
}

func newProviderData(cfg client.Config) (*providerData, error) {
	d := &providerData{token: cfg.Token}
	cfg.Logger = tflogLogger{mask: d.maskSecrets}
	c, err := client.New(cfg)
	if err != nil {
		return nil, err
	}
	d.client = c
	return d, nil
}

// maskSecrets returns a context whose tflog output masks the credential and every plaintext key,
// by field name and by value, in fields and in messages. Every entry point applies it, so a log
// line cannot leak a secret even if a later change logs one by mistake.
func (d *providerData) maskSecrets(ctx context.Context) context.Context {
	ctx = tflog.MaskFieldValuesWithFieldKeys(ctx, secretFieldKeys...)
	ctx = tflog.MaskAllFieldValuesRegexes(ctx, plaintextKeyPattern)
	ctx = tflog.MaskMessageRegexes(ctx, plaintextKeyPattern)
	if d.token != "" {
		ctx = tflog.MaskAllFieldValuesStrings(ctx, d.token)
		ctx = tflog.MaskMessageStrings(ctx, d.token)
	}
	return ctx
}

// tflogLogger routes the client's logs into Terraform's log stream.
type tflogLogger struct {
	mask func(context.Context) context.Context
}

func (l tflogLogger) Debug(ctx context.Context, msg string, fields map[string]any) {
	tflog.Debug(l.mask(ctx), msg, fields)
}

func (l tflogLogger) Warn(ctx context.Context, msg string, fields map[string]any) {
	tflog.Warn(l.mask(ctx), msg, fields)
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
