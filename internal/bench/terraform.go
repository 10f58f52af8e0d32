package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

const (
	providerAddress = "registry.terraform.io/molecule-ai/molecule"
	providerBinary  = "terraform-provider-molecule"

	// commandTimeout bounds one terraform command, so that a hang fails the benchmark instead
	// of stalling it.
	commandTimeout = 15 * time.Minute

	// unreachableProxy makes any request beyond loopback fail at once; Go never proxies
	// loopback, so the emulator stays reachable.
	unreachableProxy = "http://127.0.0.1:9"
)

// toolchain is what every cycle shares: the terraform binary, the provider and a filesystem
// mirror holding a copy of it, written once per benchmark rather than once per cycle.
type toolchain struct {
	terraform   string
	providerDir string
	providerExe string // resolved path of the binary dev_overrides makes Terraform run
	mirror      string
	baseEnv     []string
}

func newToolchain(root, providerDir string) (*toolchain, error) {
	tf, err := exec.LookPath("terraform")
	if err != nil {
		return nil, errors.New("terraform is not on PATH; install Terraform 1.10 or later")
	}
	providerDir, err = filepath.Abs(providerDir)
	if err != nil {
		return nil, err
	}
	exe, err := filepath.EvalSymlinks(filepath.Join(providerDir, providerBinary))
	if err != nil {
		return nil, fmt.Errorf("the provider is not built (run make build): %w", err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		return nil, err
	}
	// The mirror's version is a placeholder: Terraform's "latest version" search skips 0.0.0 and
	// pre-releases. Its only job is to let `terraform init` succeed without a registry.
	mirror := filepath.Join(root, "mirror")
	pkgDir := filepath.Join(mirror, providerAddress, "0.0.1", runtime.GOOS+"_"+runtime.GOARCH)
	if err := os.MkdirAll(pkgDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(pkgDir, providerBinary), bin, 0o700); err != nil {
		return nil, err
	}
	return &toolchain{terraform: tf, providerDir: providerDir, providerExe: exe, mirror: mirror, baseEnv: cleanEnv()}, nil
}

// cleanEnv is the ambient environment minus everything that could steer Terraform or the
// provider elsewhere or change how much work they do: TF_* (TF_LOG, TF_CLI_ARGS,
// TF_PLUGIN_CACHE_DIR…), MOLECULE_* and proxies.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		if strings.HasPrefix(upper, "TF_") || strings.HasPrefix(upper, "MOLECULE_") ||
			strings.HasSuffix(upper, "_PROXY") || upper == "CHECKPOINT_DISABLE" {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
		"HTTP_PROXY="+unreachableProxy,
		"HTTPS_PROXY="+unreachableProxy,
		"MOLECULE_ORG=",
		"MOLECULE_ORG_TOKEN=",
	)
}

// writeCLIConfig writes a run's CLI configuration: dev_overrides makes plan and apply run the
// built provider, and the mirror lets `terraform init` succeed offline (with dev_overrides
// alone it would try to reach the registry). Both configurations get the same file, so the
// floor pays for the same CLI configuration handling as the provider.
func (tc *toolchain) writeCLIConfig(dir string) (string, error) {
	cfg := fmt.Sprintf(`provider_installation {
  dev_overrides {
    %q = %q
  }
  filesystem_mirror {
    path    = %q
    include = [%q]
  }
}
`, providerAddress, tc.providerDir, tc.mirror, providerAddress)
	path := filepath.Join(dir, "bench.tfrc")
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// version returns the first line of `terraform version`.
func (tc *toolchain) version(ctx context.Context, cliConfig string) string {
	cmd := exec.CommandContext(ctx, tc.terraform, "version")
	cmd.Env = append(append([]string(nil), tc.baseEnv...), "TF_CLI_CONFIG_FILE="+cliConfig)
	out, err := cmd.Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(first)
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
func (tc *toolchain) runTerraform(ctx context.Context, dir string, env []string, args ...string) (measurement, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tc.terraform, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return measurement{}, fmt.Errorf("terraform %s: %w", args[0], err)
	}
	sampler := startSampler(cmd.Process.Pid, tc.providerExe)
	err := cmd.Wait()
	r := measurement{wall: time.Since(start), plugin: sampler.finish(), output: out.Bytes()}
	if ctx.Err() != nil {
		return r, fmt.Errorf("terraform %s: %w", args[0], ctx.Err())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return r, fmt.Errorf("terraform %s: %w", args[0], err)
	}
	r.exitCode = cmd.ProcessState.ExitCode()
	r.terraformCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
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
