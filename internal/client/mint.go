package client

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// The way of one key, top to bottom: MintReconciled → mint → (on an unknown outcome) look for the
// lost key over a bounded window → revoke candidates → mint once more → describe the key.

const (
	// MinLateCommitGrace is the shortest grace window: how long the keys are listed after a
	// lost answer is the request timeout, at least this and at most MaxLateCommitGrace.
	MinLateCommitGrace = 2 * time.Second
	// MaxLateCommitGrace is the longest grace window.
	MaxLateCommitGrace = 10 * time.Second
	// recheckLists is how many times the keys are listed over the grace window after a lost
	// answer, besides the list right after it.
	recheckLists = 3
	// cleanupTimeout bounds reconciliation after the caller's context was cancelled (Ctrl-C):
	// long enough to list and revoke, short enough not to hold up Terraform's exit.
	cleanupTimeout = 10 * time.Second
	// clockSkew widens the window in which a key may have come from a lost mint when the
	// service's clock is unknown (no answer carried a Date header): created_at is the service's
	// clock and the attempt's send time is ours.
	clockSkew = time.Minute
	// dateMargin widens the window when the service's clock is estimated from its Date header:
	// the database that stamps created_at, or a proxy that stamps Date, may keep another time.
	dateMargin = 2 * time.Second
	// describeLinger bounds how long a minted key waits for the other creates in flight to
	// share the list that describes them (creates). At a thousand keys Terraform takes longer
	// than a quarter of a second to start the next creates of a wave, which then split; a full
	// wave never waits this long, and an apply's last, smaller wave waits it once.
	describeLinger = time.Second
)

// MintReconciled mints a key and guarantees that no key is left live and unknown behind it, as
// far as the lists over the grace window can see; it returns the key and the ids of the keys it
// revoked as a lost mint's.
//
// When a mint's outcome is unknown (a timeout, a dropped connection or a 5xx after the request
// was sent), the key it may have created has a secret nobody holds. The keys are listed, and
// those that attempt may have created are revoked (reconcilePass says which), then the mint is
// tried once more; the keys are listed again over the grace window, as the service may commit a
// request after its client gave up. After a cancellation it still cleans up, for at most
// cleanupTimeout, but does not mint again. A mint that waits for a person's approval (202) is no
// lost answer: it returns *ApprovalPendingError, or with opts.ApprovalWait watches the approval
// and, once approved, mints once more. A key costs at most two mint requests.
//
// The deployed service's mint response has no created_by or created_at: they are then taken
// from a list that starts after the mint, shared with the other creates in flight
// (MintedToken.MetadataErr says when that failed).
func (c *Client) MintReconciled(ctx context.Context, name string, opts MintOptions) (*MintedToken, []string, error) {
	if err := ValidateName(name); err != nil {
		return nil, nil, err
	}
	defer c.creates.enter()()
	m, revoked, err := c.mintAndReconcile(ctx, name, opts)
	if err == nil {
		c.describe(ctx, m)
	}
	return m, revoked, err
}

