// Command testmatrix runs the provider's acceptance and CLI tests once for each Terraform-compatible
// CLI it is given and reports, for each, how many tests passed, skipped and failed, why each skip
// happened, and how long the run took. `make testacc-matrix` runs it on every CLI the project
// supports, `make testacc-cli CLI=<path>` on one.
//
//	go run ./internal/testmatrix [-race] [-run REGEXP] [-timeout 15m] CLI...
//
// A CLI is a path or a command on PATH. Every CLI is asked for its version before any test runs,
// so a missing or broken binary fails at once rather than after the other CLIs' runs. Each run is
// `go test -count=1 -json` of the package in the environment tfcli.AcceptanceEnviron makes:
//
//   - TF_ACC=1, TF_ACC_TERRAFORM_PATH set to the CLI, CHECKPOINT_DISABLE=1 and TF_IN_AUTOMATION=1;
//   - TF_ACC_PROVIDER_HOST set to the registry the CLI resolves provider addresses to,
//     registry.opentofu.org for OpenTofu: the test harness serves the provider under that host;
//   - TF_CLI_CONFIG_FILE set to an empty file. The tests install no provider, so they need no CLI
//     configuration, and a user's cannot change their outcome. OpenTofu prints problems with its
//     configuration (a TF_CLI_CONFIG_FILE that does not exist) on stdout, where the harness
//     parses its version;
//   - MOLECULE_ACC_REAL removed, so that no environment can point the run at a real organization.
//
// Tests count as leaves: a test with subtests counts through them, unless it fails on its own.
// A test that skips must say why; one that skips without a reason fails the run, and so does a
// test that never finishes (a panic or the timeout). The exit status is non-zero when any CLI is
// missing or any run failed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/tfcli"
)

func main() { os.Exit(matrix()) }

// matrix runs the tests on every CLI and returns the exit status.
func matrix() int {
	pkg := flag.String("pkg", "./internal/provider", "the Go package whose tests run")
	race := flag.Bool("race", false, "run the tests with the race detector")
	runPattern := flag.String("run", "", "run only the tests matching this regular expression (go test -run)")
	timeout := flag.Duration("timeout", 15*time.Minute, "go test -timeout for each CLI's run")
	verbose := flag.Bool("v", false, "print every test's output, not only that of failed and skipped tests")
	flag.Usage = func() {
		_, _ = fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./internal/testmatrix [flags] CLI...\n\n"+
			"Runs the acceptance tests once per CLI (a terraform or tofu binary) and summarises them.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var clis []tfcli.CLI
	var missing []string
	for _, arg := range flag.Args() {
		c, err := tfcli.Identify(ctx, arg)
		if err != nil {
			missing = append(missing, err.Error())
			continue
		}
		clis = append(clis, c)
	}
	if len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "testmatrix: cannot run the acceptance tests on every CLI asked for:\n  %s\n",
			strings.Join(missing, "\n  "))
		return 1
	}

	args := []string{"test", "-count=1", "-json", "-timeout", timeout.String()}
	if *race {
		args = append(args, "-race")
	}
	if *runPattern != "" {
		args = append(args, "-run", *runPattern)
	}
	args = append(args, *pkg)

	var runs []*run
	for _, c := range clis {
		if ctx.Err() != nil {
			break
		}
		fmt.Printf("\n=== %s (%s): go %s\n", c, c.Path, strings.Join(args, " "))
		r := runTests(c, args, *verbose)
		fmt.Printf("=== %s: %s\n", c, r.counts())
		runs = append(runs, r)
	}

	summary := summarise(*pkg, runs)
	fmt.Print("\n" + summary)
	if path := os.Getenv("GITHUB_STEP_SUMMARY"); path != "" {
		writeStepSummary(path, *pkg, runs)
	}
	if len(runs) < len(clis) {
		fmt.Fprintln(os.Stderr, "testmatrix: interrupted before every CLI had run")
		return 1
	}
	for _, r := range runs {
		if !r.ok() {
			return 1
		}
	}
	return 0
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Test    string
	Output  string
	Elapsed float64
}

