package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	// clockSkew widens the window in which a key may have come from a lost mint, because
	// created_at is the service's clock and the attempt's start is ours.
	clockSkew = time.Minute
	// cleanupTimeout bounds reconciliation after the caller's context was cancelled (Ctrl-C):
	// long enough to list and revoke, short enough not to hold up Terraform's exit.
	cleanupTimeout = 10 * time.Second
)

// UnresolvedMintError is returned by MintReconciled when a mint's outcome is unknown and the keys
// that may have come from it could not be cleaned up safely. Candidates lists their ids.
type UnresolvedMintError struct {
	Name       string
	Candidates []string
	Reason     string
	Cause      error
}

func (e *UnresolvedMintError) Error() string {
	ids := "none found"
	if len(e.Candidates) > 0 {
		ids = strings.Join(e.Candidates, ", ")
	}
	return fmt.Sprintf("a request to mint key %q got no usable answer (%v), and %s; keys that may have come from it: %s",
		e.Name, e.Cause, e.Reason, ids)
}

func (e *UnresolvedMintError) Unwrap() error { return e.Cause }

// MintAbandonedError is returned by MintReconciled when a mint's outcome was unknown, the mint
// was not tried again (a second lost answer, or a cancellation), and reconciliation made sure no
// key from it is left live.
type MintAbandonedError struct {
	Name  string
	Cause error
}

func (e *MintAbandonedError) Error() string {
	return fmt.Sprintf("minting key %q got no usable answer (%v); every key it may have created was found and revoked", e.Name, e.Cause)
}

func (e *MintAbandonedError) Unwrap() error { return e.Cause }

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

// MintReconciled mints a key and guarantees that no key is left live and unknown behind it.
//
// When a mint's outcome is unknown (timeout, dropped connection or 5xx after the request was
// sent), it lists the keys and looks for ones that attempt created: same name, not live before
// this client's first mint, not minted by this client, created during the attempt. Their
// plaintext was lost with the response, so nobody can use them: they are revoked, and the mint is
// tried once more. revoked returns the ids revoked that way.
//
// It refuses to revoke, and returns *UnresolvedMintError with the candidates, when a candidate
// was minted by another credential than this client's. After a cancellation it still cleans up
// (bounded by cleanupTimeout) but does not mint again.
//
// The deployed service's mint response has no created_by or created_at; they are then taken
// from a list that starts after the mint, shared with the other mints in flight in this process
// (MintedToken.MetadataErr says when that failed).
func (c *Client) MintReconciled(ctx context.Context, name string) (minted *MintedToken, revoked []string, err error) {
	minted, revoked, err = c.mintReconciled(ctx, name)
	if err == nil {
		c.describe(ctx, minted)
	}
	return minted, revoked, err
}

func (c *Client) mintReconciled(ctx context.Context, name string) (minted *MintedToken, revoked []string, err error) {
	if err := ValidateName(name); err != nil {
		return nil, nil, err
	}
	unlock := c.rec.lock(name)
	defer unlock()
	if err := c.ensureBaseline(ctx); err != nil {
		return nil, nil, fmt.Errorf("listing keys before minting, so that a lost response can be reconciled: %w", err)
	}
	for attempt := 1; ; attempt++ {
		m, err := c.mint(ctx, name)
		if err == nil {
			c.rec.remember(m.ID)
			return m, revoked, nil
		}
		var unknown *MintOutcomeUnknownError
		if !errors.As(err, &unknown) {
			return nil, revoked, err
		}
		c.warn(ctx, "Mint outcome unknown; reconciling", map[string]any{"name": name, "attempt": attempt})
		cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		ids, rerr := c.revokeOrphans(cleanupCtx, unknown)
		cancel()
		revoked = append(revoked, ids...)
		if rerr != nil {
			return nil, revoked, rerr
		}
		if attempt == 2 || ctx.Err() != nil {
			return nil, revoked, &MintAbandonedError{Name: name, Cause: unknown.Cause}
		}
	}
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
	m.LastUsedAt = t.LastUsedAt
}

// revokeOrphans finds and revokes the keys a lost mint may have created.
func (c *Client) revokeOrphans(ctx context.Context, lost *MintOutcomeUnknownError) ([]string, error) {
	tokens, err := c.List(ctx)
	if err != nil {
		return nil, &UnresolvedMintError{Name: lost.Name, Reason: fmt.Sprintf("listing keys to find out failed (%v)", err), Cause: lost.Cause}
	}
	var candidates []Token
	for _, t := range tokens {
		if t.Name == lost.Name && !c.rec.known(t.ID) && !t.CreatedAt.Before(lost.Started.Add(-clockSkew)) {
			candidates = append(candidates, t)
		}
	}
	sort.Slice(candidates, func(i, j int) bool { return candidates[i].ID < candidates[j].ID })
	// Whatever the service lists is shown only sanitized: it may echo a secret this client knows.
	ids := make([]string, len(candidates))
	for i, t := range candidates {
		ids[i] = c.sanitize(t.ID)
	}
	for _, t := range candidates {
		if t.CreatedBy != "" && !c.ownAttribution(t.CreatedBy) {
			return nil, &UnresolvedMintError{Name: lost.Name, Candidates: ids, Cause: lost.Cause,
				Reason: fmt.Sprintf("key %s was minted by %s, not by this provider's credential, so it was left alone",
					c.sanitize(t.ID), c.sanitize(t.CreatedBy))}
		}
	}

	var revoked, failed []string
	for _, t := range candidates {
		if err := c.Revoke(ctx, t.ID); err != nil && !IsNotFound(err) {
			failed = append(failed, c.sanitize(t.ID))
			continue
		}
		revoked = append(revoked, t.ID)
		c.warn(ctx, "Revoked key left by a lost mint response", map[string]any{"id": c.sanitize(t.ID), "name": c.sanitize(t.Name)})
	}
	if len(failed) > 0 {
		return revoked, &UnresolvedMintError{Name: lost.Name, Candidates: failed, Cause: lost.Cause,
			Reason: "revoking the keys it may have created failed"}
	}
	return revoked, nil
}

// ownAttribution reports whether createdBy may name this client's credential: "admin-token"
// when it is the deployment's ADMIN_TOKEN, "org-token:<prefix>" when it is an org key. Which of
// the two it is cannot be told from the credential itself (keys have no fixed format), so both
// are accepted.
func (c *Client) ownAttribution(createdBy string) bool {
	if createdBy == "admin-token" {
		return true
	}
	return len(c.token) >= PrefixLength && createdBy == "org-token:"+c.token[:PrefixLength]
}
