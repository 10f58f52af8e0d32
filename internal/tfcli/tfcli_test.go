//go:build unix

package tfcli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want CLI
	}{
		{"Terraform v1.11.4\non linux_amd64\n", CLI{Product: "Terraform", Version: "1.11.4"}},
		{"OpenTofu v1.12.6\non linux_amd64\n", CLI{Product: "OpenTofu", Version: "1.12.6"}},
		{"Terraform v1.15.0-rc1\non linux_amd64\n", CLI{Product: "Terraform", Version: "1.15.0-rc1"}},
		// OpenTofu warns about its CLI configuration before the version.
		{"Warning: Unable to open CLI configuration file\n\nOpenTofu v1.12.6\n", CLI{Product: "OpenTofu", Version: "1.12.6"}},
		{"Warning: Unable to open CLI configuration file\n", CLI{}},
		{"Something v1.0.0\n", CLI{}},
	} {
		got, ok := parseVersion(tc.out)
		if got != tc.want || ok != (tc.want != CLI{}) {
			t.Errorf("parseVersion(%q) = %+v, %v; want %+v", tc.out, got, ok, tc.want)
		}
	}
}

func TestCLI(t *testing.T) {
	tf := CLI{Product: "Terraform", Version: "1.14.0-rc2"}
	tofu := CLI{Product: "OpenTofu", Version: "1.12.6"}
	if tf.OpenTofu() || !tofu.OpenTofu() {
		t.Error("OpenTofu() does not tell the products apart")
	}
	if tf.Registry() != TerraformRegistry || tofu.Registry() != OpenTofuRegistry {
		t.Errorf("registries %s and %s", tf.Registry(), tofu.Registry())
	}
	if tf.String() != "Terraform 1.14.0-rc2" {
		t.Errorf("String() = %q", tf)
	}
	for _, tc := range []struct {
		major, minor int
		want         bool
	}{{1, 13, true}, {1, 14, true}, {1, 15, false}, {0, 99, true}, {2, 0, false}} {
		if got := tf.AtLeast(tc.major, tc.minor); got != tc.want {
			t.Errorf("%s AtLeast(%d, %d) = %v", tf, tc.major, tc.minor, got)
		}
	}
	if (CLI{Version: "unknown"}).AtLeast(0, 0) {
		t.Error("an unreadable version counts as new enough")
	}
}

// Identify asks the CLI with no CLI configuration and a scrubbed environment, and reads the
// version line wherever it is.
func TestIdentify(t *testing.T) {
	dir := t.TempDir()
	seen := filepath.Join(dir, "env")
	fake := writeScript(t, dir, "tofu", `env > `+seen+`
echo "Warning: a CLI configuration problem"
echo
echo "OpenTofu v1.12.6"
echo "on linux_amd64"
`)
	t.Setenv("TF_CLI_CONFIG_FILE", "/home/dev/.terraformrc")
	t.Setenv("TF_LOG", "TRACE")
	got, err := Identify(context.Background(), fake)
	if err != nil {
		t.Fatal(err)
	}
	if want := (CLI{Path: fake, Product: "OpenTofu", Version: "1.12.6"}); got != want {
		t.Errorf("Identify = %+v, want %+v", got, want)
	}
	env, err := os.ReadFile(seen)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(env), "\n") {
		if strings.HasPrefix(line, "TF_LOG=") || strings.HasPrefix(line, "TF_CLI_CONFIG_FILE=") && line != "TF_CLI_CONFIG_FILE="+os.DevNull {
			t.Errorf("the CLI ran with %s", line)
		}
	}

	if _, err := Identify(context.Background(), writeScript(t, dir, "other", "echo 'Other v1.0.0'\n")); err == nil {
		t.Error("Identify accepted a CLI that is neither Terraform nor OpenTofu")
	}
	if _, err := Identify(context.Background(), filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "is missing") {
		t.Errorf("Identify of a missing CLI: %v", err)
	}
}

// writeScript writes a shell script that stands in for a CLI.
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := WriteExecutable(path, []byte("#!/bin/sh\n"+body)); err != nil {
		t.Fatal(err)
	}
	return path
}
