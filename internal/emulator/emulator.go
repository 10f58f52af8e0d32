// Package emulator is a local stand-in for the Molecule org token API described in API.md.
//
// It serves the documented endpoints over HTTP for tests, demos and benchmarks, and adds an
// out-of-band Go API to inspect and manipulate the organization (seed keys, revoke them "from
// Canvas", inject faults, count requests) without going through HTTP. It never imports the
// provider's client, so the two cannot quietly agree on a misreading of the contract.
package emulator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Endpoints, as counted by RequestCount and matched by Fault.Endpoint.
const (
	EndpointMint   = "mint"   // POST /org/tokens
	EndpointList   = "list"   // GET /org/tokens
	EndpointRevoke = "revoke" // DELETE /org/tokens/{id}
	EndpointOther  = "other"  // anything else
)

// Options configures a Server.
type Options struct {
	// AdminToken is the deployment's ADMIN_TOKEN; "" generates a random one (see AdminToken).
	AdminToken string
	// Now is the clock; nil means time.Now. Times are kept in UTC at second precision, as the
	// API reports them, so what the Go API returns equals what a client reads over HTTP.
	Now func() time.Time
	// StatePath, when set, is loaded by New and rewritten atomically after every mutation, so a
	// restarted emulator loses nothing. "" keeps everything in memory.
	StatePath string
}

// Key is a key's metadata as the emulator sees it. The plaintext is never part of it.
type Key struct {
	ID, Name, CreatedBy string
	CreatedAt           time.Time
	LastUsedAt          *time.Time
	RevokedAt           *time.Time
}

// SeedKey describes a key created out of band by Seed.
type SeedKey struct {
	Name       string
	CreatedBy  string    // "" => "admin-token"
	CreatedAt  time.Time // zero => now
	LastUsedAt *time.Time
}

// Event is one entry of the mint/revoke timeline.
type Event struct {
	Seq      int
	At       time.Time
	Type     string // "mint" | "revoke"
	ID, Name string
}

const (
	eventMint   = "mint"
	eventRevoke = "revoke"

	createdByAdmin = "admin-token"
)

// record is the stored form of a key: the plaintext is reduced to its SHA-256 before the mint
// response is written.
type record struct {
	id, name, createdBy string
	hash                [sha256.Size]byte
	createdAt           time.Time
	lastUsedAt          time.Time // zero => never used
	revokedAt           time.Time // zero => live
}

func (r *record) live() bool { return r.revokedAt.IsZero() }

func (r *record) export() Key {
	k := Key{ID: r.id, Name: r.name, CreatedBy: r.createdBy, CreatedAt: r.createdAt}
	k.LastUsedAt = timePtr(r.lastUsedAt)
	k.RevokedAt = timePtr(r.revokedAt)
	return k
}

// less orders keys by creation time, then id, which is the order every listing uses.
func (r *record) less(o *record) bool {
	if !r.createdAt.Equal(o.createdAt) {
		return r.createdAt.Before(o.createdAt)
	}
	return r.id < o.id
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Server is one emulated organization. All methods are safe for concurrent use.
type Server struct {
	adminToken string
	clock      func() time.Time
	statePath  string
	handler    http.Handler

	// baseCtx ends artificial waits (latency, faults) when the server closes.
	baseCtx context.Context
	cancel  context.CancelFunc

	mu       sync.Mutex
	keys     map[string]*record            // by id, including revoked keys
	byHash   map[[sha256.Size]byte]*record // live keys only, so auth is one lookup
	sessions map[[sha256.Size]byte]string  // session token hash => user id
	order    []*record                     // every key, sorted by less, so listing is O(n)
	events   []Event
	ids      idGenerator
	counts   map[string]int
	faults   []Fault
	rate     RateLimit
	window   time.Time // start of the current rate-limit window
	inWindow int
	latency  time.Duration
	version  uint64 // bumped by every mutation; orders state-file writes

	persistMu sync.Mutex
	persisted uint64

	lifeMu  sync.Mutex
	httpSrv *http.Server
	url     string
	started bool
	closed  bool
}

// New builds a server without listening; use Start, NewTestServer or Handler.
func New(opts Options) (*Server, error) {
	s := &Server{
		adminToken: opts.AdminToken,
		clock:      opts.Now,
		statePath:  opts.StatePath,
		keys:       map[string]*record{},
		byHash:     map[[sha256.Size]byte]*record{},
		sessions:   map[[sha256.Size]byte]string{},
		counts:     map[string]int{},
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.adminToken == "" {
		var b [20]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it aborts the program instead
		s.adminToken = "emuadmin_" + hex.EncodeToString(b[:])
	}
	if s.statePath != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
		// Writing once now surfaces an unwritable path at startup rather than at the first mint.
		if err := s.writeState(s.snapshot()); err != nil {
			return nil, err
		}
	}
	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	s.handler = http.HandlerFunc(s.serveHTTP)
	return s, nil
}

// NewTestServer starts a fresh emulator on a random loopback port and closes it when the test
// ends.
func NewTestServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("emulator: %v", err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		tb.Fatalf("emulator: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("emulator: %v", err)
		}
	})
	return s
}

// AdminToken returns the admin credential, generated by New when Options.AdminToken was empty.
func (s *Server) AdminToken() string { return s.adminToken }

// AddSession registers a Canvas session token; keys it mints are created by "session:<userID>".
func (s *Server) AddSession(token, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[sha256.Sum256([]byte(token))] = userID
}