// mintAndReconcile holds name's lock, so that no sibling mint of the same name is in flight in
// this process while a lost answer is reconciled, and every key it made is already known.
func (c *Client) mintAndReconcile(ctx context.Context, name string, opts MintOptions) (*MintedToken, []string, error) {
	unlock := c.rec.lock(name)
	defer unlock()
	if err := c.ensureBaseline(ctx); err != nil {
		return nil, nil, fmt.Errorf("listing keys before minting, so that a lost response can be reconciled: %w", err)
	}

	m, err := c.mint(ctx, name, opts)
	requests := 1
	var pending *ApprovalPendingError
	if errors.As(err, &pending) && opts.ApprovalWait > 0 {
		// Nothing was minted. Once a person approves, the same mint uses the approval up.
		if err := c.awaitApproval(ctx, pending, opts.ApprovalWait); err != nil {
			return nil, nil, err
		}
		m, err = c.mint(ctx, name, opts)
		requests++
		if err == nil {
			m.ApprovalID = pending.ApprovalID
		}
	}
	var unknown *outcomeUnknownError
	if !errors.As(err, &unknown) {
		return m, nil, err
	}

	// The answer was lost. Look for the key it may have made, and revoke it; only when every
	// such key is accounted for, and a request is left, mint once more.
	lost := c.newLostMint(ctx, name, unknown)
	defer lost.stop()
	c.answerLost(lost, unknown, requests)
	m, err = nil, nil
	abandoned := true
	if c.reconcilePass(lost) == nil && requests == 1 && ctx.Err() == nil {
		m, err = c.mint(ctx, name, opts)
		if errors.As(err, &unknown) {
			c.answerLost(lost, unknown, requests+1)
			// A pass that fails is not the end: the lists over the grace window try again.
			_ = c.reconcilePass(lost)
			m, err = nil, nil
		} else {
			abandoned = false
		}
	}
	// The service may commit a lost request after the client gave up on it.
	rerr := c.awaitLateCommits(lost)
	switch {
	case m != nil && rerr != nil:
		// The key in hand is live and only this caller has its secret: it must be returned.
		m.ReconcileErr = rerr
		c.warn(ctx, "Lost mint response not fully reconciled", map[string]any{"name": c.sanitize(name), "id": m.ID, "error": rerr.Error()})
		return m, lost.revoked, nil
	case m != nil:
		return m, lost.revoked, nil
	case rerr != nil && abandoned:
		return nil, lost.revoked, rerr
	case abandoned:
		return nil, lost.revoked, &MintAbandonedError{Name: name, Cause: lost.cause, Lists: lost.lists, Failed: lost.failed,
			Over: lost.over(), Since: lost.since, Revoked: c.sanitizeAll(lost.revoked)}
	case rerr != nil:
		return nil, lost.revoked, fmt.Errorf("%w; the mint was tried again and failed: %w", rerr, err)
	}
	return nil, lost.revoked, err
}

