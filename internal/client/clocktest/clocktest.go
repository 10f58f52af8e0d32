// Package clocktest is a fake client.Clock, so that tests of retries, reconciliation and
// snapshots run without real sleeps.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a fake clock. By default every wait ends at once and moves the clock forward by its
// length, as if the waiter had slept. While held (Hold), waits block until Advance or Release
// moves the clock past their end, so that a test can act while code waits. It is safe for
// concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	held    bool
	waits   []wait
	changed chan struct{} // closed, and replaced, whenever waits changes
}

type wait struct {
	at time.Time
	ch chan time.Time
}

// New returns a clock that reads start.
func New(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives the clock's time once d has passed on it: at once,
// moving the clock, unless the clock is held.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	at := c.now.Add(d)
	if !c.held {
		if at.After(c.now) {
			c.now = at
		}
		ch <- c.now
		return ch
	}
	c.waits = append(c.waits, wait{at: at, ch: ch})
	c.changedLocked()
	return ch
}

// Advance moves the clock forward by d and ends the waits due by then.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waits[:0]
	for _, w := range c.waits {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waits = kept
	c.changedLocked()
}

// Hold makes waits block until the clock is moved past their end.
func (c *Clock) Hold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = true
}

// Release ends every held wait, moving the clock to the latest of their ends, and makes later
// waits end at once again.
func (c *Clock) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = false
	for _, w := range c.waits {
		if w.at.After(c.now) {
			c.now = w.at
		}
	}
	for _, w := range c.waits {
		w.ch <- c.now
	}
	c.waits = nil
	c.changedLocked()
}

// Waiting returns a channel that is closed once at least n waits are held; it waits for code
// under test to reach a wait, not for any time to pass.
func (c *Clock) Waiting(n int) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c.mu.Lock()
			held, changed := len(c.waits), c.changed
			c.mu.Unlock()
			if held >= n {
				return
			}
			<-changed
		}
	}()
	return done
}

func (c *Clock) changedLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
