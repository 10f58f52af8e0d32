package tfcli

import (
	"os"
	"strings"
)

// UnreachableProxy is where HTTP_PROXY and HTTPS_PROXY point in a run's environment: a closed
// loopback port, so that any request beyond loopback fails at once. Go never proxies loopback, so
// an emulator on 127.0.0.1 stays reachable.
const UnreachableProxy = "http://127.0.0.1:9"

// Environ is the environment of one run of the CLI: environ without anything that could steer the
// CLI or the provider elsewhere or change how much work they do, then the settings every run
// needs, then extra (last, so they win).
//
// Dropped, whatever the case of their names: TF_* (TF_CLI_ARGS*, TF_LOG*, TF_DATA_DIR,
// TF_PLUGIN_CACHE_DIR, TF_REATTACH_PROVIDERS, TF_CLI_CONFIG_FILE…), OpenTofu's TOFU_* and
// OPENTOFU_*, MOLECULE_* (the provider's own configuration), CHECKPOINT_DISABLE, and every
// *_PROXY (NO_PROXY too). Set: TF_CLI_CONFIG_FILE to cliConfig ("" for none at all, so that no
// user configuration applies either), CHECKPOINT_DISABLE=1, TF_IN_AUTOMATION=1, TF_INPUT=0, and
// HTTP_PROXY and HTTPS_PROXY to UnreachableProxy. Everything else, such as PATH and HOME, is
// kept.
func Environ(environ []string, cliConfig string, extra ...string) []string {
	if cliConfig == "" {
		cliConfig = os.DevNull
	}
	var env []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		if strings.HasPrefix(upper, "TF_") || strings.HasPrefix(upper, "TOFU_") || strings.HasPrefix(upper, "OPENTOFU_") ||
			strings.HasPrefix(upper, "MOLECULE_") || strings.HasSuffix(upper, "_PROXY") || upper == "CHECKPOINT_DISABLE" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"TF_CLI_CONFIG_FILE="+cliConfig,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"HTTP_PROXY="+UnreachableProxy,
		"HTTPS_PROXY="+UnreachableProxy,
	)
	return append(env, extra...)
}

// AcceptanceEnviron is the environment of a `go test` run of the provider's acceptance and CLI
// tests on cli. Unlike Environ it keeps the ambient environment (the Go toolchain's settings,
// TF_LOG and TF_ACC_LOG_PATH for debugging a test) and replaces only what decides where the tests
// run: TF_ACC=1, TF_ACC_TERRAFORM_PATH the CLI, TF_ACC_PROVIDER_HOST the CLI's registry (the test
// harness serves the provider under that host, and OpenTofu looks for it under
// registry.opentofu.org), TF_CLI_CONFIG_FILE empty (the tests install no provider, so they need
// no CLI configuration and a user's cannot change their outcome), CHECKPOINT_DISABLE=1 and
// TF_IN_AUTOMATION=1. MOLECULE_ACC_REAL is removed, so that no environment can point the run at
// a real organization.
func AcceptanceEnviron(environ []string, cli CLI) []string {
	var env []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MOLECULE_ACC_REAL", "TF_ACC", "TF_ACC_TERRAFORM_PATH", "TF_ACC_PROVIDER_HOST", "TF_CLI_CONFIG_FILE",
			"CHECKPOINT_DISABLE", "TF_IN_AUTOMATION":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"TF_ACC=1",
		"TF_ACC_TERRAFORM_PATH="+cli.Path,
		"TF_ACC_PROVIDER_HOST="+cli.Registry(),
		"TF_CLI_CONFIG_FILE="+os.DevNull,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
	)
}
