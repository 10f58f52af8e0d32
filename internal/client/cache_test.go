package client

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client/clocktest"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator/emulatortest"
)

func withMaxAge(d time.Duration) func(*Config) { return func(c *Config) { c.SnapshotMaxAge = d } }

func TestSnapshotCoalescesConcurrentReads(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, april(emulator.Options{}))
	for range 100 {
		emu.Seed(emulator.SeedKey{Name: "k"})
	}
	// A slow list keeps the first request in flight while the others arrive.
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Latency: 200 * time.Millisecond})
	c := newTestClient(t, emu.URL(), func(cfg *Config) { cfg.Token = emu.AdminToken() })

	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := c.Snapshot(context.Background())
			if err == nil && len(s.Tokens) != 100 {
				err = errors.New("wrong number of keys")
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := emu.RequestCount(emulator.EndpointList); n != 1 {
		t.Fatalf("1000 concurrent reads made %d list requests, want 1", n)
	}
}

func TestSnapshotSeesOwnMintsAndRevocations(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, april(emulator.Options{}))
	c := newTestClient(t, emu.URL(), func(cfg *Config) { cfg.Token = emu.AdminToken() })
	ctx := context.Background()

	if s, err := c.Snapshot(ctx); err != nil || len(s.Tokens) != 0 {
		t.Fatalf("empty org: %v, %v", s, err)
	}
	m, err := c.mint(ctx, "fresh", MintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup(m.ID); !ok {
		t.Fatal("a read after this process's mint does not see the new key")
	}
	if err := c.Revoke(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if s, _ = c.Snapshot(ctx); len(s.Tokens) != 0 {
		t.Fatal("a read after this process's revocation still sees the key")
	}
	if n := emu.RequestCount(emulator.EndpointList); n != 3 {
		t.Fatalf("want 3 list requests (one per change), got %d", n)
	}
	if s2, _ := c.Snapshot(ctx); s2 != s || emu.RequestCount(emulator.EndpointList) != 3 {
		t.Fatal("an unchanged process must reuse its snapshot")
	}
}

func TestSnapshotFreshnessBound(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, april(emulator.Options{}))
	k, _ := emu.Seed(emulator.SeedKey{Name: "revoked-in-canvas"})
	clock := clocktest.New(time.Now())
	c := newTestClient(t, emu.URL(), func(cfg *Config) { cfg.Token = emu.AdminToken() }, withClock(clock), withMaxAge(time.Minute))
	ctx := context.Background()

	if s, _ := c.Snapshot(ctx); len(s.Tokens) != 1 {
		t.Fatal("seeded key not listed")
	}
	emu.Revoke(k.ID) // someone else, outside this process
	clock.Advance(59 * time.Second)
	if s, _ := c.Snapshot(ctx); len(s.Tokens) != 1 {
		t.Fatal("within the bound the snapshot is reused")
	}
	clock.Advance(2 * time.Second)
	s, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup(k.ID); ok {
		t.Fatal("an out-of-band revocation is not seen after the freshness bound")
	}
	if n := emu.RequestCount(emulator.EndpointList); n != 2 {
		t.Fatalf("want 2 list requests, got %d", n)
	}
}

// A list already in flight when this process mints must not be served afterwards: it may
// predate the new key.
func TestSnapshotInFlightListDoesNotHideOwnMint(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, april(emulator.Options{}))
	c := newTestClient(t, emu.URL(), func(cfg *Config) { cfg.Token = emu.AdminToken() })
	ctx := context.Background()
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Latency: 300 * time.Millisecond})

	early := make(chan *Snapshot, 1)
	go func() {
		s, _ := c.Snapshot(ctx)
		early <- s
	}()
	for emu.RequestCount(emulator.EndpointList) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	m, err := c.mint(ctx, "during", MintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Lookup(m.ID); !ok {
		t.Fatal("a read after the mint was served a list that started before it")
	}
	if s := <-early; s == nil {
		t.Fatal("the early read failed")
	}
}

func TestSnapshotCancelledWaiterDoesNotBreakOthers(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, april(emulator.Options{}))
	emu.Seed(emulator.SeedKey{Name: "k"})
	c := newTestClient(t, emu.URL(), func(cfg *Config) { cfg.Token = emu.AdminToken() })
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Latency: 200 * time.Millisecond})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Snapshot(ctx)
		done <- err
	}()
	patient := make(chan *Snapshot, 1)
	go func() {
		s, _ := c.Snapshot(context.Background())
		patient <- s
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled reader must return at once with its cancellation, got %v", err)
	}
	if s := <-patient; s == nil || len(s.Tokens) != 1 {
		t.Fatal("another reader waiting on the same request must still get the list")
	}

	// With every reader gone, the shared request is abandoned and a later read starts afresh.
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Latency: time.Minute})
	c.cache.changed()
	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel2() }()
	if _, err := c.Snapshot(ctx2); !errors.Is(err, context.Canceled) {
		t.Fatalf("want cancellation, got %v", err)
	}
	if s, err := c.Snapshot(context.Background()); err != nil || len(s.Tokens) != 1 {
		t.Fatalf("a read after an abandoned request must work: %v", err)
	}
}
