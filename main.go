// Command terraform-provider-molecule serves the Molecule AI Terraform provider.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/pprof"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/molecule-ai/terraform-provider-molecule/internal/provider"
)

// version is set at build time with -ldflags "-X main.version=<version>".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers such as delve")
	flag.Parse()
	if err := run(debug); err != nil {
		log.Fatal(err)
	}
}

// quietUnlessTerraformLogs turns off the plugin SDK's own log output when Terraform is not
// collecting provider logs. The SDK logs every RPC at TRACE by default and Terraform parses each
// line only to discard it; at a thousand resources that costs a third of the provider's CPU and
// as much again in Terraform. With TF_LOG or TF_LOG_PROVIDER set, nothing changes.
func quietUnlessTerraformLogs() {
	if os.Getenv("TF_LOG") != "" || os.Getenv("TF_LOG_PROVIDER") != "" {
		return
	}
	for _, v := range []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_MOLECULE"} {
		if os.Getenv(v) == "" {
			_ = os.Setenv(v, "off")
		}
	}
}

func run(debugMode bool) (err error) {
	quietUnlessTerraformLogs()

	// A CPU profile of a real Terraform run shows where the provider spends its time (make bench).
	// Terraform may start the provider more than once per command, so each process writes its own.
	if dir := os.Getenv("MOLECULE_PROVIDER_CPUPROFILE_DIR"); dir != "" {
		name := filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", os.Getpid()))
		f, createErr := os.Create(name) //nolint:gosec // G304, G703: the developer chose the directory to profile their own run
		if createErr != nil {
			return createErr
		}
		// A failed close can truncate the profile, which should not pass unnoticed.
		defer func() { err = errors.Join(err, f.Close()) }()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	return providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/molecule-ai/molecule",
		Debug:   debugMode,
	})
}
