package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	// clockSkew widens the window in which a key may have come from a lost mint when the
	// service's clock is unknown (no answer carried a Date header): created_at is the service's
	// clock and the attempt's send time is ours.
	clockSkew = time.Minute
	// dateMargin widens the window when the service's clock is estimated from its Date header:
	// the database that stamps created_at, or a proxy that stamps Date, may keep another time.
	dateMargin = 2 * time.Second
	// cleanupTimeout bounds reconciliation after the caller's context was cancelled (Ctrl-C):
	// long enough to list and revoke, short enough not to hold up Terraform's exit.
	cleanupTimeout = 10 * time.Second
	// recheckLists is how many times the keys are listed over the grace window after a lost
	// answer, besides the list right after it.
	recheckLists = 3
	// MinLateCommitGrace is the shortest default grace window (the request timeout, bounded).
	MinLateCommitGrace = 2 * time.Second
	// MaxLateCommitGrace is the longest default grace window.
	MaxLateCommitGrace = 10 * time.Second
)

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

// reconciler is the per-client memory MintReconciled needs to tell a lost mint's key from
// every other key with the same name.
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

// lock serializes mints of one name within this process, so that when a mint is reconciled no
// sibling mint of the same name is still in flight and every key it made is already known.
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

// MintReconciled mints a key and guarantees that no key is left live and unknown behind it, as
// far as the lists over the grace window (Config.LateCommitGrace) can see.
//
// When a mint's outcome is unknown (timeout, dropped connection or 5xx after the request was
// sent), it lists the keys and looks for ones that attempt created: same name, not live before
// this client's first mint, not minted by this client, created since the lost attempt was sent
// (read on the service's clock, estimated from its Date header; less a minute when it sent
// none). Their plaintext was lost with the response, so nobody can use them: they are revoked,
// and the mint is tried once more. Because the service may still commit the lost request after
// the client gave up, the keys are listed again over the grace window after the lost answer,
// after the second mint too, and new candidates are revoked. revoked returns the ids revoked.
//
// Another run with the same credential minting the same name inside that window cannot be told
// apart from the lost attempt: its key is revoked too. That is the safe failure (the other run
// sees its key gone and replaces it), where the alternative is a live key nobody holds.
//
// It refuses to revoke, and returns *UnresolvedMintError with the candidates, when a candidate
// was minted by another credential than this client's. After a cancellation it still cleans up,
// bounded by cleanupTimeout, but does not mint again.
//
// The deployed service's mint response has no created_by or created_at; they are then taken
// from a list that starts after the mint, shared with the other mints in flight in this process
// (MintedToken.MetadataErr says when that failed).
//
// A mint that waits for a person's approval (202) is not a lost answer: nothing was created, and
// it returns *ApprovalPendingError at once, or, with opts.ApprovalWait, watches the approval for
// that long without minting. Approved, the mint is sent once more, which uses the approval up;
// denied, it returns *ApprovalDeniedError without another request (which would only open another
// approval). Either way a key costs at most two mint requests. It never decides an approval.
func (c *Client) MintReconciled(ctx context.Context, name string, opts MintOptions) (minted *MintedToken, revoked []string, err error) {
	minted, revoked, err = c.mintReconciled(ctx, name, opts)
	if err == nil {
		c.describe(ctx, minted)
	}
	return minted, revoked, err
}

