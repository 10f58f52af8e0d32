package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/tfcli"
)

// commandTimeout bounds one terraform command, so that a hang fails the benchmark instead of
// stalling it.
const commandTimeout = 15 * time.Minute

// toolchain is what every cycle shares: the terraform binary, and per configuration the plugin
// Terraform runs, each with a filesystem mirror holding a copy of it, written once per benchmark
// rather than once per cycle.
type toolchain struct {
	terraform tfcli.CLI
	plugins   map[string]plugin // by kind; terraform_data runs under the provider's
}

// plugin is one build of registry.terraform.io/molecule-ai/molecule and how Terraform finds it.
type plugin struct {
	exe string // resolved path of the binary dev_overrides makes Terraform run
	// env is the environment minus everything that could steer Terraform or the provider
	// elsewhere or change how much work they do (tfcli.Environ), plus a CLI configuration that
	// makes plan and apply run this build (dev_overrides) and lets `terraform init` succeed
	// offline. terraform_data runs with the provider's, so that it pays for the same CLI
	// configuration handling.
	env []string
}

// newToolchain installs the provider built in providerDir, and builds and installs the no-I/O
// provider of internal/bench/floorprovider, each under the same address in its own directory.
func newToolchain(ctx context.Context, root, providerDir string) (*toolchain, error) {
	tf, err := tfcli.Identify(ctx, "")
	if err != nil {
		return nil, err
	}
	floorDir := filepath.Join(root, "floorprovider")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o",
		filepath.Join(floorDir, "terraform-provider-molecule"), "./internal/bench/floorprovider")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the no-I/O provider: %w\n%s", err, out)
	}
	tc := &toolchain{terraform: tf, plugins: map[string]plugin{}}
	for kind, dir := range map[string]string{kindProvider: providerDir, kindNoIO: floorDir} {
		install, err := tfcli.InstallOffline(filepath.Join(root, "install-"+kind), dir, tfcli.TerraformRegistry, true)
		if err != nil {
			return nil, err
		}
		tc.plugins[kind] = plugin{exe: install.Exe, env: tfcli.Environ(os.Environ(), install.CLIConfig)}
	}
	// The provider turns its logging off when Terraform collects none (quietUnlessTerraformLogs in
	// main.go), which saves more than any code path costs; the floor gets the same through its
	// environment, so that the two differ in their resources' code alone.
	noIO := tc.plugins[kindNoIO]
	noIO.env = append(noIO.env, "TF_LOG_SDK=off", "TF_LOG_SDK_PROTO=off", "TF_LOG_SDK_FRAMEWORK=off")
	tc.plugins[kindNoIO] = noIO
	tc.plugins[kindCore] = tc.plugins[kindProvider]
	return tc, nil
}

// version is how `terraform version` names the CLI.
func (tc *toolchain) version() string {
	return tc.terraform.Product + " v" + tc.terraform.Version
}

// measurement is one finished terraform command.
type measurement struct {
	wall         time.Duration
	terraformCPU time.Duration // user+system of terraform and every child it waited for
	plugin       pluginUsage
	exitCode     int
	output       []byte
}

// terraformCoreCPU is terraform's CPU time without its provider plugins: the kernel adds the
// CPU of children terraform waited for to what wait4 reports for terraform itself.
func (r measurement) terraformCoreCPU() time.Duration {
	return max(r.terraformCPU-r.plugin.cpu, 0)
}

// runTerraform runs one terraform command in dir and measures it. The process gets its own
// process group so that a timeout or Ctrl-C takes the provider plugin down with it.
func (tc *toolchain) runTerraform(ctx context.Context, kind, dir string, env []string, args ...string) (measurement, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	start := time.Now()
	running, err := tfcli.Invocation{CLI: tc.terraform.Path, Dir: dir, Env: env, Args: args}.Start(ctx)
	if err != nil {
		return measurement{}, err
	}
	sampler := startSampler(running.Process().Pid, tc.plugins[kind].exe)
	res, err := running.Wait()
	r := measurement{wall: time.Since(start), plugin: sampler.finish(), output: res.Output, exitCode: res.Code}
	if err != nil {
		return r, err
	}
	r.terraformCPU = res.State.UserTime() + res.State.SystemTime()
	return r, nil
}

// tail returns the end of a command's output for an error message.
func tail(out []byte) string {
	const limit = 4000
	if len(out) > limit {
		out = append([]byte("…"), out[len(out)-limit:]...)
	}
	return string(out)
}