// result is one test's outcome: "pass", "fail", "skip", or "" if it never finished.
type result struct {
	action string
	output []string
}

// run is one CLI's go test run.
type run struct {
	cli     tfcli.CLI
	elapsed time.Duration
	tests   map[string]*result
	order   []string
	// broken says why the run failed outside any test (a build failure, a panic in TestMain), if
	// it did.
	broken string

	passed, skipped, failed []string
	// skipReasons maps each reason given to the tests that gave it.
	skipReasons map[string][]string
	// unexplained are the tests that skipped without saying why.
	unexplained []string
}

func runTests(c tfcli.CLI, args []string, verbose bool) *run {
	r := &run{cli: c, tests: map[string]*result{}, skipReasons: map[string][]string{}}
	start := time.Now()
	cmd := exec.Command("go", args...) //nolint:gosec,noctx // G204: go test of this module; an interrupt reaches it directly, as its process group's
	cmd.Env = tfcli.AcceptanceEnviron(os.Environ(), c)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		r.broken = err.Error()
		return r
	}
	if err := cmd.Start(); err != nil {
		r.broken = err.Error()
		return r
	}
	packageFailed := r.read(stdout, verbose)
	err = cmd.Wait()
	r.elapsed = time.Since(start).Round(time.Second)
	r.tally()
	var exit *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &exit):
		r.broken = "go test: " + err.Error()
	case (err != nil || packageFailed) && len(r.failed) == 0:
		r.broken = "go test failed outside any test (see its output above)"
	}
	return r
}

// read consumes go test's JSON stream, printing each failed or skipped test's output once it
// has finished, and reports whether the package as a whole failed.
func (r *run) read(stdout io.Reader, verbose bool) (packageFailed bool) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			fmt.Printf("%s\n", line)
			continue
		}
		if e.Test == "" {
			switch e.Action {
			case "output", "build-output":
				fmt.Print(e.Output)
			case "fail":
				packageFailed = true
			}
			continue
		}
		t := r.tests[e.Test]
		if t == nil {
			t = &result{}
			r.tests[e.Test] = t
			r.order = append(r.order, e.Test)
		}
		switch e.Action {
		case "output":
			t.output = append(t.output, e.Output)
			if verbose {
				fmt.Print(e.Output)
			}
		case "pass", "fail", "skip":
			t.action = e.Action
			switch {
			case verbose:
			case e.Action != "pass":
				fmt.Print(strings.Join(t.output, ""))
			case !strings.Contains(e.Test, "/"):
				// One line per top-level test shows progress; its subtests passed too.
				fmt.Printf("--- PASS: %s (%.2fs)\n", e.Test, e.Elapsed)
			}
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "testmatrix: reading go test's output: %v\n", err)
		packageFailed = true
	}
	return packageFailed
}

// tally counts the leaf tests and collects the skip reasons.
func (r *run) tally() {
	parents := map[string]bool{}
	for name := range r.tests {
		for i := range len(name) {
			if name[i] == '/' {
				parents[name[:i]] = true
			}
		}
	}
	for _, name := range r.order {
		t := r.tests[name]
		if parents[name] {
			// A parent passes or skips through its subtests; it counts only when it fails while
			// none of them does.
			if t.action == "fail" && !slices.ContainsFunc(r.order, func(sub string) bool {
				return strings.HasPrefix(sub, name+"/") && r.tests[sub].action != "pass" && r.tests[sub].action != "skip"
			}) {
				r.failed = append(r.failed, name)
			}
			continue
		}
		switch t.action {
		case "pass":
			r.passed = append(r.passed, name)
		case "skip":
			r.skipped = append(r.skipped, name)
			if reason := skipReason(t.output); reason != "" {
				r.skipReasons[reason] = append(r.skipReasons[reason], name)
			} else {
				r.unexplained = append(r.unexplained, name)
			}
		case "fail":
			r.failed = append(r.failed, name)
		default:
			r.failed = append(r.failed, name+" (never finished)")
			if len(t.output) > 0 {
				fmt.Printf("%s never finished; its output:\n%s", name, strings.Join(t.output, ""))
			}
		}
	}
}

