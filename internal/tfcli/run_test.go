//go:build unix

package tfcli

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunCapturesOutput(t *testing.T) {
	cli := writeScript(t, t.TempDir(), "terraform", `echo "out 1"
echo "err 1" >&2
echo "out 2 in $PWD"
exit 3
`)
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	res, err := Invocation{CLI: cli, Dir: dir, Env: Environ(os.Environ(), ""), Args: []string{"plan"}, Stdout: &stdout, Stderr: &stderr}.
		Run(context.Background())
	if err != nil {
		t.Fatalf("a CLI that exits 3 is a result, not an error: %v", err)
	}
	wd, _ := filepath.EvalSymlinks(dir)
	wantOut := "out 1\nout 2 in " + wd + "\n"
	if res.Code != 3 || string(res.Stdout) != wantOut || string(res.Stderr) != "err 1\n" {
		t.Errorf("got code %d, stdout %q, stderr %q; want 3, %q, %q", res.Code, res.Stdout, res.Stderr, wantOut, "err 1\n")
	}
	// The two pipes are read apart, so lines printed back to back to different streams may
	// arrive in either order; each stream's own order holds.
	if !interleaves(string(res.Output), wantOut, "err 1\n") {
		t.Errorf("Output = %q, want the lines of %q and %q, each stream in its order", res.Output, wantOut, "err 1\n")
	}
	if stdout.String() != wantOut || stderr.String() != "err 1\n" {
		t.Errorf("the writers got %q and %q, want what the CLI printed", stdout.String(), stderr.String())
	}
	if res.State == nil || res.State.ExitCode() != 3 {
		t.Errorf("State = %v", res.State)
	}

	if _, err := (Invocation{CLI: filepath.Join(dir, "missing"), Args: []string{"plan"}}).Run(context.Background()); err == nil {
		t.Error("running a missing CLI is no error")
	}
}

// interleaves reports whether both's lines are exactly a's and b's, merged with each one's
// lines kept in order.
func interleaves(both, a, b string) bool {
	lines := func(s string) []string { return strings.SplitAfter(s, "\n") }
	as, bs := lines(a), lines(b)
	for _, l := range lines(both) {
		switch {
		case l == "":
		case len(as) > 0 && as[0] == l:
			as = as[1:]
		case len(bs) > 0 && bs[0] == l:
			bs = bs[1:]
		default:
			return false
		}
	}
	return strings.Join(as, "") == "" && strings.Join(bs, "") == ""
}

// A run whose context ends is killed with its whole process group: a provider plugin it started
// does not outlive it.
func TestRunContextKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "plugin.pid")
	cli := writeScript(t, dir, "terraform", `sleep 60 &
echo $! > `+pidFile+`
wait
`)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	started := time.Now()
	_, err := Invocation{CLI: cli, Args: []string{"apply"}}.Run(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run = %v, want the context's deadline", err)
	}
	if took := time.Since(started); took > waitDelay {
		t.Errorf("Run returned %s after it started: the child kept it waiting", took)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the CLI's child %d outlived the cancelled run", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Foreground leaves the CLI in the caller's process group, where a terminal's Ctrl-C reaches it;
// otherwise it leads a group of its own.
func TestRunProcessGroup(t *testing.T) {
	cli := writeScript(t, t.TempDir(), "terraform", "ps -o pgid= -p $$\necho $$\n")
	for _, foreground := range []bool{false, true} {
		res, err := Invocation{CLI: cli, Foreground: foreground, Args: []string{"version"}}.Run(context.Background())
		if err != nil || res.Code != 0 {
			t.Fatalf("%v (exit %d)\n%s", err, res.Code, res.Output)
		}
		fields := strings.Fields(string(res.Stdout))
		if len(fields) != 2 {
			t.Fatalf("unexpected output %q", res.Stdout)
		}
		want := fields[1] // its own pid: it leads its group
		if foreground {
			want = strconv.Itoa(syscall.Getpgrp())
		}
		if fields[0] != want {
			t.Errorf("Foreground %v: the CLI ran in process group %s, want %s", foreground, fields[0], want)
		}
	}
}
