package tfcli

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// ambient is an environment with everything Environ must drop, next to what it must keep.
var ambient = []string{
	"PATH=/usr/bin",
	"HOME=/home/dev",
	"GOFLAGS=-mod=mod",
	"TF_LOG=TRACE",
	"TF_LOG_PATH=/tmp/tf.log",
	"TF_CLI_ARGS=-parallelism=1",
	"TF_CLI_ARGS_apply=-refresh=false",
	"TF_CLI_CONFIG_FILE=/home/dev/.terraformrc",
	"TF_DATA_DIR=/elsewhere",
	"TF_PLUGIN_CACHE_DIR=/home/dev/.terraform.d/plugin-cache",
	"TF_REATTACH_PROVIDERS={}",
	"TF_ACC_PROVIDER_HOST=registry.opentofu.org",
	"tf_input=1",
	"TOFU_REGISTRY_HOST=example.com",
	"OPENTOFU_STATEFILE_PROVIDER_ADDRESS_TRANSLATION=0",
	"MOLECULE_ENDPOINT=https://acme.moleculesai.app",
	"MOLECULE_ORG_TOKEN=a-real-credential",
	"MOLECULE_ACC_REAL=1",
	"CHECKPOINT_DISABLE=",
	"HTTP_PROXY=http://proxy.example.com:3128",
	"https_proxy=http://proxy.example.com:3128",
	"NO_PROXY=127.0.0.1",
	"ALL_PROXY=socks5://proxy.example.com",
}

func TestEnviron(t *testing.T) {
	got := Environ(ambient, "/w/cli.tfrc", "MOLECULE_ENDPOINT=http://127.0.0.1:8080", "TF_LOG=DEBUG")
	want := []string{
		"PATH=/usr/bin",
		"HOME=/home/dev",
		"GOFLAGS=-mod=mod",
		"TF_CLI_CONFIG_FILE=/w/cli.tfrc",
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"HTTP_PROXY=" + UnreachableProxy,
		"HTTPS_PROXY=" + UnreachableProxy,
		"MOLECULE_ENDPOINT=http://127.0.0.1:8080",
		"TF_LOG=DEBUG",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Environ =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if got := Environ(nil, ""); !slices.Contains(got, "TF_CLI_CONFIG_FILE="+os.DevNull) {
		t.Errorf("with no CLI configuration, Environ = %q, want TF_CLI_CONFIG_FILE=%s", got, os.DevNull)
	}
}

func TestAcceptanceEnviron(t *testing.T) {
	for _, tc := range []struct {
		cli  CLI
		host string
	}{
		{CLI{Path: "/bin/terraform", Product: "Terraform", Version: "1.11.4"}, TerraformRegistry},
		{CLI{Path: "/bin/tofu", Product: "OpenTofu", Version: "1.12.6"}, OpenTofuRegistry},
	} {
		got := AcceptanceEnviron(append(slices.Clone(ambient), "TF_ACC=", "TF_ACC_TERRAFORM_PATH=/old", "TF_IN_AUTOMATION="), tc.cli)
		var want []string
		for _, kv := range ambient {
			switch kv {
			case "MOLECULE_ACC_REAL=1", "TF_CLI_CONFIG_FILE=/home/dev/.terraformrc", "TF_ACC_PROVIDER_HOST=registry.opentofu.org", "CHECKPOINT_DISABLE=":
				continue
			}
			want = append(want, kv)
		}
		want = append(want,
			"TF_ACC=1",
			"TF_ACC_TERRAFORM_PATH="+tc.cli.Path,
			"TF_ACC_PROVIDER_HOST="+tc.host,
			"TF_CLI_CONFIG_FILE="+os.DevNull,
			"CHECKPOINT_DISABLE=1",
			"TF_IN_AUTOMATION=1",
		)
		if !slices.Equal(got, want) {
			t.Errorf("AcceptanceEnviron for %s =\n  %s\nwant\n  %s", tc.cli, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
}
