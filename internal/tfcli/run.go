package tfcli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// waitDelay is how long a run may keep its output open after the CLI was killed (a provider
// plugin holding it) before Wait gives up on it.
const waitDelay = 5 * time.Second

// Invocation is one run of a CLI.
type Invocation struct {
	CLI  string   // path of the terraform or tofu binary
	Dir  string   // working directory; "" is the caller's
	Env  []string // the whole environment, usually made by Environ
	Args []string
	// Foreground leaves the CLI in the caller's process group, where a terminal's Ctrl-C reaches
	// it and it stops cleanly; the context then cannot stop it. Otherwise it runs in a process
	// group of its own, killed whole, the provider plugin with it, when the context ends.
	Foreground bool
	// Stdout and Stderr, if set, receive what the CLI prints as it prints it, besides the Result.
	Stdout, Stderr io.Writer
}

// Result is what a finished run printed and how it ended.
type Result struct {
	Stdout, Stderr []byte
	// Output is stdout and stderr together, in the order their lines arrived: about the order
	// they were written, but the two pipes are read apart, so lines written to different
	// streams close together may come in either order.
	Output []byte
	// Code is the exit code.
	Code int
	// State is the finished process, for its CPU times.
	State *os.ProcessState
}

// Command prepares the run without starting it, for a caller that drives the process itself
// (signals it, waits for it); Start and Run do the rest for everybody else.
func (in Invocation) Command(ctx context.Context) *exec.Cmd {
	var cmd *exec.Cmd
	if in.Foreground {
		cmd = exec.Command(in.CLI, in.Args...) //nolint:gosec,noctx // G204: the CLI under test; no context can stop it, by design (see Foreground)
	} else {
		cmd = exec.CommandContext(ctx, in.CLI, in.Args...) //nolint:gosec // G204: the CLI under test
		ownProcessGroup(cmd)
		cmd.WaitDelay = waitDelay
	}
	cmd.Dir, cmd.Env = in.Dir, in.Env
	cmd.Stdout, cmd.Stderr = in.Stdout, in.Stderr
	return cmd
}

// Running is a started run.
type Running struct {
	ctx        context.Context
	foreground bool
	name       string // the CLI's file name and the command, for errors
	cmd        *exec.Cmd
	output     capture
}

// Start starts the run.
func (in Invocation) Start(ctx context.Context) (*Running, error) {
	r := &Running{ctx: ctx, foreground: in.Foreground, name: filepath.Base(in.CLI), cmd: in.Command(ctx)}
	if len(in.Args) > 0 {
		r.name += " " + in.Args[0]
	}
	r.cmd.Stdout = r.output.writer(&r.output.stdout, in.Stdout)
	r.cmd.Stderr = r.output.writer(&r.output.stderr, in.Stderr)
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", r.name, err)
	}
	return r, nil
}

// Run runs the CLI to completion.
func (in Invocation) Run(ctx context.Context) (Result, error) {
	r, err := in.Start(ctx)
	if err != nil {
		return Result{}, err
	}
	return r.Wait()
}

// Process is the CLI's process.
func (r *Running) Process() *os.Process { return r.cmd.Process }

// Wait waits for the run to end. A CLI that exits, whatever its code, is a Result and no error;
// the error is for a run that failed otherwise, or that the context ended.
func (r *Running) Wait() (Result, error) {
	err := r.cmd.Wait()
	res := Result{
		Stdout: r.output.stdout.Bytes(), Stderr: r.output.stderr.Bytes(), Output: r.output.both.Bytes(),
		State: r.cmd.ProcessState,
	}
	if r.cmd.ProcessState != nil {
		res.Code = r.cmd.ProcessState.ExitCode()
	}
	var exit *exec.ExitError
	switch {
	case !r.foreground && r.ctx.Err() != nil:
		return res, fmt.Errorf("%s: %w", r.name, r.ctx.Err())
	case err != nil && !errors.As(err, &exit):
		return res, fmt.Errorf("%s: %w", r.name, err)
	}
	return res, nil
}

// capture keeps a run's stdout and stderr apart and together.
type capture struct {
	mu                   sync.Mutex
	stdout, stderr, both bytes.Buffer
}

type captureWriter struct {
	c    *capture
	own  *bytes.Buffer
	also io.Writer
}

func (c *capture) writer(own *bytes.Buffer, also io.Writer) io.Writer {
	return captureWriter{c: c, own: own, also: also}
}

func (w captureWriter) Write(p []byte) (int, error) {
	w.c.mu.Lock()
	w.own.Write(p)
	w.c.both.Write(p)
	w.c.mu.Unlock()
	if w.also != nil {
		return w.also.Write(p)
	}
	return len(p), nil
}
