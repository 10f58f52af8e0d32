// Package emulator is a local stand-in for the Molecule org token API described in API.md.
// It answers as the service is deployed by default, limits included, and in the published
// guide's shape when asked (Options.Dialect).
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
	"encoding/binary"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Endpoints, as counted by RequestCount and matched by Fault.Endpoint.
const (
	EndpointMint   = "mint"   // POST /org/tokens
	EndpointList   = "list"   // GET /org/tokens
	EndpointRevoke = "revoke" // DELETE /org/tokens/{id}
	// EndpointApprovals reads approvals: GET /approvals/pending, GET /workspaces/{ws}/approvals.
	EndpointApprovals = "approvals"
	// EndpointDecide is a person's decision: POST /workspaces/{ws}/approvals/{id}/decide.
	EndpointDecide = "decide"
	EndpointOther  = "other" // anything else
)

// Dialect selects which of API.md's two response shapes the emulator serves.
type Dialect string

const (
	// DialectDeployed is the service as deployed: UUID ids, base64url keys, 200 mint with
	// auth_token, 200 revoke, {"count","tokens"} newest first. The default ("" means this).
	DialectDeployed Dialect = "deployed"
	// DialectGuide is the published guide's shape: tok_ ids, mola_ keys, 201 mint with key,
	// 204 revoke, {"tokens"} in no particular order (a fresh random one per list).
	DialectGuide Dialect = "guide"
)

// Options configures a Server.
type Options struct {
	// AdminToken is the deployment's ADMIN_TOKEN; "" generates a random one (see AdminToken).
	AdminToken string
	// OrgKey is the plaintext of the org key anchored to the organization that OrgKey seeds
	// on first use; "" generates a random one.
	OrgKey string
	// Now is the clock; nil means time.Now. It also times the rate-limit windows. Times are kept
	// in UTC at the precision the API reports (microseconds deployed, seconds in the guide), so
	// what the Go API returns equals what a client reads over HTTP.
	Now func() time.Time
	// StatePath, when set, is loaded by New and rewritten atomically after every mutation, so a
	// restarted emulator loses nothing. "" keeps everything in memory.
	StatePath string

	// Dialect is the response shape served; "" is DialectDeployed.
	Dialect Dialect
	// Build is the server build whose behaviour is followed where builds differ; "" is the
	// newest, BuildJune2026.
	Build Build
	// TenantOrgID, when set, makes the emulator a hosted organization's tenant server: it
	// answers only requests whose X-Molecule-Org-Id is this id (see TenantGuard).
	TenantOrgID string
	// MintLimit limits POST /org/tokens per caller: per X-Molecule-Org-Id, else credential,
	// else client address (BuildApril2026: per client address). The zero value is the service's
	// 10 per hour; NoLimit disables it.
	MintLimit Limit
	// RequestLimit limits every API request per caller, keyed as MintLimit. The zero value is
	// the service's 600 per minute; NoLimit disables it.
	RequestLimit Limit
	// ListCap is the most live keys GET /org/tokens returns, keeping the newest: 0 is the
	// service's 500, a negative value lists everything.
	ListCap int
	// PlatformWorkspaceID is the deployment's platform (org root) workspace, the server's
	// MOLECULE_PLATFORM_WORKSPACE_ID: ADMIN_TOKEN mints wait there for a person's approval
	// (202), and approvals of them are listed under it. "" generates one, as a hosted
	// deployment has one. BuildApril2026 gates nothing.
	PlatformWorkspaceID string
	// NoPlatformWorkspace is a stock self-hosted deployment without one: every ADMIN_TOKEN
	// mint is refused (400, no approval anchor).
	NoPlatformWorkspace bool
	// ApprovalGate gates anchored org keys' mints too (MOLECULE_PLATFORM_APPROVAL_GATE=1).
	ApprovalGate bool
	// MintCeiling is the most live, unexpired keys one organization's org keys may hold
	// (ORG_TOKEN_MINT_CEILING): 0 is the service's 100, a negative value none. Keys minted with
	// ADMIN_TOKEN belong to no organization and never count. BuildApril2026 has none.
	MintCeiling int
	// ListOrder is the randomness behind the guide dialect's list order, which the guide leaves
	// unspecified; nil is a randomly seeded source. A test passes a seeded source, such as
	// rand.NewPCG(1, 2) from math/rand/v2, for a repeatable order. The deployed dialect lists
	// newest first, as the service does, and ignores it.
	ListOrder mrand.Source
}