// now is the clock in UTC at the precision the API reports.
func (s *Server) now() time.Time { return toAPITime(s.clock()) }

func toAPITime(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// LiveKeys returns the live keys sorted by creation time, then id.
func (s *Server) LiveKeys() []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Key, 0, len(s.byHash))
	for _, r := range s.order {
		if r.live() {
			out = append(out, r.export())
		}
	}
	return out
}

// AllKeys returns every key ever created, revoked ones included, in LiveKeys order.
func (s *Server) AllKeys() []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Key, 0, len(s.order))
	for _, r := range s.order {
		out = append(out, r.export())
	}
	return out
}

// Key returns one key's metadata, revoked or not.
func (s *Server) Key(id string) (Key, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.keys[id]
	if !ok {
		return Key{}, false
	}
	return r.export(), true
}

// KeyBySHA256 returns the metadata of the key, revoked or not, whose plaintext has the given
// SHA-256 digest in hex (as Terraform's sha256() prints it). Tests use it to identify a key they
// may only see as a digest, because its plaintext must never be written anywhere.
func (s *Server) KeyBySHA256(hexDigest string) (Key, bool) {
	sum, err := hex.DecodeString(hexDigest)
	if err != nil || len(sum) != sha256.Size {
		return Key{}, false
	}
	want := [sha256.Size]byte(sum)
	s.mu.Lock()
	defer s.mu.Unlock()
	// byHash holds live keys only; a revoked key is still worth finding.
	for _, r := range s.order {
		if r.hash == want {
			return r.export(), true
		}
	}
	return Key{}, false
}

// IsLive reports whether id names a key that exists and is not revoked.
func (s *Server) IsLive(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.keys[id]
	return ok && r.live()
}

// Seed creates a live key as if minted elsewhere (Canvas, another tool) and returns its metadata
// and plaintext. The name is not validated, so tests can plant keys the API would refuse.
func (s *Server) Seed(k SeedKey) (Key, string) {
	s.mu.Lock()
	createdAt := k.CreatedAt
	if createdAt.IsZero() {
		createdAt = s.clock()
	}
	createdBy := k.CreatedBy
	if createdBy == "" {
		createdBy = createdByAdmin
	}
	r, plaintext := s.createLocked(k.Name, createdBy, createdAt)
	if k.LastUsedAt != nil {
		r.lastUsedAt = toAPITime(*k.LastUsedAt)
	}
	key := r.export()
	snap := s.commitLocked()
	s.mu.Unlock()
	s.persistQuietly(snap)
	return key, plaintext
}

// Revoke revokes a key out of band, as a user in Canvas would. It reports false when the id is
// unknown or already revoked.
func (s *Server) Revoke(id string) bool {
	s.mu.Lock()
	ok := s.revokeLocked(id)
	var snap *stateSnapshot
	if ok {
		snap = s.commitLocked()
	}
	s.mu.Unlock()
	if ok {
		s.persistQuietly(snap)
	}
	return ok
}

// Touch sets a key's last_used_at, modelling use of the key outside Terraform. Unknown ids are
// ignored.
func (s *Server) Touch(id string, at time.Time) {
	s.mu.Lock()
	r, ok := s.keys[id]
	var snap *stateSnapshot
	if ok {
		r.lastUsedAt = toAPITime(at)
		snap = s.commitLocked()
	}
	s.mu.Unlock()
	if ok {
		s.persistQuietly(snap)
	}
}

// Events returns the mint/revoke timeline, Seq strictly increasing. Seeded keys appear as mints
// and out-of-band revocations as revokes.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// createLocked stores a new live key and returns it with its plaintext, which is not kept.
func (s *Server) createLocked(name, createdBy string, createdAt time.Time) (*record, string) {
	plaintext := newPlaintextKey()
	id := s.ids.next(createdAt)
	for s.keys[id] != nil {
		id = s.ids.next(createdAt)
	}
	r := &record{
		id:        id,
		name:      name,
		createdBy: createdBy,
		hash:      sha256.Sum256([]byte(plaintext)),
		createdAt: toAPITime(createdAt),
	}
	s.keys[id] = r
	s.byHash[r.hash] = r
	s.insertOrderedLocked(r)
	s.addEventLocked(eventMint, r)
	return r, plaintext
}

func (s *Server) revokeLocked(id string) bool {
	r, ok := s.keys[id]
	if !ok || !r.live() {
		return false
	}
	r.revokedAt = s.now()
	delete(s.byHash, r.hash)
	s.addEventLocked(eventRevoke, r)
	return true
}

// insertOrderedLocked keeps s.order sorted. Mints arrive in clock order, so the search almost
// always lands at the end and the copy is empty.
func (s *Server) insertOrderedLocked(r *record) {
	lo, hi := 0, len(s.order)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if s.order[mid].less(r) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	s.order = append(s.order, nil)
	copy(s.order[lo+1:], s.order[lo:])
	s.order[lo] = r
}

func (s *Server) addEventLocked(typ string, r *record) {
	s.events = append(s.events, Event{Seq: len(s.events) + 1, At: s.now(), Type: typ, ID: r.id, Name: r.name})
}

// touchLocked records use of a key by an authenticated request.
func (s *Server) touchLocked(r *record) {
	r.lastUsedAt = s.now()
}

// persistQuietly writes state for out-of-band mutations, which have no error to return; Close
// writes the final state again and reports a failure then.
func (s *Server) persistQuietly(snap *stateSnapshot) {
	_ = s.persist(snap)
}
