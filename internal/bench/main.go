// Command bench measures what the provider costs on top of Terraform and of the plugin framework.
// For each N it runs apply, plan and destroy over N molecule_org_api_key resources against an
// in-process emulator, the same over the no-I/O provider of internal/bench/floorprovider (same
// address and schema, no service: the framework floor), and over N terraform_data resources (no
// plugin at all), then writes medians, ratios, API requests, and the plugins' memory and CPU to a
// markdown file.
// `make bench` builds the provider and runs it; nothing leaves this machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/atomicfile"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

const (
	kindProvider = "provider"
	kindNoIO     = "no-io"
	kindCore     = "terraform_data"

	cmdApply   = "apply"
	cmdPlan    = "plan"
	cmdDestroy = "destroy"
)

var commandNames = []string{cmdApply, cmdPlan, cmdDestroy}

// kinds are the configurations, in the order each cycle runs them.
var kinds = []string{kindProvider, kindNoIO, kindCore}

type options struct {
	providerDir string
	out         string
	sizes       []int
	runs        int // 0 => defaultRuns(n)
	parallelism int
}

func main() {
	var o options
	var sizes string
	flag.StringVar(&o.providerDir, "provider-dir", "", "directory holding the built terraform-provider-molecule binary")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "markdown file to write")
	flag.StringVar(&sizes, "n", "10,100,1000", "comma-separated resource counts")
	flag.IntVar(&o.runs, "runs", 0, "cycles per N and configuration; 0 means 5 for N <= 100 and 3 above")
	flag.IntVar(&o.parallelism, "parallelism", 10, "terraform -parallelism for every command")
	flag.Parse()

	var err error
	if o.sizes, err = parseSizes(sizes); err == nil {
		err = validate(o)
	}
	if err == nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err = run(ctx, o)
		stop()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "\nbench FAILED: %v\n", err)
		os.Exit(1)
	}
}

func parseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-n: %q is not a positive count", f)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func validate(o options) error {
	switch {
	case o.providerDir == "":
		return errors.New("-provider-dir is required")
	case o.runs < 0:
		return errors.New("-runs must be 0 (the default per N) or more")
	case o.parallelism < 1:
		return errors.New("-parallelism must be at least 1")
	}
	return nil
}

// defaultRuns keeps `make bench` to a few minutes on two cores: N = 1000 cycles take tens of
// seconds each, the small ones a few seconds.
func defaultRuns(n int) int {
	if n <= 100 {
		return 5
	}
	return 3
}

func (o options) runsFor(n int) int {
	if o.runs > 0 {
		return o.runs
	}
	return defaultRuns(n)
}

// sample is one command of one cycle.
type sample struct {
	measurement
	requests map[string]int // per emulator endpoint; nil without an emulator
}

type seriesKey struct {
	n             int
	kind, command string
}

type results map[seriesKey][]sample