// defaultListCap is the service's listMax.
const defaultListCap = 500

// defaultMintCeiling is the service's ORG_TOKEN_MINT_CEILING default.
const defaultMintCeiling = 100

// Key is a key's metadata as the emulator sees it. The plaintext is never part of it.
type Key struct {
	ID, Name, CreatedBy string
	// OrgID anchors the key to an organization (the server's org workspace): keys minted by an
	// anchored key inherit it, and only anchored keys can mint on June 2026 builds. "" for
	// keys minted with ADMIN_TOKEN or in Canvas.
	OrgID string
	// ExpiresAt is when the key stops authenticating; nil when it never expires.
	ExpiresAt *time.Time
	// Prefix is the first 8 characters of the plaintext. The deployed API shows it; the
	// guide's shape has no such field, but it is kept in both dialects.
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// SeedKey describes a key created out of band by Seed.
type SeedKey struct {
	Name       string
	CreatedBy  string    // "" => "admin-token"
	CreatedAt  time.Time // zero => now
	LastUsedAt *time.Time
	OrgID      string     // the organization it is anchored to; "" => none
	ExpiresAt  *time.Time // nil => never expires
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
	id, name, createdBy, prefix string
	orgID                       string // "" => unanchored
	hash                        [sha256.Size]byte
	createdAt                   time.Time
	lastUsedAt                  time.Time // zero => never used
	revokedAt                   time.Time // zero => live
	expiresAt                   time.Time // zero => never expires
}

// live reports whether the key is not revoked. An expired key is still live: the service lists
// it, and revoking it succeeds, though it no longer authenticates (see expired).
func (r *record) live() bool { return r.revokedAt.IsZero() }

// expired reports whether the key's expiry has passed at now.
func (r *record) expired(now time.Time) bool {
	return !r.expiresAt.IsZero() && !now.Before(r.expiresAt)
}

func (r *record) export() Key {
	k := Key{ID: r.id, Name: r.name, CreatedBy: r.createdBy, OrgID: r.orgID, Prefix: r.prefix, CreatedAt: r.createdAt}
	k.LastUsedAt = timePtr(r.lastUsedAt)
	k.RevokedAt = timePtr(r.revokedAt)
	k.ExpiresAt = timePtr(r.expiresAt)
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
	adminToken  string
	clock       func() time.Time
	statePath   string
	handler     http.Handler
	routed      http.Handler // the API behind the tenant guard, if any
	dialect     Dialect
	build       Build
	precision   time.Duration // of every stored time, as the dialect reports it
	listCap     int           // < 0 => no cap
	platformWS  string        // "" => ADMIN_TOKEN mints have no approval anchor
	orgWS       string        // the organization's workspace, which OrgKey is anchored to
	orgKey      string        // OrgKey's plaintext, seeded on first use
	orgKeyID    string
	orgKeyOnce  sync.Once
	gateOrgKeys bool
	ceiling     int         // <= 0 => none
	listOrder   *mrand.Rand // the guide's list order; used under mu, as a Rand is not safe for concurrent use

	// The service's own per-address limits, separate from the harness rate limit below.
	mintLimit    *limiter
	requestLimit *limiter

	// baseCtx ends artificial waits (latency, faults) when the server closes.
	baseCtx context.Context
	cancel  context.CancelFunc

	mu       sync.Mutex
	keys     map[string]*record            // by id, including revoked keys
	byHash   map[[sha256.Size]byte]*record // live keys only, so auth is one lookup
	sessions map[[sha256.Size]byte]string  // session token hash => user id
	order    []*record                     // every key, sorted by less
	live     []*record                     // live keys, sorted by less, so listing is O(listed)
	events   []Event
	// approvals are the approval gate's requests, oldest first; kept in memory only.
	approvals []*approvalRecord
	ids       idGenerator
	counts    map[string]int
	faults    []Fault
	rate      RateLimit
	window    time.Time // start of the current rate-limit window
	inWindow  int
	latency   time.Duration
	version   uint64 // bumped by every mutation; orders state-file writes

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
		adminToken:   opts.AdminToken,
		clock:        opts.Now,
		statePath:    opts.StatePath,
		dialect:      opts.Dialect,
		listCap:      opts.ListCap,
		platformWS:   opts.PlatformWorkspaceID,
		orgKey:       opts.OrgKey,
		gateOrgKeys:  opts.ApprovalGate,
		ceiling:      opts.MintCeiling,
		mintLimit:    newLimiter(opts.MintLimit, defaultMintLimit),
		requestLimit: newLimiter(opts.RequestLimit, defaultRequestLimit),
		keys:         map[string]*record{},
		byHash:       map[[sha256.Size]byte]*record{},
		sessions:     map[[sha256.Size]byte]string{},
		counts:       map[string]int{},
	}
	switch opts.Build {
	case "", BuildJune2026:
		s.build = BuildJune2026
	case BuildApril2026:
		s.build = BuildApril2026
	default:
		return nil, fmt.Errorf("emulator: unknown build %q (want %q or %q)", opts.Build, BuildJune2026, BuildApril2026)
	}
	switch s.dialect {
	case "", DialectDeployed:
		s.dialect, s.precision = DialectDeployed, time.Microsecond
	case DialectGuide:
		s.precision = time.Second
	default:
		return nil, fmt.Errorf("emulator: unknown dialect %q (want %q or %q)", opts.Dialect, DialectDeployed, DialectGuide)
	}
	if s.listCap == 0 {
		s.listCap = defaultListCap
	}
	if s.ceiling == 0 {
		s.ceiling = defaultMintCeiling
	}
	switch {
	case opts.NoPlatformWorkspace:
		s.platformWS = ""
	case s.platformWS == "":
		s.platformWS = newUUID()
	}
	s.orgWS = s.platformWS
	if s.orgWS == "" {
		s.orgWS = newUUID()
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	src := opts.ListOrder
	if src == nil {
		var seed [16]byte
		_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails; it aborts the program instead
		src = mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))
	}
	s.listOrder = mrand.New(src) //nolint:gosec // G404: it orders lists for tests and guards no secret
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
	s.routed = TenantGuard(opts.TenantOrgID, s.build, http.HandlerFunc(s.serveRouted))
	return s, nil
}