func (c *Client) mintReconciled(ctx context.Context, name string, opts MintOptions) (*MintedToken, []string, error) {
	if err := ValidateName(name); err != nil {
		return nil, nil, err
	}
	unlock := c.rec.lock(name)
	defer unlock()
	if err := c.ensureBaseline(ctx); err != nil {
		return nil, nil, fmt.Errorf("listing keys before minting, so that a lost response can be reconciled: %w", err)
	}
	var lost *lostMint
	approvedBy := ""
	for attempt := 1; ; attempt++ {
		m, err := c.mint(ctx, name, opts)
		if err == nil {
			c.rec.remember(m.ID)
			m.ApprovalID = approvedBy
		}
		var pending *ApprovalPendingError
		if errors.As(err, &pending) && lost == nil && attempt == 1 && opts.ApprovalWait > 0 {
			wctx, cancel := context.WithTimeout(ctx, opts.ApprovalWait)
			werr := c.awaitApproval(wctx, pending)
			cancel()
			if werr != nil {
				return nil, nil, werr
			}
			// Approved: the same mint again uses the approval up.
			approvedBy = pending.ApprovalID
			continue
		}
		var unknown *MintOutcomeUnknownError
		if !errors.As(err, &unknown) {
			if lost == nil {
				return m, nil, err
			}
			// An earlier answer was lost, and the service may still commit that request.
			rerr := c.awaitLateCommits(ctx, lost)
			switch {
			case err == nil && rerr != nil:
				// The key in hand is live and only this caller has its secret: it must be returned.
				m.ReconcileErr = rerr
				c.warn(ctx, "Lost mint response not fully reconciled", map[string]any{"name": c.sanitize(name), "id": m.ID, "error": rerr.Error()})
				return m, lost.revoked, nil
			case err == nil:
				return m, lost.revoked, nil
			case rerr != nil:
				return nil, lost.revoked, fmt.Errorf("%w; the mint was tried again and failed: %w", rerr, err)
			}
			return nil, lost.revoked, err
		}
		if lost == nil {
			lost = &lostMint{name: name, sent: cmp.Or(unknown.sent, unknown.Started), firstLost: time.Now()}
			// The moment of a cancellation bounds the cleanup after it, so it is taken when it
			// happens, not when the cleanup next looks.
			stop := context.AfterFunc(ctx, lost.markCancelled)
			defer stop()
		}
		lost.cause, lost.lostAt = unknown.Cause, time.Now()
		c.warn(ctx, "Mint outcome unknown; reconciling", map[string]any{
			"name": name, "attempt": attempt, "sent": formatWindowTime(unknown.Started), "grace_ms": c.grace.Milliseconds(),
		})
		// A pass that failed is not the end: the lists over the grace window try again, and
		// only a mint whose keys are all accounted for is tried once more.
		if err := c.reconcilePass(ctx, lost); err != nil || attempt == 2 || ctx.Err() != nil {
			if err := c.awaitLateCommits(ctx, lost); err != nil {
				return nil, lost.revoked, err
			}
			return nil, lost.revoked, &MintAbandonedError{Name: name, Cause: lost.cause, Lists: lost.lists, Failed: lost.failed,
				Over: lost.over(), Since: lost.since, Revoked: c.sanitizeAll(lost.revoked)}
		}
	}
}

// lostMint is what MintReconciled knows about the attempts of one mint whose answers were
// lost, and what it has done to find the keys they may have created.
type lostMint struct {
	name      string
	cause     error     // the last lost answer's error
	sent      time.Time // when the first lost attempt was sent, by this machine's clock
	firstLost time.Time // when the first answer was lost
	lostAt    time.Time // when the last answer was lost: the grace window runs from here
	lists     int       // lists that succeeded
	failed    int       // lists that failed
	lastList  time.Time

	mu        sync.Mutex
	cancelled time.Time // when the caller's context was cancelled; zero while it is not
	since     time.Time // the window's start by the service's clock, as of the last list
	sinceHow  string
	revoked   []string
}

// over is how long after the first lost answer the last list was taken.
func (l *lostMint) over() time.Duration { return max(l.lastList.Sub(l.firstLost), 0) }

// markCancelled records the moment the caller's context was cancelled (context.AfterFunc).
func (l *lostMint) markCancelled() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancelled.IsZero() {
		l.cancelled = time.Now()
	}
}

// cancelledAt is when the caller's context was cancelled, zero while it is not.
func (l *lostMint) cancelledAt() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cancelled
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

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// unresolved is the error for candidates that could not be dealt with.
func (l *lostMint) unresolved(candidates []string, reason string) *UnresolvedMintError {
	return &UnresolvedMintError{Name: l.name, Candidates: candidates, Reason: reason, Cause: l.cause, Lists: l.lists, Failed: l.failed, Over: l.over()}
}

