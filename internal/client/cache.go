package client

import (
	"context"
	"sync"
	"time"
)

// DefaultSnapshotMaxAge bounds how old a shared list of keys may be when it answers a read.
//
// Terraform starts a fresh provider process for every plan, apply and destroy, and the snapshot
// lives only in that process, so every command starts from a fresh list: a key revoked by
// someone else during one plan is seen by the next. The bound matters only within one long
// command (a large apply), where it caps how stale a read can be.
const DefaultSnapshotMaxAge = 2 * time.Minute

// A read after a mint waits until this process's mints have settled, so that one list request
// describes them all: none is in flight, and as many minters are waiting as have ever been busy at
// once (Terraform runs creates -parallelism at a time, and starts the next ones as earlier ones
// return), but never longer than mintSettle. Without the wait nearly every key of a large apply
// would cost its own list.
const mintSettle = 250 * time.Millisecond

// Snapshot is one list response shared by every read in this process. Its contents must not be
// modified.
type Snapshot struct {
	Tokens []Token
	// Incomplete says why the list may not hold every live key ("" when it certainly does):
	// the deployed service lists at most ServiceListMax keys, newest first, and cuts the rest
	// without notice. A key absent from an incomplete list may still be live.
	Incomplete string
	byID       map[string]int
}

// Lookup returns the live key with the given id.
func (s *Snapshot) Lookup(id string) (Token, bool) {
	i, ok := s.byID[id]
	if !ok {
		return Token{}, false
	}
	return s.Tokens[i], true
}

func newSnapshot(tokens []Token) *Snapshot {
	s := &Snapshot{Tokens: tokens, byID: make(map[string]int, len(tokens))}
	for i, t := range tokens {
		s.byID[t.ID] = i
	}
	return s
}

// snapshotCache coalesces reads onto one list request. Its generation changes whenever this
// process mints or revokes a key, and every list remembers the generation it started in, so a
// list that was already in flight then can never be served afterwards as if it knew about the
// change.
type snapshotCache struct {
	mu       sync.Mutex
	maxAge   time.Duration
	now      func() time.Time
	gen      uint64
	snap     *Snapshot
	snapGen  uint64 // generation snap's list started in
	fetched  time.Time
	inflight *listFlight
	// minting counts mints in flight and waiting the reads after a mint that wait for mints to
	// settle; peak is the most there ever were of both at once. changed is closed, and replaced,
	// whenever minting or waiting changes.
	minting, waiting, peak int
	changed                chan struct{}
}

type listFlight struct {
	gen     uint64
	done    chan struct{}
	cancel  context.CancelFunc
	waiters int // guarded by snapshotCache.mu
	snap    *Snapshot
	err     error
}

func (c *snapshotCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}

func (c *snapshotCache) beginMint() {
	c.mu.Lock()
	c.minting++
	c.changedLocked()
	c.mu.Unlock()
}

// changedLocked wakes the reads waiting for mints to settle.
func (c *snapshotCache) changedLocked() {
	c.peak = max(c.peak, c.minting+c.waiting)
	if c.changed != nil {
		close(c.changed)
	}
	c.changed = make(chan struct{})
}

// settledLocked reports whether a read after a mint may list now.
func (c *snapshotCache) settledLocked() bool {
	return c.minting == 0 && c.waiting >= c.peak
}

// endMint ends a mint and returns the generation after it: a list that starts in it or later
// knows the mint's outcome.
func (c *snapshotCache) endMint() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.minting--
	c.changedLocked()
	return c.gen
}

// Snapshot returns the live keys, from a list taken less than the snapshot age ago by this
// process and after its last mint or revocation, or from a new list request that concurrent
// callers share.
func (c *Client) Snapshot(ctx context.Context) (*Snapshot, error) {
	return c.snapshot(ctx, 0, false)
}

// snapshotSince returns a list that started in generation gen or later. Unlike Snapshot it
// accepts a list that predates mints made since gen, and it first lets mints in flight settle,
// so that keys minted in parallel share one list.
func (c *Client) snapshotSince(ctx context.Context, gen uint64) (*Snapshot, error) {
	return c.snapshot(ctx, gen, true)
}

func (c *Client) snapshot(ctx context.Context, since uint64, settle bool) (*Snapshot, error) {
	sc := &c.cache
	var settleBy <-chan time.Time
	if settle {
		t := time.NewTimer(mintSettle)
		defer t.Stop()
		settleBy = t.C
	}
	// A read counts as waiting until it joins or starts a list.
	counted := false
	uncount := func() {
		if counted {
			counted = false
			sc.waiting--
			sc.changedLocked()
		}
	}
	defer func() {
		sc.mu.Lock()
		uncount()
		sc.mu.Unlock()
	}()
	for {
		sc.mu.Lock()
		need := sc.gen
		if settle {
			need = since
		}
		if sc.snap != nil && sc.snapGen >= need && sc.now().Sub(sc.fetched) < sc.maxAge {
			s := sc.snap
			sc.mu.Unlock()
			return s, nil
		}
		f := sc.inflight
		if f == nil || f.gen < need {
			if settle && settleBy != nil && !counted {
				counted = true
				sc.waiting++
				sc.changedLocked()
			}
			if settle && settleBy != nil && !sc.settledLocked() {
				changed := sc.changed
				sc.mu.Unlock()
				select {
				case <-changed:
				case <-settleBy:
					settleBy = nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
				continue
			}
			uncount()
			// The shared request outlives the caller that started it (others may be waiting)
			// but not the last caller to give up: see below.
			fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			f = &listFlight{gen: sc.gen, done: make(chan struct{}), cancel: cancel}
			sc.inflight = f
			go c.fetchSnapshot(fctx, f)
		}
		uncount()
		f.waiters++
		sc.mu.Unlock()
		select {
		case <-f.done:
			return f.snap, f.err
		case <-ctx.Done():
			sc.mu.Lock()
			if f.waiters--; f.waiters == 0 {
				f.cancel()
				if sc.inflight == f {
					sc.inflight = nil // nobody may join a request that is being abandoned
				}
			}
			sc.mu.Unlock()
			return nil, ctx.Err()
		}
	}
}

// fetchSnapshot runs one shared list request.
func (c *Client) fetchSnapshot(ctx context.Context, f *listFlight) {
	started := c.cache.now()
	f.snap, f.err = c.list(ctx)
	sc := &c.cache
	sc.mu.Lock()
	if f.err == nil && (sc.snap == nil || f.gen >= sc.snapGen) {
		sc.snap, sc.snapGen, sc.fetched = f.snap, f.gen, started
	}
	if sc.inflight == f {
		sc.inflight = nil
	}
	sc.mu.Unlock()
	f.cancel()
	close(f.done)
}