// TB is the part of testing.TB that StartFor uses, so that the emulator need not link package
// testing.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// StartFor starts a fresh emulator on a random loopback port for a test, fails it when the
// emulator cannot start, and closes the emulator when the test ends, failing the test if its
// state could not be persisted. Other packages call it through emulatortest.New.
func StartFor(tb TB, opts Options) *Server {
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

// Dialect returns the response shape the server speaks.
func (s *Server) Dialect() Dialect { return s.dialect }

// Build returns the server build the emulator follows.
func (s *Server) Build() Build { return s.build }

// PlatformWorkspaceID returns the platform workspace ADMIN_TOKEN mints are approved in, "" when
// the deployment has none (Options.NoPlatformWorkspace).
func (s *Server) PlatformWorkspaceID() string { return s.platformWS }

// OrganizationID returns the organization's workspace, which OrgKey and the keys it mints are
// anchored to (org_id): the platform workspace, or another one when the deployment has none.
func (s *Server) OrganizationID() string { return s.orgWS }

// AddSession registers a Canvas session token, sent as a bearer credential. Keys it mints are
// created by "session" (deployed: the service records no user) or "session:<userID>" (guide).
func (s *Server) AddSession(token, userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sessions[sha256.Sum256([]byte(token))] = userID
}

// now is the clock in UTC at the precision the API reports.
func (s *Server) now() time.Time { return s.apiTime(s.clock()) }

func (s *Server) apiTime(t time.Time) time.Time { return t.UTC().Truncate(s.precision) }

// LiveKeys returns every live key, uncapped, sorted by creation time, then id (oldest first,
// whatever order the dialect lists in).
func (s *Server) LiveKeys() []Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Key, 0, len(s.live))
	for _, r := range s.live {
		out = append(out, r.export())
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
	r, plaintext := s.createLocked(k.Name, createdBy, k.OrgID, createdAt, k.ExpiresAt)
	if k.LastUsedAt != nil {
		r.lastUsedAt = s.apiTime(*k.LastUsedAt)
	}
	key := r.export()
	snap := s.commitLocked()
	s.mu.Unlock()
	s.persistQuietly(snap)
	return key, plaintext
}