// awaitLateCommits lists the keys recheckLists more times, spread over the grace window after
// the last lost answer, and revokes new candidates: the service may commit a request after its
// client gave up. It always lists once more, whatever time the caller spent since the last list
// (minting again), so the last list comes after both. A cancellation cuts the window short. A
// pass that fails (a list, or a revocation) does not end the window: every list shows all the
// keys made so far, and a key that could not be revoked is a candidate again, so only the last
// pass's failure is returned.
func (c *Client) awaitLateCommits(ctx context.Context, lost *lostMint) error {
	var last error
	for i := 1; ; i++ {
		end := lost.windowEnd(c.grace)
		at := minTime(lost.lostAt.Add(c.grace*time.Duration(i)/recheckLists), end)
		final := i >= recheckLists || !at.Before(end)
		if !final && !time.Now().Before(at) {
			continue // the time for this list went by while minting again
		}
		if !sleepUntil(ctx, at, !lost.cancelledAt().IsZero()) {
			continue // cancelled while waiting: the window is cut, and the plan with it
		}
		last = c.reconcilePass(ctx, lost)
		if final {
			break
		}
	}
	if last != nil {
		return last
	}
	revoked := c.sanitizeAll(lost.revoked)
	if len(revoked) == 0 {
		revoked = []string{}
	}
	c.warn(ctx, "Reconciled a lost mint response", map[string]any{
		"name": c.sanitize(lost.name), "checked": listedOver(lost.lists, lost.failed, lost.over()), "window_start": formatWindowTime(lost.since),
		"window_start_from": lost.sinceHow, "revoked": revoked,
	})
	return nil
}

// sleepUntil waits until t and reports true, or false as soon as ctx ends, unless
// ignoreCancel: after a cancellation the (already shortened) window is waited out regardless.
func sleepUntil(ctx context.Context, t time.Time, ignoreCancel bool) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	done := ctx.Done()
	if ignoreCancel {
		done = nil
	}
	select {
	case <-timer.C:
		return true
	case <-done:
		return false
	}
}

// cleanupContext is the context one reconciliation pass runs in: it outlives a cancellation of
// ctx, but ends cleanupTimeout after the pass starts, or after the cancellation.
func cleanupContext(ctx context.Context, lost *lostMint) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(cleanupTimeout)
	if cancelled := lost.cancelledAt(); !cancelled.IsZero() {
		deadline = minTime(deadline, cancelled.Add(cleanupTimeout))
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}

// describe fills in the metadata a mint response left out from a list that started after the
// mint. It never fails the mint: the key is live and its secret is in hand.
func (c *Client) describe(ctx context.Context, m *MintedToken) {
	if !m.CreatedAt.IsZero() && m.CreatedBy != "" {
		return
	}
	snap, err := c.snapshotSince(ctx, m.gen)
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

// reconcilePass lists the keys once and revokes those the lost mint may have created.
func (c *Client) reconcilePass(ctx context.Context, lost *lostMint) error {
	pctx, cancel := cleanupContext(ctx, lost)
	defer cancel()
	snap, err := c.list(pctx)
	lost.lastList = time.Now()
	if err != nil {
		lost.failed++
		return lost.unresolved(nil, fmt.Sprintf("listing keys to find out failed (%v)", err))
	}
	lost.lists++
	lost.since, lost.sinceHow = c.serviceClock.earliest(lost.sent)
	var candidates []Token
	own := c.ownAttributions(snap)
	for _, t := range snap.Tokens {
		if t.Name != lost.name || c.rec.known(t.ID) || slices.Contains(lost.revoked, t.ID) || t.CreatedAt.Before(lost.since) {
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
		if err := c.Revoke(pctx, t.ID); err != nil && !IsKeyNotLive(err) {
			failed = append(failed, c.sanitize(t.ID))
			continue
		}
		lost.revoked = append(lost.revoked, t.ID)
		c.warn(ctx, "Revoked key left by a lost mint response", map[string]any{
			"id": c.sanitize(t.ID), "name": c.sanitize(t.Name), "created_at": formatWindowTime(t.CreatedAt),
			"window_start": formatWindowTime(lost.since), "window_start_from": lost.sinceHow,
			"checked": listedOver(lost.lists, lost.failed, lost.over()), "caveat": sharedCredentialCaveat,
		})
	}
	if len(failed) > 0 {
		return lost.unresolved(failed, "revoking the keys it may have created failed")
	}
	return nil
}

func (c *Client) sanitizeAll(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = c.sanitize(id)
	}
	return out
}

// serviceClock estimates how far the service's clock is from this machine's, from the Date
// header of its answers, so that a lost attempt's send time can be read on the clock that
// stamps created_at. The latest answer's estimate is kept.
type serviceClock struct {
	mu   sync.Mutex
	seen bool
	// date is the latest answer's Date and received when that answer arrived, with this
	// process's monotonic clock: the service stamped date at or before received, so a moment
	// that came d before received was at the service no earlier than date - d.
	date, received time.Time
	lo, hi         time.Duration // the service's clock minus this machine's lies within [lo, hi]
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
// sent at sent can carry, with how it was judged. sent and the observation's receipt carry
// monotonic readings, so the time between them is measured, not read off a wall clock that may
// have been stepped in between.
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
