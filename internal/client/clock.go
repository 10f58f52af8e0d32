package client

import (
	"context"
	"time"
)

// Clock is where the client reads the time and waits: retry waits, the grace window after a lost
// answer, approval polls, the age of the shared list. Bounds (a request's timeout, the approval
// wait, cleanup after Ctrl-C) are real time whatever the clock. Tests hand in a fake (package
// clocktest), so that waits take no real time.
type Clock interface {
	Now() time.Time
	// After sends the time on the returned channel once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock, the default.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// After is time.After.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// sleep waits d on clock and reports true, or false as soon as ctx ends.
func sleep(ctx context.Context, clock Clock, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-clock.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

// Outlive returns a context for cleanup that must finish what a cancelled operation began (a
// revocation, the reconciliation of a lost mint): it survives the cancellation of ctx (Ctrl-C)
// by at most grace, and ends when the returned function is called.
func Outlive(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	detached, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	return detached, func() {
		stop()
		cancel()
	}
}