// mint sends one mint request and returns the key with its plaintext. It is re-sent only when the
// service cannot have created anything (429 other than the organization's ceiling, or a
// connection that was never established). A refusal (3xx, 4xx, 501) is an *APIError; a 202 is an
// *ApprovalPendingError (nothing was created: a person must approve it first); any other failure
// after sending is an *outcomeUnknownError, which only MintReconciled may resolve.
func (c *Client) mint(ctx context.Context, name string, opts MintOptions) (m *MintedToken, err error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	// Whatever the outcome, the shared snapshot may no longer match the service.
	defer func() {
		gen := c.cache.changed()
		if m != nil {
			m.gen = gen
		}
	}()
	req := struct {
		Name      string `json:"name"`
		ExpiresAt string `json:"expires_at,omitempty"`
	}{Name: name}
	if !opts.ExpiresAt.IsZero() {
		req.ExpiresAt = opts.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	k := c.newCall(http.MethodPost, tokensPath, false)
	// Only the last attempt can have created a key: earlier ones were refused (429) or never sent.
	unknown := func(cause error) error {
		return &outcomeUnknownError{Name: name, Started: k.start.UTC(), Cause: cause, sent: k.start}
	}
	resp, err := c.do(ctx, k, body)
	if err != nil {
		if k.mayHaveCommitted {
			return nil, unknown(err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusAccepted:
		pending, err := c.approvalPending(resp, k, name)
		if err != nil {
			return nil, unknown(err)
		}
		return nil, pending
	case refused(resp.StatusCode):
		return nil, c.failure(resp, k)
	default:
		return nil, unknown(c.failure(resp, k))
	}
	var w wireToken
	if err := c.decode(resp, k, maxSmallBody, &w, c.learnSecrets); err != nil {
		return nil, unknown(err)
	}
	plaintext := cmp.Or(w.AuthToken, w.Key)
	if w.ID == "" || plaintext == "" {
		return nil, unknown(fmt.Errorf("%s %s: cannot understand the response: it has no %q or no secret (%q or %q)",
			k.method, k.path, "id", "auth_token", "key"))
	}
	c.rec.remember(w.ID)
	m = &MintedToken{Token: w.token(), Key: plaintext, ExpiryIgnored: !opts.ExpiresAt.IsZero() && w.ExpiresAt == nil}
	m.Name = cmp.Or(m.Name, name)
	if m.Prefix == "" && len(plaintext) >= PrefixLength {
		m.Prefix = plaintext[:PrefixLength]
	}
	return m, nil
}

// lostMint is what MintReconciled knows about the attempts of one mint whose answers were lost,
// and what it has done to find the keys they may have created.
type lostMint struct {
	name      string
	clock     Clock
	ctx       context.Context // outlives the caller's cancellation by at most cleanupTimeout
	stop      func()
	caller    <-chan struct{} // the caller's context's Done
	cause     error           // the last lost answer's error
	sent      time.Time       // when the first lost attempt was sent, by this machine's clock
	firstLost time.Time       // when the first answer was lost
	lostAt    time.Time       // when the last answer was lost: the grace window runs from here
	lists     int             // lists that succeeded
	failed    int             // lists that failed
	lastList  time.Time
	since     time.Time // the window's start by the service's clock, as of the last list
	sinceHow  string
	revoked   []string

	mu        sync.Mutex
	cancelled time.Time // when the caller's context was cancelled; zero while it is not
}

func (c *Client) newLostMint(ctx context.Context, name string, unknown *outcomeUnknownError) *lostMint {
	l := &lostMint{name: name, clock: c.clock, caller: ctx.Done(), sent: cmp.Or(unknown.sent, unknown.Started), firstLost: c.clock.Now()}
	var cancel context.CancelFunc
	l.ctx, cancel = Outlive(ctx, cleanupTimeout)
	// The moment of a cancellation bounds the cleanup after it, so it is taken when it happens,
	// not when the cleanup next looks.
	unwatch := context.AfterFunc(ctx, l.markCancelled)
	l.stop = func() {
		unwatch()
		cancel()
	}
	return l
}

// answerLost records that mint request number attempt lost its answer: the grace window now runs
// from here.
func (c *Client) answerLost(l *lostMint, unknown *outcomeUnknownError, attempt int) {
	l.cause, l.lostAt = unknown.Cause, c.clock.Now()
	c.warn(l.ctx, "Mint outcome unknown; reconciling", map[string]any{
		"name": l.name, "attempt": attempt, "sent": formatWindowTime(unknown.Started), "grace_ms": c.grace.Milliseconds(),
	})
}

// reconcilePass lists the keys once and revokes those the lost mint may have created: same name,
// not live before this client's first mint, not minted by this client, created since the lost
// attempt was sent (read on the service's clock, estimated from its Date header; less a minute
// when it sent none), and not minted by another credential. Another run with the same credential
// minting the same name inside that window cannot be told apart: its key is revoked too.
func (c *Client) reconcilePass(l *lostMint) error {
	ctx, cancel := context.WithTimeout(l.ctx, cleanupTimeout)
	defer cancel()
	snap, err := c.list(ctx)
	l.lastList = c.clock.Now()
	if err != nil {
		l.failed++
		return l.unresolved(nil, fmt.Sprintf("listing keys to find out failed (%v)", err))
	}
	l.lists++
	l.since, l.sinceHow = c.serviceClock.earliest(l.sent)
	var candidates []Token
	own := c.ownAttributions(snap)
	for _, t := range snap.Tokens {
		if t.Name != l.name || c.rec.known(t.ID) || slices.Contains(l.revoked, t.ID) || t.CreatedAt.Before(l.since) {
			continue
		}
		// The service names the credential that minted a key: one minted by another credential
		// (a person in Canvas, another org key) cannot have come from this client's request.
		if t.CreatedBy != "" && !slices.Contains(own, t.CreatedBy) {
			c.debug(ctx, "Left alone a key of the same name minted by another credential", map[string]any{
				"id": c.sanitize(t.ID), "created_by": c.sanitize(t.CreatedBy)})
			continue
		}
		candidates = append(candidates, t)
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].ID < candidates[j].ID })

	var failed []string
	for _, t := range candidates {
		if err := c.Revoke(ctx, t.ID); err != nil && !IsKeyNotLive(err) {
			failed = append(failed, c.sanitize(t.ID))
			continue
		}
		l.revoked = append(l.revoked, t.ID)
		c.warn(ctx, "Revoked key left by a lost mint response", map[string]any{
			"id": c.sanitize(t.ID), "name": c.sanitize(t.Name), "created_at": formatWindowTime(t.CreatedAt),
			"window_start": formatWindowTime(l.since), "window_start_from": l.sinceHow,
			"checked": listedOver(l.lists, l.failed, l.over()), "caveat": sharedCredentialCaveat,
		})
	}
	if len(failed) > 0 {
		return l.unresolved(failed, "revoking the keys it may have created failed")
	}
	return nil
}

// awaitLateCommits lists the keys recheckLists more times, spread over the grace window after
// the last lost answer, and revokes new candidates. It always lists once more, whatever time
// went by since the last list (minting again), so the last list comes after both. A
// cancellation cuts the window short. A pass that fails does not end the window: every list
// shows all the keys made so far, and a key that could not be revoked is a candidate again, so
// only the last pass's failure is returned.
func (c *Client) awaitLateCommits(l *lostMint) error {
	var last error
	for i := 1; ; i++ {
		end := l.windowEnd(c.grace)
		at := minTime(l.lostAt.Add(c.grace*time.Duration(i)/recheckLists), end)
		final := i >= recheckLists || !at.Before(end)
		if !final && !c.clock.Now().Before(at) {
			continue // the time for this list went by while minting again
		}
		if !l.sleepUntil(at) {
			continue // cancelled while waiting: the window is cut, and the plan with it
		}
		last = c.reconcilePass(l)
		if final {
			break
		}
	}
	if last != nil {
		return last
	}
	revoked := c.sanitizeAll(l.revoked)
	if len(revoked) == 0 {
		revoked = []string{}
	}
	c.warn(l.ctx, "Reconciled a lost mint response", map[string]any{
		"name": c.sanitize(l.name), "checked": listedOver(l.lists, l.failed, l.over()), "window_start": formatWindowTime(l.since),
		"window_start_from": l.sinceHow, "revoked": revoked,
	})
	return nil
}

// windowEnd is when the grace window closes: grace after the last lost answer, or half the
// cleanup budget after a cancellation if that comes first, leaving the rest for the last list
// and its revocations.
func (l *lostMint) windowEnd(grace time.Duration) time.Time {
	end := l.lostAt.Add(grace)
	if cancelled := l.cancelledAt(); !cancelled.IsZero() {
		end = minTime(end, cancelled.Add(cleanupTimeout/2))
	}
	return end
}

// sleepUntil waits until t and reports true, or false as soon as the caller cancels. After a
// cancellation the (already shortened) window is waited out regardless.
func (l *lostMint) sleepUntil(t time.Time) bool {
	d := t.Sub(l.clock.Now())
	if d <= 0 {
		return true
	}
	cancel := l.caller
	if !l.cancelledAt().IsZero() {
		cancel = nil
	}
	select {
	case <-l.clock.After(d):
		return true
	case <-cancel:
		l.markCancelled()
		return false
	}
}

// markCancelled records the moment the caller's context was cancelled, once.
func (l *lostMint) markCancelled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancelled.IsZero() {
		l.cancelled = l.clock.Now()
	}
}

