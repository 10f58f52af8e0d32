package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// The approval gate of June 2026 builds (the server's requireApproval): a mint by a gated
// caller waits for a person's decision in Canvas. The emulator serves the routes a client may
// read, and the decide route a person's browser calls, so that a test can prove a client never
// calls it; tests decide as a person would, through Approve and Deny.

// Approval states and the one gated action the emulator knows.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalDenied   = "denied"

	actionOrgTokenMint    = "org_token_mint" //nolint:gosec // G101: the service's name for an action, not a credential
	platformWorkspaceName = "Org Concierge"
	msgNoApprovalAnchor   = "no approval anchor for this caller class — set MOLECULE_PLATFORM_WORKSPACE_ID for admin-token " +
		"callers, or call via an org-token with a valid org"
	msgApprovalNotFound = "approval not found or already decided"
	// listApprovalsMax is how many approvals the service's approval lists return, newest first.
	listApprovalsMax = 50
)

// Approval is an approval request as the service keeps it.
type Approval struct {
	ID, WorkspaceID, Action, Reason string
	Status                          string // ApprovalPending, ApprovalApproved or ApprovalDenied
	DecidedBy                       string
	CreatedAt                       time.Time
	DecidedAt                       *time.Time
	// Consumed reports whether a mint has used the approval up: approvals are single-use.
	Consumed bool
}

// approvalRecord is an approval with what it covers: the server matches a retried mint to its
// approval by workspace, action and a digest of the caller's class and the key's name (not its
// expires_at).
type approvalRecord struct {
	Approval
	actor, name string
}

func (a *approvalRecord) covers(ws, actor, name string) bool {
	return a.WorkspaceID == ws && a.Action == actionOrgTokenMint && a.actor == actor && a.name == name
}

// pendingApprovalJSON is the 202 a gated mint gets (gin.H, so its keys are sorted).
type pendingApprovalJSON struct {
	Action     string `json:"action"`
	ApprovalID string `json:"approval_id"`
	Reason     string `json:"reason"`
	Status     string `json:"status"`
}

// gateMintLocked runs the approval gate for a mint of name by p. It reports whether the mint may
// proceed (the caller is not gated, or an approval was consumed); otherwise it has chosen the
// answer: a 400 when the caller has no anchor to be approved in, or a 202 naming the approval a
// person must decide, created or, for a retry while it is pending, reused.
func (s *Server) gateMintLocked(p principal, name string, now time.Time) (proceed bool, status int, body any) {
	if s.build == BuildApril2026 || p.kind == principalSession {
		// April has no gate; a person in Canvas is the one the gate waits for.
		return true, 0, nil
	}
	anchor := p.orgID
	if p.kind == principalAdmin {
		anchor = s.platformWS
	}
	if anchor == "" {
		return false, http.StatusBadRequest, struct {
			Error string `json:"error"`
		}{msgNoApprovalAnchor}
	}
	if p.kind != principalAdmin && !s.gateOrgKeys {
		return true, 0, nil
	}
	var pending *approvalRecord
	for _, a := range s.approvals {
		if !a.covers(anchor, p.createdBy, name) {
			continue
		}
		switch {
		case a.Status == ApprovalApproved && !a.Consumed:
			a.Consumed = true
			return true, 0, nil
		case a.Status == ApprovalPending:
			pending = a
		}
	}
	if pending == nil {
		pending = &approvalRecord{Approval: Approval{
			ID: newUUID(), WorkspaceID: anchor, Action: actionOrgTokenMint, Reason: "mint org token " + name,
			Status: ApprovalPending, CreatedAt: s.apiTime(now),
		}, actor: p.createdBy, name: name}
		s.approvals = append(s.approvals, pending)
	}
	return false, http.StatusAccepted, pendingApprovalJSON{
		Action: pending.Action, ApprovalID: pending.ID, Reason: pending.Reason, Status: "pending_approval",
	}
}

// PendingApprovals returns the approvals waiting for a person, oldest first.
func (s *Server) PendingApprovals() []Approval {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Approval
	for _, a := range s.approvals {
		if a.Status == ApprovalPending {
			out = append(out, a.Approval)
		}
	}
	return out
}

// Approvals returns every approval, oldest first.
func (s *Server) Approvals() []Approval {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Approval, 0, len(s.approvals))
	for _, a := range s.approvals {
		out = append(out, a.Approval)
	}
	return out
}

