package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// DefaultApprovalPoll is how often a mint waiting for a person's approval reads its state.
const DefaultApprovalPoll = 5 * time.Second

// approvalPending reads a 202 that says it waits for a person's approval
// ("status":"pending_approval"): nothing was done, so it is never a lost answer. Any other 202,
// which says nothing of the kind, is an error.
func (c *Client) approvalPending(resp *http.Response, k *call, name string) (*ApprovalPendingError, error) {
	var w struct {
		Status     string `json:"status"`
		ApprovalID string `json:"approval_id"`
		Action     string `json:"action"`
		Reason     string `json:"reason"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxSmallBody))
	c.learnSecrets(body)
	if json.Unmarshal(body, &w) != nil || w.Status != "pending_approval" {
		return nil, fmt.Errorf("%s %s: unexpected HTTP 202 Accepted from the service, without a pending approval", k.method, k.path)
	}
	return &ApprovalPendingError{
		Name: name, Method: k.method, Path: k.path,
		ApprovalID: c.sanitize(w.ApprovalID), Action: c.sanitize(w.Action), Reason: c.sanitize(w.Reason),
	}, nil
}

// awaitApproval watches a pending mint's approval for at most wait, until a person decides it,
// without minting (which would spend quota and, after a denial, open another approval). It finds
// the approval's workspace in GET /approvals/pending, then reads that workspace's approvals
// (GET /workspaces/{ws}/approvals) every approvalPoll. It returns nil once a person approved,
// an *ApprovalDeniedError once one denied, and the *ApprovalPendingError otherwise: when the wait
// runs out, ctx ends (Ctrl-C) or the approval cannot be watched. It never decides anything
// itself: a client that approves its own mint defeats the gate.
func (c *Client) awaitApproval(ctx context.Context, p *ApprovalPendingError, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	started := c.clock.Now()
	stop := func(why string) error {
		p.Waited, p.Stopped = c.clock.Now().Sub(started), why
		return p
	}
	if p.ApprovalID == "" {
		return stop("the answer did not say which approval, so it cannot be watched")
	}
	ws, err := c.approvalWorkspace(ctx, p.ApprovalID, started)
	switch {
	case ctx.Err() != nil:
		return stop("")
	case err != nil:
		return stop(fmt.Sprintf("watching it failed: %v", err))
	case ws == "":
		return stop("it is no longer pending, and its workspace, where its decision could be read, is unknown; " +
			"the next apply sends the mint again")
	}
	c.debug(ctx, "Waiting for a person to decide an approval", map[string]any{"approval_id": p.ApprovalID, "name": c.sanitize(p.Name)})
	for {
		// Only a read that started after the approval was found pending can be trusted to show it.
		a, found, err := c.approvals.read(ctx, c, ws, p.ApprovalID, started)
		switch {
		case ctx.Err() != nil:
			return stop("")
		case err != nil:
			return stop(fmt.Sprintf("watching it failed: %v", err))
		case !found:
			return stop("it is no longer among the newest approvals of its workspace, so its decision cannot be read")
		case a.Status == "approved":
			return nil
		case a.Status == "denied":
			d := &ApprovalDeniedError{Name: p.Name, ApprovalID: p.ApprovalID, DecidedBy: c.sanitize(a.DecidedBy)}
			if a.DecidedAt != nil {
				d.DecidedAt = *a.DecidedAt
			}
			return d
		}
		if !sleep(ctx, c.clock, c.approvalPoll) {
			return stop("")
		}
	}
}

// approvalWorkspace finds the workspace an approval belongs to: in GET /approvals/pending while
// it is pending, else (a person decided it already) among the workspaces this client has seen
// approvals in. "" when it is in neither.
func (c *Client) approvalWorkspace(ctx context.Context, id string, notBefore time.Time) (string, error) {
	var pending []struct {
		ID          string `json:"id"`
		WorkspaceID string `json:"workspace_id"`
	}
	if err := c.getJSON(ctx, "/approvals/pending", &pending); err != nil {
		return "", err
	}
	found := ""
	for _, a := range pending {
		c.approvals.remember(a.WorkspaceID)
		if a.ID == id {
			found = a.WorkspaceID
		}
	}
	if found != "" {
		return found, nil
	}
	for _, ws := range c.approvals.workspaces() {
		if _, ok, err := c.approvals.read(ctx, c, ws, id, notBefore); err == nil && ok {
			return ws, nil
		}
	}
	return "", nil
}

// approvalState is an approval as GET /workspaces/{ws}/approvals shows it.
type approvalState struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	DecidedBy string     `json:"decided_by"`
	DecidedAt *time.Time `json:"decided_at"`
}

// approvalBoard shares the reads of a workspace's approvals among the mints waiting in it, so
// that ten keys waiting at once cost one request a poll, not ten.
type approvalBoard struct {
	mu    sync.Mutex
	reads map[string]*approvalRead // by workspace
	known map[string]bool          // workspaces approvals were seen in
}

func (b *approvalBoard) remember(ws string) {
	if ws == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.known == nil {
		b.known = map[string]bool{}
	}
	b.known[ws] = true
}

func (b *approvalBoard) workspaces() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.known))
}

type approvalRead struct {
	done  chan struct{}
	at    time.Time
	state []approvalState
	err   error
}

// read returns approval id of workspace ws from a read that started at notBefore or later and
// less than half a poll ago, or from a new one that concurrent callers share.
func (b *approvalBoard) read(ctx context.Context, c *Client, ws, id string, notBefore time.Time) (approvalState, bool, error) {
	b.mu.Lock()
	if b.reads == nil {
		b.reads = map[string]*approvalRead{}
	}
	r := b.reads[ws]
	now := c.clock.Now()
	if r == nil || r.at.Before(notBefore) || r.finished() && now.Sub(r.at) >= c.approvalPoll/2 {
		r = &approvalRead{done: make(chan struct{}), at: now}
		b.reads[ws] = r
		go func() {
			defer close(r.done)
			// Shared by every waiter, so the cancellation of the one that started it does not end it.
			rctx, cancel := Outlive(ctx, c.http.Timeout)
			defer cancel()
			r.err = c.getJSON(rctx, "/workspaces/"+url.PathEscape(ws)+"/approvals", &r.state)
		}()
	}
	b.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
		return approvalState{}, false, ctx.Err()
	}
	if r.err != nil {
		return approvalState{}, false, r.err
	}
	for _, a := range r.state {
		if a.ID == id {
			return a, true, nil
		}
	}
	return approvalState{}, false, nil
}

func (r *approvalRead) finished() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// getJSON reads an idempotent GET's JSON answer into v.
func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	k := c.newCall(http.MethodGet, path, true)
	resp, err := c.do(ctx, k, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.failure(resp, k)
	}
	if err := c.decode(resp, k, maxSmallBody, v); err != nil {
		return err
	}
	return nil
}