// location starts each message a test logs: "    file_test.go:123: ".
var location = regexp.MustCompile(`^\s*[^\s:]+\.go:\d+: `)

// skipReason is the last message a skipped test logged, the one t.Skip wrote.
func skipReason(output []string) string {
	var msgs []string
	for _, chunk := range output {
		for line := range strings.SplitSeq(strings.TrimRight(chunk, "\n"), "\n") {
			trimmed := strings.TrimSpace(line)
			switch {
			case trimmed == "" || strings.HasPrefix(trimmed, "=== ") || strings.HasPrefix(trimmed, "--- "):
			case location.MatchString(line):
				msgs = append(msgs, location.ReplaceAllString(line, ""))
			case len(msgs) > 0:
				msgs[len(msgs)-1] += " " + trimmed
			}
		}
	}
	if len(msgs) == 0 {
		return ""
	}
	return strings.TrimSpace(msgs[len(msgs)-1])
}

func (r *run) ok() bool { return r.broken == "" && len(r.failed) == 0 && len(r.unexplained) == 0 }

func (r *run) counts() string {
	s := fmt.Sprintf("%d ran: %d passed, %d skipped, %d failed in %s",
		len(r.passed)+len(r.skipped)+len(r.failed), len(r.passed), len(r.skipped), len(r.failed), r.elapsed)
	if r.broken != "" {
		s += "; " + r.broken
	}
	return s
}

// reasons returns the skip reasons, the most common first.
func (r *run) reasons() []string {
	out := make([]string, 0, len(r.skipReasons))
	for reason := range r.skipReasons {
		out = append(out, reason)
	}
	slices.SortFunc(out, func(a, b string) int {
		if d := len(r.skipReasons[b]) - len(r.skipReasons[a]); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return out
}

func summarise(pkg string, runs []*run) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Acceptance and CLI tests of %s, by CLI:\n\n", pkg)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	_, _ = fmt.Fprintln(tw, "CLI\tran\tpassed\tskipped\tfailed\ttime\t")
	for _, r := range runs {
		_, _ = fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t\n", r.cli, len(r.passed)+len(r.skipped)+len(r.failed),
			len(r.passed), len(r.skipped), len(r.failed), r.elapsed)
	}
	_ = tw.Flush()
	for _, r := range runs {
		fmt.Fprintf(&b, "\n%s (%s): %s\n", r.cli, r.cli.Path, r.counts())
		for _, reason := range r.reasons() {
			tests := r.skipReasons[reason]
			fmt.Fprintf(&b, "  skipped %d: %s\n    %s\n", len(tests), reason, strings.Join(tests, ", "))
		}
		if len(r.unexplained) > 0 {
			fmt.Fprintf(&b, "  FAILED: skipped without saying why (call t.Skip with the reason): %s\n", strings.Join(r.unexplained, ", "))
		}
		if len(r.failed) > 0 {
			fmt.Fprintf(&b, "  FAILED: %s\n", strings.Join(r.failed, ", "))
		}
	}
	return b.String()
}

// writeStepSummary adds the table to a GitHub Actions job summary.
func writeStepSummary(path, pkg string, runs []*run) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "### Acceptance and CLI tests of `%s`\n\n| CLI | ran | passed | skipped | failed | time |\n| --- | ---: | ---: | ---: | ---: | ---: |\n", pkg)
	for _, r := range runs {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s |\n", r.cli, len(r.passed)+len(r.skipped)+len(r.failed),
			len(r.passed), len(r.skipped), len(r.failed), r.elapsed)
	}
	for _, r := range runs {
		for _, reason := range r.reasons() {
			fmt.Fprintf(&b, "\n%s skipped %d: %s", r.cli, len(r.skipReasons[reason]), reason)
		}
	}
	b.WriteString("\n")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600) //nolint:gosec // G304: the file GitHub Actions names
	if err != nil {
		fmt.Fprintf(os.Stderr, "testmatrix: writing the job summary: %v\n", err)
		return
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write(b.Bytes()); err != nil {
		fmt.Fprintf(os.Stderr, "testmatrix: writing the job summary: %v\n", err)
	}
}