// Approve approves a pending approval as a person in Canvas would, and reports whether it was
// pending.
func (s *Server) Approve(id string) bool { return s.decide("", id, ApprovalApproved, "human") }

// Deny denies a pending approval as a person in Canvas would, and reports whether it was pending.
func (s *Server) Deny(id string) bool { return s.decide("", id, ApprovalDenied, "human") }

// decide records a decision on a pending approval in workspace ws ("" for any).
func (s *Server) decide(ws, id, decision, by string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.approvals {
		if a.ID == id && (ws == "" || a.WorkspaceID == ws) && a.Status == ApprovalPending {
			at := s.now()
			a.Status, a.DecidedBy, a.DecidedAt = decision, by, &at
			return true
		}
	}
	return false
}

// approvalRoute matches the approval routes: GET /approvals/pending, GET
// /workspaces/{ws}/approvals and POST /workspaces/{ws}/approvals/{id}/decide.
func approvalRoute(r *http.Request) (ws, id string, endpoint string) {
	if r.URL.Path == "/approvals/pending" && r.Method == http.MethodGet {
		return "", "", EndpointApprovals
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/workspaces/")
	if !ok {
		return "", "", ""
	}
	parts := strings.Split(rest, "/")
	switch {
	case len(parts) == 2 && parts[0] != "" && parts[1] == "approvals" && r.Method == http.MethodGet:
		return parts[0], "", EndpointApprovals
	case len(parts) == 4 && parts[0] != "" && parts[1] == "approvals" && parts[2] != "" && parts[3] == "decide" && r.Method == http.MethodPost:
		return parts[0], parts[2], EndpointDecide
	}
	return "", "", ""
}

// serveApprovals answers an authenticated request to one of the approval routes.
func (s *Server) serveApprovals(w http.ResponseWriter, r *http.Request, ws, id string) {
	if id != "" {
		s.serveDecide(w, r, ws, id)
		return
	}
	s.mu.Lock()
	out := make([]map[string]any, 0)
	for i := len(s.approvals) - 1; i >= 0 && len(out) < listApprovalsMax; i-- {
		a := s.approvals[i]
		switch {
		case ws == "" && a.Status == ApprovalPending:
			name := platformWorkspaceName
			if a.WorkspaceID != s.platformWS {
				name = "Organization"
			}
			out = append(out, map[string]any{
				"id": a.ID, "workspace_id": a.WorkspaceID, "workspace_name": name, "action": a.Action,
				"reason": a.Reason, "status": a.Status, "created_at": formatTime(a.CreatedAt),
			})
		case ws != "" && a.WorkspaceID == ws:
			var decidedBy, decidedAt any
			if a.DecidedAt != nil {
				decidedBy, decidedAt = a.DecidedBy, formatTime(*a.DecidedAt)
			}
			out = append(out, map[string]any{
				"id": a.ID, "task_id": nil, "action": a.Action, "reason": a.Reason, "status": a.Status,
				"decided_by": decidedBy, "decided_at": decidedAt, "created_at": formatTime(a.CreatedAt),
			})
		}
	}
	s.mu.Unlock()
	s.writeAPI(w, http.StatusOK, out)
}

// serveDecide is what the Canvas approval banner calls. The emulator serves it because the
// server does; a client that decides its own approvals defeats the gate, and tests count these
// requests (EndpointDecide) to prove the provider never sends one.
func (s *Server) serveDecide(w http.ResponseWriter, r *http.Request, ws, id string) {
	var body struct {
		Decision  string `json:"decision"`
		DecidedBy string `json:"decided_by"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes)).Decode(&body); err != nil || body.Decision == "" {
		s.writeAPIError(w, http.StatusBadRequest, "invalid request body")
		return
	}
	if body.Decision != ApprovalApproved && body.Decision != ApprovalDenied {
		s.writeAPIError(w, http.StatusBadRequest, "decision must be 'approved' or 'denied'")
		return
	}
	by := body.DecidedBy
	if by == "" {
		by = "human"
	}
	if !s.decide(ws, id, body.Decision, by) {
		s.writeAPIError(w, http.StatusNotFound, msgApprovalNotFound)
		return
	}
	s.writeAPI(w, http.StatusOK, struct {
		ApprovalID string `json:"approval_id"`
		Status     string `json:"status"`
	}{id, body.Decision})
}