func run(ctx context.Context, o options) error {
	started := time.Now()
	root, err := os.MkdirTemp("", "molecule-bench-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(root) }()
	tc, err := newToolchain(ctx, root, o.providerDir)
	if err != nil {
		return err
	}
	machine := describeMachine(ctx, tc)
	fmt.Printf("bench: %s, %s, %d CPUs\n", machine.terraform, machine.goVersion, machine.cpus)

	res := results{}
	for _, n := range o.sizes {
		runs := o.runsFor(n)
		for i := 1; i <= runs; i++ {
			// Alternating the configurations spreads drift in machine load over all of them.
			for _, kind := range kinds {
				fmt.Printf("N=%-5d run %d/%d %-15s", n, i, runs, kind)
				profileDir := ""
				if kind == kindProvider && i == 1 && n == slices.Max(o.sizes) {
					profileDir = filepath.Join(root, "profile")
				}
				cycle, err := runCycle(ctx, tc, root, kind, n, o.parallelism, profileDir)
				fmt.Println()
				if err != nil {
					return fmt.Errorf("%s run %d at N=%d: %w", kind, i, n, err)
				}
				for _, c := range commandNames {
					res[seriesKey{n, kind, c}] = append(res[seriesKey{n, kind, c}], cycle[c])
				}
			}
		}
	}

	rep := report{opts: o, machine: machine, results: res, started: started, elapsed: time.Since(started),
		profile: cpuProfileTop(ctx, tc, filepath.Join(root, "profile"))}
	// Replaced whole: an interrupted write must not leave a committed report half written.
	if err := atomicfile.Write(o.out, rep.markdown(), 0o644); err != nil {
		return err
	}
	fmt.Println()
	rep.printTargets(os.Stdout)
	fmt.Printf("\nwrote %s in %s\n", o.out, rep.elapsed.Round(time.Second))
	return nil
}

// runCycle runs init (not measured), then apply, plan and destroy in a fresh directory. For the
// provider it starts its own in-memory emulator and resets its counters before each command.
//
// With profileDir set, the provider writes CPU profiles of the plan there.
func runCycle(ctx context.Context, tc *toolchain, root, kind string, n, parallelism int, profileDir string) (map[string]sample, error) {
	dir, err := os.MkdirTemp(root, fmt.Sprintf("%s-%d-", kind, n))
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	env := slices.Clone(tc.plugins[kind].env)

	var emu *emulator.Server
	if kind == kindProvider {
		// The deployed dialect, without its mint quota, request limit, 500-key list cap and
		// ceiling of 100 keys: those would measure the service's limits, not the provider.
		opts := emulator.Options{MintLimit: emulator.NoLimit, RequestLimit: emulator.NoLimit, ListCap: -1, MintCeiling: -1}
		if emu, err = emulator.New(opts); err != nil {
			return nil, err
		}
		if err := emu.Start("127.0.0.1:0"); err != nil {
			return nil, err
		}
		defer func() { _ = emu.Close() }()
		env = append(env, "MOLECULE_ENDPOINT="+emu.URL(), "MOLECULE_ORG_TOKEN="+emu.OrgKey())
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(configFor(kind, n)), 0o600); err != nil {
		return nil, err
	}

	init, err := tc.runTerraform(ctx, kind, dir, env, "init", "-input=false", "-no-color")
	if err != nil {
		return nil, err
	}
	if init.exitCode != 0 {
		return nil, fmt.Errorf("terraform init exited %d:\n%s", init.exitCode, tail(init.output))
	}

	out := map[string]sample{}
	for _, c := range commandNames {
		if emu != nil {
			emu.ResetCounts()
		}
		cmdEnv := env
		if c == "plan" && profileDir != "" {
			if err := os.MkdirAll(profileDir, 0o700); err != nil {
				return nil, err
			}
			cmdEnv = append(append([]string(nil), env...), "MOLECULE_PROVIDER_CPUPROFILE_DIR="+profileDir)
		}
		r, err := tc.runTerraform(ctx, kind, dir, cmdEnv, commandArgs(c, parallelism)...)
		if err != nil {
			return nil, err
		}
		if err := check(c, r, emu, n); err != nil {
			return nil, err
		}
		s := sample{measurement: r}
		s.output = nil // only needed for error messages; N=1000 output is large
		if emu != nil {
			s.requests = emu.RequestCounts()
		}
		out[c] = s
		// Printed as each command ends: an N=1000 cycle is quiet for minutes otherwise.
		fmt.Printf("  %s %6.2fs", c, r.wall.Seconds())
	}
	return out, nil
}

func commandArgs(command string, parallelism int) []string {
	args := []string{command}
	switch command {
	case cmdApply, cmdDestroy:
		args = append(args, "-auto-approve")
	case cmdPlan:
		args = append(args, "-detailed-exitcode")
	}
	return append(args, "-input=false", "-no-color", "-parallelism="+strconv.Itoa(parallelism))
}

// check fails the benchmark when a command did not do what is being measured: timing a failed
// apply or a plan with changes would compare different work.
func check(command string, r measurement, emu *emulator.Server, n int) error {
	switch {
	case command == cmdPlan && r.exitCode == 2:
		return fmt.Errorf("terraform plan after apply reports changes:\n%s", tail(r.output))
	case r.exitCode != 0:
		return fmt.Errorf("terraform %s exited %d:\n%s", command, r.exitCode, tail(r.output))
	case emu == nil:
		return nil
	}
	want := n
	if command == cmdDestroy {
		want = 0
	}
	// The provider's credential is the emulator's org key, itself a live key.
	if live := len(emu.LiveKeys()) - 1; live != want {
		return fmt.Errorf("after terraform %s the emulator holds %d live keys besides the credential, want %d", command, live, want)
	}
	return nil
}

func configFor(kind string, n int) string {
	if kind == kindCore {
		return fmt.Sprintf(`resource "terraform_data" "bench" {
  count = %d
  input = "bench-${count.index}"
}
`, n)
	}
	return fmt.Sprintf(`terraform {
  required_providers {
    molecule = {
      source = "molecule-ai/molecule"
    }
  }
}

provider "molecule" {}

resource "molecule_org_api_key" "bench" {
  count = %d
  name  = "bench-${count.index}"
}
`, n)
}

// cpuProfileTop summarizes the provider's CPU profiles with `go tool pprof`, cumulative, so the
// report shows where the provider's time goes: its own code, the framework, gRPC, the runtime.
func cpuProfileTop(ctx context.Context, tc *toolchain, dir string) string {
	profiles, _ := filepath.Glob(filepath.Join(dir, "*.pprof"))
	if len(profiles) == 0 {
		return ""
	}
	args := append([]string{"tool", "pprof", "-top", "-cum", "-nodecount=25", tc.plugins[kindProvider].exe}, profiles...)
	out, err := exec.CommandContext(ctx, "go", args...).Output()
	if err != nil {
		return "pprof failed: " + err.Error()
	}
	return string(out)
}
