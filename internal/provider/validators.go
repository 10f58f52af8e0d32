package provider

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

var (
	_ validator.String = keyNameValidator{}
	_ validator.String = durationValidator{}
	_ validator.String = regexValidator{}
	_ validator.String = orgIDValidator{}
)

// orgIDValidator checks org_id at plan time: an organization's UUID, in lower case.
type orgIDValidator struct{}

func (orgIDValidator) Description(context.Context) string {
	return "must be the organization's UUID, in lower case"
}

func (v orgIDValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (orgIDValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := client.ValidateOrgID(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Molecule Organization ID", err.Error())
	}
}

// keyNameValidator applies the service's name rules at plan time, so a bad name fails before
// anything is minted.
type keyNameValidator struct{}

func (keyNameValidator) Description(context.Context) string {
	return "must be non-empty after trimming, at most 100 bytes of UTF-8, without control characters"
}

func (v keyNameValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (keyNameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := client.ValidateName(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Org API Key Name", err.Error())
	}
}

// durationValidator checks a Go duration string against bounds.
type durationValidator struct{ min, max time.Duration }

func (v durationValidator) Description(context.Context) string {
	return fmt.Sprintf("must be a Go duration such as \"30s\" between %s and %s", durationText(v.min), durationText(v.max))
}

func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := parseDuration(req.ConfigValue.ValueString(), v.min, v.max); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Duration", err.Error())
	}
}

func parseDuration(raw string, minimum, maximum time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, fmt.Errorf("%s is not a duration; use a number with a unit, such as \"30s\", \"5m\" or \"720h\"", echo(raw))
	}
	if d < minimum || d > maximum {
		return 0, fmt.Errorf("%s is out of range; use a duration between %s and %s", echo(raw), durationText(minimum), durationText(maximum))
	}
	return d, nil
}

// regexValidator checks that a string compiles as an RE2 regular expression.
type regexValidator struct{}

func (regexValidator) Description(context.Context) string {
	return "must be a valid RE2 regular expression"
}

func (v regexValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (regexValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if _, err := regexp.Compile(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Regular Expression",
			fmt.Sprintf("%s. The syntax is RE2 (https://github.com/google/re2/wiki/Syntax); for example \"^ci-\".", err))
	}
}
