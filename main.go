// Command terraform-provider-molecule serves the Molecule AI Terraform provider.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

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

// quietedLogVars are the log levels quietUnlessTerraformLogs sets to off: those of the plugin
// SDK (terraform-plugin-go), its protocol logging (a line for every RPC at TRACE by default), the
// framework, and the provider's own log lines (tflog's provider logger, named for "molecule").
var quietedLogVars = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_MOLECULE"}

// quietUnlessTerraformLogs turns logging off inside the provider process when Terraform is not
// collecting provider logs, that is when TF_LOG and TF_LOG_PROVIDER are both unset or empty: each
// variable of quietedLogVars that is unset or empty is set to "off" in this process's
// environment, and one already set keeps its value. Terraform parses every line a provider logs
// only to discard it; at a thousand resources that costs a third of the provider's CPU and as
// much again in Terraform. With TF_LOG or TF_LOG_PROVIDER set, nothing is changed.
func quietUnlessTerraformLogs() {
	if os.Getenv("TF_LOG") != "" || os.Getenv("TF_LOG_PROVIDER") != "" {
		return
	}
	for _, v := range quietedLogVars {
		if os.Getenv(v) == "" {
			_ = os.Setenv(v, "off")
		}
	}
}

// gcPercent is the garbage collector's target unless GOGC is set. The process keeps little alive
// (a few MB, the key list among it) and allocates much per RPC, so with Go's default of 100 it
// collects several times a second: at 400 a plan of 1,000 keys costs a fifth less CPU and apply a
// third less, for a peak of about 60 MiB instead of 33.
const gcPercent = 400

// tuneGC sets gcPercent, unless GOGC says otherwise.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}

func run(debugMode bool) (err error) {
	quietUnlessTerraformLogs()
	tuneGC()

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

	server, err := provider.ProtocolServer(provider.New(version)())()
	if err != nil {
		return err
	}
	var opts []tf6server.ServeOpt
	if debugMode {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	return tf6server.Serve("registry.terraform.io/molecule-ai/molecule", func() tfprotov6.ProviderServer { return server }, opts...)
}