func (l *lostMint) cancelledAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cancelled
}

// over is how long after the first lost answer the last list was taken.
func (l *lostMint) over() time.Duration { return max(l.lastList.Sub(l.firstLost), 0) }

// unresolved is the error for candidates that could not be dealt with.
func (l *lostMint) unresolved(candidates []string, reason string) *UnresolvedMintError {
	return &UnresolvedMintError{Name: l.name, Candidates: candidates, Reason: reason, Cause: l.cause, Lists: l.lists, Failed: l.failed, Over: l.over()}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// describe fills in the metadata a mint response left out from a list that started after the
// mint. It never fails the mint: the key is live and its secret is in hand.
func (c *Client) describe(ctx context.Context, m *MintedToken) {
	if !m.CreatedAt.IsZero() && m.CreatedBy != "" {
		return
	}
	c.creates.await(ctx, c.clock)
	snap, err := c.snapshot(ctx, m.gen)
	if err != nil {
		m.MetadataErr = fmt.Errorf("listing keys to learn its created_at and created_by failed: %w", err)
		return
	}
	t, ok := snap.Lookup(m.ID)
	if !ok {
		m.MetadataErr = errors.New("the list of keys taken right after the mint did not include it, so its created_at and created_by are not known yet")
		return
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = t.CreatedAt
	}
	m.CreatedBy = cmp.Or(m.CreatedBy, t.CreatedBy)
	m.Prefix = cmp.Or(m.Prefix, t.Prefix)
	m.OrgID = cmp.Or(m.OrgID, t.OrgID)
	m.LastUsedAt = t.LastUsedAt
	if m.ExpiresAt == nil {
		m.ExpiresAt = t.ExpiresAt
	}
}

// creates counts the MintReconciled calls in progress, so that the keys they mint share the
// lists that describe them. Terraform runs -parallelism creates at once and starts the next as
// earlier ones return: a list started as soon as one key is minted would describe it alone. A
// wave of keys waits instead until as many wait as creates were ever in progress at once, which
// means every create in progress waits, or describeLinger after the first began to wait.
type creates struct {
	mu         sync.Mutex
	busy, peak int
	wave       *wave
}

// wave is the keys waiting for the next list; full is closed when the list may start.
type wave struct {
	n     int
	start time.Time
	full  chan struct{}
}

// enter counts a create in progress until the returned function is called.
func (w *creates) enter() func() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.busy++
	w.peak = max(w.peak, w.busy)
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.busy--
	}
}

