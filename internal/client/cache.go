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
	byID   map[string]int
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
// process mints or revokes a key, so a list that was already in flight then can never be
// served afterwards as if it knew about the change.
type snapshotCache struct {
	mu       sync.Mutex
	maxAge   time.Duration
	now      func() time.Time
	gen      uint64
	snap     *Snapshot
	fetched  time.Time
	inflight *listFlight
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
	c.snap = nil
	c.mu.Unlock()
}

// Snapshot returns the live keys, from a list taken less than the snapshot age ago by this
// process, or from a new list request that concurrent callers share.
func (c *Client) Snapshot(ctx context.Context) (*Snapshot, error) {
	sc := &c.cache
	sc.mu.Lock()
	if sc.snap != nil && sc.now().Sub(sc.fetched) < sc.maxAge {
		s := sc.snap
		sc.mu.Unlock()
		return s, nil
	}
	f := sc.inflight
	if f == nil || f.gen != sc.gen {
		// The shared request outlives the caller that started it (others may be waiting) but
		// not the last caller to give up: see below.
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
	started := c.cache.now()
	tokens, err := c.List(ctx)
	if err == nil {
		f.snap = newSnapshot(tokens)
	}
	f.err = err

	sc := &c.cache
	sc.mu.Lock()
	if err == nil && f.gen == sc.gen {
		sc.snap, sc.fetched = f.snap, started
	}
	if sc.inflight == f {
		sc.inflight = nil
	}
	sc.mu.Unlock()
	f.cancel()
	close(f.done)
}
