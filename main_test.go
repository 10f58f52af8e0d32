package main

import (
	"os"
	"testing"
)

var sdkLogVars = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_MOLECULE"}

func TestQuietUnlessTerraformLogs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantOff bool
	}{
		{"Terraform collects no provider logs", map[string]string{}, true},
		{"TF_LOG set", map[string]string{"TF_LOG": "TRACE"}, false},
		{"TF_LOG_PROVIDER set", map[string]string{"TF_LOG_PROVIDER": "DEBUG"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range append([]string{"TF_LOG", "TF_LOG_PROVIDER"}, sdkLogVars...) {
				t.Setenv(v, tc.env[v])
			}
			quietUnlessTerraformLogs()
			for _, v := range sdkLogVars {
				if got := os.Getenv(v); (got == "off") != tc.wantOff {
					t.Errorf("%s = %q, want off: %v", v, got, tc.wantOff)
				}
			}
		})
	}

	t.Run("an explicit SDK level is kept", func(t *testing.T) {
		t.Setenv("TF_LOG", "")
		t.Setenv("TF_LOG_PROVIDER", "")
		t.Setenv("TF_LOG_SDK_FRAMEWORK", "WARN")
		quietUnlessTerraformLogs()
		if got := os.Getenv("TF_LOG_SDK_FRAMEWORK"); got != "WARN" {
			t.Fatalf("TF_LOG_SDK_FRAMEWORK = %q, want WARN", got)
		}
	})
}