// await joins the wave of keys waiting to be described and returns when its list may start.
func (w *creates) await(ctx context.Context, clock Clock) {
	w.mu.Lock()
	v := w.wave
	if v == nil {
		v = &wave{start: clock.Now(), full: make(chan struct{})}
		w.wave = v
	}
	v.n++
	if v.n >= w.peak {
		w.releaseLocked(v)
	}
	w.mu.Unlock()
	select {
	case <-v.full:
		return
	default:
	}
	select {
	case <-v.full:
	case <-clock.After(describeLinger - clock.Now().Sub(v.start)):
	case <-ctx.Done():
	}
	w.mu.Lock()
	w.releaseLocked(v)
	w.mu.Unlock()
}

func (w *creates) releaseLocked(v *wave) {
	if w.wave == v {
		w.wave = nil
		close(v.full)
	}
}

// reconciler is the per-client memory MintReconciled needs to tell a lost mint's key from every
// other key with the same name.
type reconciler struct {
	mu        sync.Mutex
	nameLocks map[string]*nameLock
	// baseline holds ids that were live before this client's first reconciled mint, and
	// minted the ids this client minted and received.
	baseline map[string]struct{}
	minted   map[string]struct{}
}

type nameLock struct {
	mu   sync.Mutex
	refs int
}

// lock serializes mints of one name within this process.
func (r *reconciler) lock(name string) func() {
	r.mu.Lock()
	if r.nameLocks == nil {
		r.nameLocks = map[string]*nameLock{}
	}
	l := r.nameLocks[name]
	if l == nil {
		l = &nameLock{}
		r.nameLocks[name] = l
	}
	l.refs++
	r.mu.Unlock()

	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		r.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(r.nameLocks, name)
		}
		r.mu.Unlock()
	}
}

func (r *reconciler) known(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, old := r.baseline[id]
	_, ours := r.minted[id]
	return old || ours
}

