package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// Targets, checked at targetN; the ratios are to the no-I/O provider.
const (
	targetN             = 1000
	targetListsPerPlan  = 1
	targetPeakRSSMiB    = 100
	targetPlanRatioMax  = 0.85
	targetApplyRatioMax = 1.0
)

const mib = 1 << 20

type machine struct {
	cpus       int
	cpuModel   string
	memory     string
	osArch     string
	kernel     string
	goVersion  string
	terraform  string
	providerAt string // the source revision the provider was built from, best effort
}

func describeMachine(ctx context.Context, tc *toolchain) machine {
	m := machine{
		cpus:       runtime.NumCPU(),
		cpuModel:   "unknown",
		memory:     "unknown",
		osArch:     runtime.GOOS + "/" + runtime.GOARCH,
		goVersion:  runtime.Version(),
		terraform:  tc.version(),
		providerAt: "unknown",
	}
	if v, ok := procField("/proc/cpuinfo", "model name"); ok {
		m.cpuModel = v
	}
	if v, ok := procField("/proc/meminfo", "MemTotal"); ok {
		if kb, err := strconv.ParseUint(strings.TrimSuffix(v, " kB"), 10, 64); err == nil {
			m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	// The working tree is what `make build` compiled; -dirty says it had uncommitted changes.
	if out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output(); err == nil {
		m.providerAt = strings.TrimSpace(string(out))
	}
	return m
}

// procField returns the first "name: value" line's value in a /proc file.
func procField(path, name string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

type report struct {
	opts    options
	machine machine
	results results
	started time.Time
	elapsed time.Duration
	profile string // pprof -top of the provider during the largest plan
}

func median[T int | uint64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func collect[T any](samples []sample, f func(sample) T) []T {
	out := make([]T, len(samples))
	for i, s := range samples {
		out[i] = f(s)
	}
	return out
}

func (r report) series(n int, kind, command string) []sample {
	return r.results[seriesKey{n, kind, command}]
}

func (r report) medianWall(n int, kind, command string) time.Duration {
	return median(collect(r.series(n, kind, command), func(s sample) time.Duration { return s.wall }))
}

// ratio is the provider's median wall time over that of the configuration floor.
func (r report) ratio(n int, floor, command string) float64 {
	f := r.medianWall(n, floor, command)
	if f == 0 {
		return 0
	}
	return float64(r.medianWall(n, kindProvider, command)) / float64(f)
}

// medianOf is the median of one figure of a series, in seconds or MiB as the table shows it.
func (r report) medianOf(n int, kind, command string, f func(sample) time.Duration) string {
	return seconds(median(collect(r.series(n, kind, command), f)))
}

func peakRSS(s sample) uint64 { return s.plugin.peakRSS }

func pluginCPU(s sample) time.Duration { return s.plugin.cpu }

func coreCPU(s sample) time.Duration { return s.terraformCoreCPU() }

// requests formats one endpoint's count: the value when every run agrees, else the range.
func requests(samples []sample, endpoint string) string {
	counts := collect(samples, func(s sample) int { return s.requests[endpoint] })
	if len(counts) == 0 {
		return "–"
	}
	lo, hi := slices.Min(counts), slices.Max(counts)
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

func (r report) markdown() []byte {
	var b bytes.Buffer
	m := r.machine
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "Written by `make bench` (`go run ./internal/bench`) on %s; the whole run took %s.\n\n",
		r.started.Format("2006-01-02 15:04 MST"), r.elapsed.Round(time.Second))

	fmt.Fprintf(&b, "## Machine\n\n| | |\n| --- | --- |\n")
	fmt.Fprintf(&b, "| CPUs (`nproc`) | %d |\n", m.cpus)
	fmt.Fprintf(&b, "| CPU model | %s |\n", m.cpuModel)
	fmt.Fprintf(&b, "| Memory | %s |\n", m.memory)
	fmt.Fprintf(&b, "| OS/arch | %s (kernel %s) |\n", m.osArch, m.kernel)
	fmt.Fprintf(&b, "| Go | %s |\n", m.goVersion)
	fmt.Fprintf(&b, "| Terraform | %s |\n", m.terraform)
	fmt.Fprintf(&b, "| Provider built from | `%s` |\n\n", m.providerAt)

	r.writeMethod(&b)

	for _, c := range commandNames {
		fmt.Fprintf(&b, "## terraform %s\n\n", c)
		fmt.Fprintf(&b, "| N | provider s | no-I/O s | terraform_data s | ratio to no-I/O | ratio to terraform_data "+
			"| requests mint/list/revoke/other | peak RSS MiB (provider / no-I/O) | plugin CPU s (provider / no-I/O) "+
			"| Terraform core CPU s (provider / no-I/O / terraform_data) |\n")
		fmt.Fprintf(&b, "| ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: |\n")
		for _, n := range r.opts.sizes {
			p := r.series(n, kindProvider, c)
			reqs := make([]string, 0, 4)
			for _, e := range []string{emulator.EndpointMint, emulator.EndpointList, emulator.EndpointRevoke, emulator.EndpointOther} {
				reqs = append(reqs, requests(p, e))
			}
			rss := func(kind string) float64 { return float64(median(collect(r.series(n, kind, c), peakRSS))) / mib }
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %.2f× | %.2f× | %s | %.1f / %.1f | %s / %s | %s / %s / %s |\n", n,
				seconds(r.medianWall(n, kindProvider, c)), seconds(r.medianWall(n, kindNoIO, c)), seconds(r.medianWall(n, kindCore, c)),
				r.ratio(n, kindNoIO, c), r.ratio(n, kindCore, c),
				strings.Join(reqs, " / "), rss(kindProvider), rss(kindNoIO),
				r.medianOf(n, kindProvider, c, pluginCPU), r.medianOf(n, kindNoIO, c, pluginCPU),
				r.medianOf(n, kindProvider, c, coreCPU), r.medianOf(n, kindNoIO, c, coreCPU), r.medianOf(n, kindCore, c, coreCPU))
		}
		b.WriteString("\n")
	}

	b.WriteString("## Targets\n\n")
	for _, t := range r.targets() {
		fmt.Fprintf(&b, "- **%s** %s: %s\n", t.verdict, t.name, t.detail)
	}
	b.WriteString("\n")

	r.writeProfile(&b)
	r.writeRuns(&b)
	return b.Bytes()
}

func (r report) writeMethod(b *bytes.Buffer) {
	sizes := make([]string, len(r.opts.sizes))
	runs := make([]string, len(r.opts.sizes))
	for i, n := range r.opts.sizes {
		sizes[i] = strconv.Itoa(n)
		runs[i] = fmt.Sprintf("%d at N=%d", r.opts.runsFor(n), n)
	}
	p := r.opts.parallelism
	fmt.Fprintf(b, `## Method

Three configurations, each at N = %s:

- **provider**: N `+"`molecule_org_api_key`"+` resources (`+"`count = N`, `name = \"bench-${count.index}\"`"+`)
  against an in-memory emulator of the org token API on 127.0.0.1, started fresh for each cycle. It
  answers in the deployed service's shape (a mint response without created_at/created_by, which
  the provider then reads from a list shared by the creates in flight), with the service's mint
  quota, request limit and 500-key list cap switched off so that N keys can be minted and listed.
- **no-I/O**: the same configuration run by `+"`internal/bench/floorprovider`"+`, a provider with the same
  address, the same schema (a unit test compares the two) and the same framework that does no I/O:
  written as most framework providers are, its resource reads and writes the whole model
  (`+"`req.Plan.Get`, `resp.State.Set`"+`) in each method, with the real resource's schema, plan
  modifiers and validators, and it makes up ids, keys and `+"`created_by`"+` locally in the service's
  shapes (a UUID, 43 characters of base64url, `+"`org-token:`"+` and a prefix), so that its state is as
  large as the provider's. It runs with the provider's own log settings (the SDK's logging off, as
  the provider sets it when Terraform collects no logs) and Go's default garbage collector target,
  as most providers do. It is the framework's floor for this schema: what a provider of it pays
  before talking to a service.
- **terraform_data**: N `+"`terraform_data`"+` resources (`+"`count = N`, `input = \"bench-${count.index}\"`"+`): the same
  commands with no provider plugin at all, i.e. what Terraform core costs by itself.

A cycle runs in a fresh temporary directory: `+"`terraform init`"+` (not measured), then

1. `+"`terraform %s`"+` (mints N keys),
2. `+"`terraform %s`"+` (refreshes N keys; must exit 0, i.e. no changes),
3. `+"`terraform %s`"+` (revokes N keys).

Each command's wall time runs from starting terraform to its exit. Cycles per configuration:
%s; the three configurations alternate, cycle by cycle. Every figure is the median over the
cycles; a ratio is the provider's median over the other configuration's. A cycle fails the benchmark if a command fails, the plan is
not empty, or the emulator does not hold N live keys after apply and none after destroy.

- **requests**: the emulator's counters, reset before each command. mint = `+"`POST /org/tokens`"+`,
  list = `+"`GET /org/tokens`"+`, revoke = `+"`DELETE /org/tokens/{id}`"+`, other = anything else. A range
  means the cycles disagreed.
- **peak RSS**: `+"`/proc`"+` is sampled every %s while terraform runs; for each child of that
  terraform process running the plugin binary the highest `+"`VmHWM`"+` seen is kept.
- **plugin CPU**: user+system time from `+"`/proc/<pid>/stat`"+`, last sample before the process
  exited (so up to %s short), summed over the plugin processes of the command (Terraform starts
  one per graph walk).
- **Terraform core CPU**: user+system time the kernel reports for the terraform process when it
  exits (it includes the children terraform waited for) minus the plugin CPU above.

Environment: `+"`CHECKPOINT_DISABLE=1`, `TF_IN_AUTOMATION=1`"+`, a per-cycle `+"`TF_CLI_CONFIG_FILE`"+` with
`+"`dev_overrides`"+` for the plugin and a filesystem mirror for `+"`terraform init`"+` (terraform_data
runs with the provider's), `+"`MOLECULE_ENDPOINT`/`MOLECULE_ADMIN_TOKEN`"+` for the emulator, `+"`MOLECULE_ORG`"+` and
`+"`MOLECULE_ORG_TOKEN`"+` empty, every other `+"`TF_*`"+`/`+"`MOLECULE_*`"+` variable removed, and proxies pointed at
a closed port so nothing leaves the machine.

`, strings.Join(sizes, ", "),
		strings.Join(commandArgs(cmdApply, p), " "), strings.Join(commandArgs(cmdPlan, p), " "),
		strings.Join(commandArgs(cmdDestroy, p), " "), strings.Join(runs, ", "),
		sampleInterval, sampleInterval)
}

// writeProfile shows where the provider's CPU time went during the largest plan.
func (r report) writeProfile(b *bytes.Buffer) {
	if r.profile == "" {
		return
	}
	fmt.Fprintf(b, "## Where the provider's time goes\n\nCPU profile of the provider processes during the N=%d plan "+
		"(`MOLECULE_PROVIDER_CPUPROFILE_DIR`), as `go tool pprof -top -cum`:\n\n```\n%s```\n\n", slices.Max(r.opts.sizes), r.profile)
}

// writeRuns lists every cycle's wall times, so the spread behind each median is visible.
func (r report) writeRuns(b *bytes.Buffer) {
	b.WriteString("## Every run\n\nWall seconds per cycle, in the order they ran.\n\n")
	b.WriteString("| N | command | provider | no-I/O | terraform_data |\n| ---: | --- | --- | --- | --- |\n")
	for _, n := range r.opts.sizes {
		for _, c := range commandNames {
			walls := func(kind string) string {
				return strings.Join(collect(r.series(n, kind, c), func(s sample) string { return seconds(s.wall) }), ", ")
			}
			fmt.Fprintf(b, "| %d | %s | %s | %s | %s |\n", n, c, walls(kindProvider), walls(kindNoIO), walls(kindCore))
		}
	}
}

type target struct {
	name, verdict, detail string
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}

func (r report) targets() []target {
	var out []target

	// List requests per plan, at every N measured.
	listsOK := true
	var lists []string
	for _, n := range r.opts.sizes {
		counts := collect(r.series(n, kindProvider, cmdPlan), func(s sample) int { return s.requests[emulator.EndpointList] })
		if len(counts) == 0 || slices.Min(counts) != targetListsPerPlan || slices.Max(counts) != targetListsPerPlan {
			listsOK = false
		}
		lists = append(lists, fmt.Sprintf("N=%d: %s", n, requests(r.series(n, kindProvider, cmdPlan), emulator.EndpointList)))
	}
	out = append(out, target{fmt.Sprintf("list requests per plan = %d at every N", targetListsPerPlan), verdict(listsOK), strings.Join(lists, ", ")})

	// The deployed mint response has no created_at/created_by: an apply reads them from lists
	// that the creates in flight share. Reported, not judged: the cost follows -parallelism.
	var applyLists []string
	for _, n := range r.opts.sizes {
		applyLists = append(applyLists, fmt.Sprintf("N=%d: %s", n, requests(r.series(n, kindProvider, cmdApply), emulator.EndpointList)))
	}
	out = append(out, target{"list requests per apply (metadata after mints, shared by parallel creates)", "INFO", strings.Join(applyLists, ", ")})

	name := func(s string) string { return fmt.Sprintf("%s at N=%d", s, targetN) }
	if !slices.Contains(r.opts.sizes, targetN) {
		for _, s := range []string{
			fmt.Sprintf("provider peak RSS ≤ %d MiB", targetPeakRSSMiB),
			fmt.Sprintf("plan ratio to no-I/O ≤ %.2f", targetPlanRatioMax),
			fmt.Sprintf("apply ratio to no-I/O ≤ %.2f", targetApplyRatioMax),
		} {
			out = append(out, target{name(s), "NOT MEASURED", fmt.Sprintf("N=%d was not in -n", targetN)})
		}
		return out
	}

	// Peak memory: the worst cycle of any command, not the median.
	var peak uint64
	peakAt := ""
	for _, c := range commandNames {
		for _, s := range r.series(targetN, kindProvider, c) {
			if s.plugin.peakRSS > peak {
				peak, peakAt = s.plugin.peakRSS, c
			}
		}
	}
	out = append(out, target{name(fmt.Sprintf("provider peak RSS ≤ %d MiB", targetPeakRSSMiB)),
		verdict(peak <= targetPeakRSSMiB*mib),
		fmt.Sprintf("%.1f MiB, the highest of every cycle and command (during %s)", float64(peak)/mib, peakAt)})

	for _, t := range []struct {
		command string
		max     float64
	}{{cmdPlan, targetPlanRatioMax}, {cmdApply, targetApplyRatioMax}} {
		ratio := r.ratio(targetN, kindNoIO, t.command)
		out = append(out, target{name(fmt.Sprintf("%s ratio to no-I/O ≤ %.2f", t.command, t.max)), verdict(ratio <= t.max),
			fmt.Sprintf("%.2f× (provider %s s / no-I/O %s s, medians)", ratio,
				seconds(r.medianWall(targetN, kindProvider, t.command)), seconds(r.medianWall(targetN, kindNoIO, t.command)))})
		out = append(out, r.cpuSplit(t.command))
	}
	return out
}

// cpuSplit reports, beside a wall-time ratio, where the CPU went: what the provider process
// spends against the floor's, and what Terraform core spends with each. Core's share is the same
// work for any provider of this schema and often the larger part of the wall time.
func (r report) cpuSplit(command string) target {
	plugin := func(kind string) time.Duration { return median(collect(r.series(targetN, kind, command), pluginCPU)) }
	core := func(kind string) time.Duration { return median(collect(r.series(targetN, kind, command), coreCPU)) }
	ratio := 0.0
	if f := plugin(kindNoIO); f > 0 {
		ratio = float64(plugin(kindProvider)) / float64(f)
	}
	return target{fmt.Sprintf("%s CPU at N=%d", command, targetN), "INFO",
		fmt.Sprintf("provider process %s s / no-I/O %s s (%.2f×); Terraform core %s s with the provider, %s s with no-I/O, %s s with terraform_data (medians)",
			seconds(plugin(kindProvider)), seconds(plugin(kindNoIO)), ratio, seconds(core(kindProvider)), seconds(core(kindNoIO)), seconds(core(kindCore)))}
}

func (r report) printTargets(w io.Writer) {
	for _, t := range r.targets() {
		_, _ = fmt.Fprintf(w, "%-6s %s: %s\n", t.verdict, t.name, t.detail)
	}
}