// OrgKey returns the plaintext of an org key anchored to the organization (to its platform
// workspace, or, on a deployment without one, to another workspace of the organization), the
// credential that mints without approval on June 2026 builds, as the hosted service issues one.
// It is seeded on first use, named "emulator-org-key", with no created_by (the service made it,
// not a credential), unless a live key with that plaintext exists already (a restart from a state
// file with Options.OrgKey).
func (s *Server) OrgKey() string {
	s.orgKeyOnce.Do(func() {
		if s.orgKey == "" {
			s.orgKey = newDeployedKey()
		}
		s.mu.Lock()
		var snap *stateSnapshot
		r, ok := s.byHash[sha256.Sum256([]byte(s.orgKey))]
		if !ok {
			r = s.createWithPlaintextLocked("emulator-org-key", "", s.orgWS, s.clock(), nil, s.orgKey)
			snap = s.commitLocked()
		}
		s.orgKeyID = r.id
		s.mu.Unlock()
		s.persistQuietly(snap)
	})
	return s.orgKey
}

// OrgKeyID returns the id of the key OrgKey returns, "" while OrgKey was never called.
func (s *Server) OrgKeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.orgKeyID
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
		r.lastUsedAt = s.apiTime(at)
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
func (s *Server) createLocked(name, createdBy, orgID string, createdAt time.Time, expiresAt *time.Time) (*record, string) {
	plaintext := newPlaintextKey()
	if s.dialect == DialectDeployed {
		plaintext = newDeployedKey()
	}
	return s.createWithPlaintextLocked(name, createdBy, orgID, createdAt, expiresAt, plaintext), plaintext
}

// createWithPlaintextLocked stores a new live key with the given plaintext.
func (s *Server) createWithPlaintextLocked(name, createdBy, orgID string, createdAt time.Time, expiresAt *time.Time, plaintext string) *record {
	newID := s.ids.next
	if s.dialect == DialectDeployed {
		newID = func(time.Time) string { return newUUID() }
	}
	id := newID(createdAt)
	for s.keys[id] != nil {
		id = newID(createdAt)
	}
	r := &record{
		id:        id,
		name:      name,
		createdBy: createdBy,
		prefix:    plaintext[:keyPrefixLen],
		hash:      sha256.Sum256([]byte(plaintext)),
		createdAt: s.apiTime(createdAt),
		orgID:     orgID,
	}
	if expiresAt != nil {
		// Postgres rounds what it is given to the microsecond.
		r.expiresAt = s.apiTime(expiresAt.Round(s.precision))
	}
	s.keys[id] = r
	s.byHash[r.hash] = r
	s.order = insertSorted(s.order, r)
	s.live = insertSorted(s.live, r)
	s.addEventLocked(eventMint, r)
	return r
}

func (s *Server) revokeLocked(id string) bool {
	r, ok := s.keys[id]
	if !ok || !r.live() {
		return false
	}
	r.revokedAt = s.now()
	delete(s.byHash, r.hash)
	s.live = removeSorted(s.live, r)
	s.addEventLocked(eventRevoke, r)
	return true
}

// searchSorted returns where r belongs in list, which is sorted by less.
func searchSorted(list []*record, r *record) int {
	lo, hi := 0, len(list)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if list[mid].less(r) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// insertSorted keeps list sorted. Mints arrive in clock order, so the search almost always lands
// at the end and the copy is empty.
func insertSorted(list []*record, r *record) []*record {
	i := searchSorted(list, r)
	list = append(list, nil)
	copy(list[i+1:], list[i:])
	list[i] = r
	return list
}

// removeSorted drops r from list; ids are unique, so r sits exactly where the search lands.
func removeSorted(list []*record, r *record) []*record {
	if i := searchSorted(list, r); i < len(list) && list[i] == r {
		return append(list[:i], list[i+1:]...)
	}
	return list
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