func (r *reconciler) remember(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.minted == nil {
		r.minted = map[string]struct{}{}
	}
	r.minted[id] = struct{}{}
}

// ensureBaseline records the live keys once per client, before its first reconciled mint. Any
// snapshot taken before the mint will do, so a refresh's list is reused.
func (c *Client) ensureBaseline(ctx context.Context) error {
	c.rec.mu.Lock()
	done := c.rec.baseline != nil
	c.rec.mu.Unlock()
	if done {
		return nil
	}
	snap, err := c.Snapshot(ctx)
	if err != nil {
		return err
	}
	ids := make(map[string]struct{}, len(snap.Tokens))
	for _, t := range snap.Tokens {
		ids[t.ID] = struct{}{}
	}
	c.rec.mu.Lock()
	if c.rec.baseline == nil {
		c.rec.baseline = ids
	}
	c.rec.mu.Unlock()
	return nil
}

// ownAttributions are the created_by values that may name this client's credential, as the list
// snap shows the keys: "org-token:<prefix>" when the credential is a listed org key (its prefix is
// the start of the credential), else "admin-token", the deployment's ADMIN_TOKEN. Only when the
// list may be incomplete, so that an org key older than the listed ones cannot be ruled out, are
// both possible. A key that another credential minted cannot have come from this client's mint.
func (c *Client) ownAttributions(snap *Snapshot) []string {
	orgKey := ""
	if len(c.token) >= PrefixLength {
		orgKey = "org-token:" + c.token[:PrefixLength]
		for _, t := range snap.Tokens {
			if t.Prefix == c.token[:PrefixLength] {
				return []string{orgKey}
			}
		}
	}
	if snap.Incomplete != "" && orgKey != "" {
		return []string{"admin-token", orgKey}
	}
	return []string{"admin-token"}
}

// serviceClock estimates how far the service's clock is from this client's, from the Date header
// of its answers, so that a lost attempt's send time can be read on the clock that stamps
// created_at. The latest answer's estimate is kept.
type serviceClock struct {
	mu   sync.Mutex
	seen bool
	// date is the latest answer's Date and received when that answer arrived: the service
	// stamped date at or before received, so a moment that came d before received was at the
	// service no earlier than date - d.
	date, received time.Time
	lo, hi         time.Duration // the service's clock minus this client's lies within [lo, hi]
}

// observe takes the Date of an answer to a request sent at sent and received at received. The
// service stamped Date at some moment in between, truncated to the second.
func (s *serviceClock) observe(date string, sent, received time.Time) {
	if date == "" || sent.IsZero() {
		return
	}
	d, err := http.ParseTime(date)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen, s.date, s.received = true, d, received
	s.lo, s.hi = d.Sub(received), d.Add(time.Second).Sub(sent)
}

// earliest is the earliest created_at, by the service's clock, that a key created by a request
// sent at sent can carry, with how it was judged. With the system clock, sent and the
// observation's receipt carry monotonic readings, so the time between them is measured, not read
// off a wall clock that may have been stepped in between.
func (s *serviceClock) earliest(sent time.Time) (time.Time, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.seen {
		return sent.Add(-clockSkew).UTC(), "the lost attempt's send time by this machine's clock, less a minute for clock skew: " +
			"no answer carried a Date header"
	}
	return s.date.Add(-s.received.Sub(sent)).Add(-dateMargin).UTC(), fmt.Sprintf("the lost attempt's send time, moved to the "+
		"service's clock by its Date header (an offset between %s and %s), less %s",
		s.lo.Round(time.Millisecond), s.hi.Round(time.Millisecond), dateMargin)
}

