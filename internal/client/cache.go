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

// snapshotCache shares list requests. Its generation counts this process's mints and
// revocations, and every list remembers the generation it started in: a list that started
// before a change ended can never be served afterwards as if it knew about it.
type snapshotCache struct {
	mu       sync.Mutex
	gen      uint64
	snap     *Snapshot // the newest list
	snapGen  uint64    // the generation snap's list started in
	fetched  time.Time // when snap's list started
	inflight *listFlight
}

// listFlight is one list request and the reads waiting for it.
type listFlight struct {
	gen     uint64
	done    chan struct{}
	cancel  context.CancelFunc
	waiters int // guarded by snapshotCache.mu
	snap    *Snapshot
	err     error
}

// changed records a mint or a revocation that has ended, and returns the generation after it: a
// list that starts in it or later knows the change.
func (sc *snapshotCache) changed() uint64 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.gen++
	return sc.gen
}

func (sc *snapshotCache) generation() uint64 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.gen
}

// Snapshot returns the live keys, from a list that started after this process's last mint or
// revocation and less than the snapshot age ago, or from a new list request that concurrent
// callers share.
func (c *Client) Snapshot(ctx context.Context) (*Snapshot, error) {
	return c.snapshot(ctx, c.cache.generation())
}

// snapshot returns a list that started in generation gen or later and less than the snapshot
// age ago: the newest list, the one in flight, or a new one.
func (c *Client) snapshot(ctx context.Context, gen uint64) (*Snapshot, error) {
	sc := &c.cache
	sc.mu.Lock()
	if sc.snap != nil && sc.snapGen >= gen && c.clock.Now().Sub(sc.fetched) < c.maxAge {
		s := sc.snap
		sc.mu.Unlock()
		return s, nil
	}
	f := sc.inflight
	if f == nil || f.gen < gen {
		// The request outlives the read that started it (others may be waiting) but not the
		// last read to give up: see below.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &listFlight{gen: sc.gen, done: make(chan struct{}), cancel: cancel}
		sc.inflight = f
		go c.fetchSnapshot(fctx, f)
	}
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

// fetchSnapshot runs one shared list request.
func (c *Client) fetchSnapshot(ctx context.Context, f *listFlight) {
	started := c.clock.Now()
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