// outcomeUnknownError is returned by mint when the request may have reached the service but no
// usable answer came back (timeout or dropped connection after sending, a 5xx other than 501, an
// unreadable success response). A key may exist whose plaintext nobody has, and the service may
// still create it after the client gave up: MintReconciled reconciles by listing, for a while,
// never by blindly minting again.
type outcomeUnknownError struct {
	Name string
	// Started is when the attempt whose answer was lost was sent, by this machine's clock:
	// after any attempts the service refused (429) and any waits between them.
	Started time.Time
	Cause   error
	// sent is Started with this process's monotonic clock reading, which the reconciliation's
	// window is computed from, so that a step of the wall clock cannot move it.
	sent time.Time
}

func (e *outcomeUnknownError) Error() string {
	return fmt.Sprintf("minting key %q got no usable answer (%v); a key may have been created at or after %s "+
		"and its plaintext is lost: list the organization's keys and revoke any unexpected one before minting again",
		e.Name, e.Cause, e.Started.UTC().Format(time.RFC3339))
}

func (e *outcomeUnknownError) Unwrap() error { return e.Cause }

// sharedCredentialCaveat is said wherever keys are revoked as a lost mint's: what reconciliation
// cannot tell apart, and why it revokes anyway.
const sharedCredentialCaveat = "a key that another run using the same credential minted under the same name in that window " +
	"cannot be told apart from a lost one and is revoked too: a key revoked under another run is safer than a live key nobody holds"

// UnresolvedMintError is returned by MintReconciled when a mint's outcome is unknown and the keys
// that may have come from it could not be cleaned up safely. Candidates lists their ids; Lists
// and Over say how often, and for how long after the lost answer, the keys were listed.
type UnresolvedMintError struct {
	Name       string
	Candidates []string
	Reason     string
	Cause      error
	Lists      int // lists that succeeded
	Failed     int // lists that failed
	Over       time.Duration
}

func (e *UnresolvedMintError) Error() string {
	ids := "none found"
	switch {
	case len(e.Candidates) > 0:
		ids = strings.Join(e.Candidates, ", ")
	case e.Lists == 0:
		ids = "unknown, as no list succeeded"
	}
	return fmt.Sprintf("a request to mint key %q got no usable answer (%v), and %s; keys that may have come from it: %s (%s)",
		e.Name, e.Cause, e.Reason, ids, listedOver(e.Lists, e.Failed, e.Over))
}

func (e *UnresolvedMintError) Unwrap() error { return e.Cause }

// MintAbandonedError is returned by MintReconciled when a mint's outcome was unknown, the mint
// was not tried again (a second lost answer, or a cancellation), and every key it may have
// created that the lists over the grace window showed was revoked: Revoked holds their ids.
// Since is the start of the window, by the service's clock.
type MintAbandonedError struct {
	Name    string
	Cause   error
	Lists   int // lists that succeeded
	Failed  int // lists that failed
	Over    time.Duration
	Since   time.Time
	Revoked []string
}

func (e *MintAbandonedError) Error() string {
	revoked := "none was found"
	if len(e.Revoked) > 0 {
		revoked = "revoked " + strings.Join(e.Revoked, ", ")
	}
	return fmt.Sprintf("minting key %q got no usable answer (%v) and was not tried again; %s, looking for keys with this name "+
		"created since %s by the service's clock, and %s; %s",
		e.Name, e.Cause, listedOver(e.Lists, e.Failed, e.Over), formatWindowTime(e.Since), revoked, sharedCredentialCaveat)
}

func (e *MintAbandonedError) Unwrap() error { return e.Cause }

// listedOver says what reconciliation checked: "listed the keys 4 times over 10.2s after the
// answer was lost (1 more list failed)".
func listedOver(lists, failed int, over time.Duration) string {
	times := "times"
	if lists == 1 {
		times = "time"
	}
	text := fmt.Sprintf("listed the keys %d %s over %s after the answer was lost", lists, times, over.Round(100*time.Millisecond))
	switch {
	case failed == 1:
		text += " (1 more list failed)"
	case failed > 1:
		text += fmt.Sprintf(" (%d more lists failed)", failed)
	}
	return text
}

func formatWindowTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func (c *Client) sanitizeAll(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = c.sanitize(id)
	}
	return out
}
