package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The service's own limits and messages (workspace-server/internal/handlers/org_tokens.go).
const (
	maxDeployedNameBytes = 100
	msgNameTooLong       = "name too long (max 100 chars)"
	msgMintFailed        = "failed to mint token"
	msgRevokeFailed      = "failed to revoke"
	msgRevokeNotFound    = "token not found or already revoked"
	msgInvalidJSON       = "invalid JSON body"
	msgMintCeiling       = "org api token mint ceiling exceeded"
	mintWarning          = "copy this token now; it will not be shown again"
)

// deployedTokenJSON is a key in the service's list (orgtoken.Token).
type deployedTokenJSON struct {
	ID         string `json:"id"`
	Prefix     string `json:"prefix"`
	Name       string `json:"name,omitempty"`
	OrgID      string `json:"org_id,omitempty"`
	CreatedBy  string `json:"created_by,omitempty"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at,omitempty"`
	ExpiresAt  string `json:"expires_at,omitempty"`
}

// deployedMintResponse is the service's mint response: no created_by, no created_at.
type deployedMintResponse struct {
	ID        string     `json:"id"`
	Prefix    string     `json:"prefix"`
	Name      string     `json:"name,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // echoed as sent
	AuthToken string     `json:"auth_token"`
	Warning   string     `json:"warning"`
}

// serveDeployed answers as the service does. Routing comes before authentication there: a
// path or method it does not serve is gin's plain-text 404 whatever the credential, and the
// tenant server has no control plane to refuse.
func (s *Server) serveDeployed(w http.ResponseWriter, r *http.Request) {
	var handle func(http.ResponseWriter, *http.Request, principal)
	ws, approvalID, approvals := approvalRoute(r)
	switch id, isKey := tokenID(r.URL.Path); {
	case r.URL.Path == tokensPath && r.Method == http.MethodGet:
		handle = func(w http.ResponseWriter, _ *http.Request, _ principal) { s.listDeployed(w) }
	case r.URL.Path == tokensPath && r.Method == http.MethodPost:
		handle = s.mintDeployed
	case isKey && r.Method == http.MethodDelete:
		handle = func(w http.ResponseWriter, _ *http.Request, _ principal) { s.revokeDeployed(w, id) }
	case approvals != "" && s.build != BuildApril2026:
		handle = func(w http.ResponseWriter, r *http.Request, _ principal) { s.serveApprovals(w, r, ws, approvalID) }
	default:
		notFoundPlain(w)
		return
	}

	token, ok := deployedBearerToken(r)
	if !ok {
		s.writeAPIError(w, http.StatusUnauthorized, msgAuthRequired)
		return
	}
	p, snap, ok := s.authenticate(token)
	if !ok {
		s.writeAPIError(w, http.StatusUnauthorized, msgAuthInvalid)
		return
	}
	if err := s.persist(snap); err != nil {
		s.writeAPIError(w, http.StatusInternalServerError, err.Error())
		return
	}
	handle(w, r, p)
}

// notFoundPlain is gin's answer to a route it does not have.
func notFoundPlain(w http.ResponseWriter) {
	const body = "404 page not found"
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(body))
}

// deployedMintRequest is the mint body as the service binds it.
type deployedMintRequest struct {
	Name      string     `json:"name"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// mintDeployed mints as the service does, in its order: the mint limit after authentication (a
// refused credential never spends the quota, a refused body does), the body, the name's length,
// the approval gate, then the expiry and the organization's ceiling (a consumed approval stays
// consumed when they refuse).
func (s *Server) mintDeployed(w http.ResponseWriter, r *http.Request, p principal) {
	if !s.admit(w, r, s.mintLimit) {
		return
	}
	req, status, msg := s.readDeployedMintRequest(w, r)
	if status != 0 {
		s.writeAPIError(w, status, msg)
		return
	}
	if len(req.Name) > maxDeployedNameBytes {
		s.writeAPIError(w, http.StatusBadRequest, msgNameTooLong)
		return
	}
	s.mu.Lock()
	now := s.clock()
	if proceed, status, body := s.gateMintLocked(p, req.Name, now); !proceed {
		s.mu.Unlock()
		s.writeAPI(w, status, body)
		return
	}
	switch {
	case req.ExpiresAt != nil && !now.Before(*req.ExpiresAt):
		s.mu.Unlock()
		// ErrPastExpiry is not mapped to a 4xx on June 2026 builds.
		s.writeAPIError(w, http.StatusInternalServerError, msgMintFailed)
		return
	case s.overCeilingLocked(p.orgID, now):
		s.mu.Unlock()
		// No Retry-After: waiting does not help, revoking or an expiry does.
		s.writeAPIError(w, http.StatusTooManyRequests, msgMintCeiling)
		return
	case strings.ContainsRune(req.Name, 0):
		s.mu.Unlock()
		// Postgres refuses NUL in a text column; the service reports the failed insert.
		s.writeAPIError(w, http.StatusInternalServerError, msgMintFailed)
		return
	}
	rec, plaintext := s.createLocked(req.Name, p.createdBy, p.orgID, now, req.ExpiresAt)
	resp := deployedMintResponse{ID: rec.id, Prefix: rec.prefix, Name: rec.name, ExpiresAt: req.ExpiresAt, AuthToken: plaintext, Warning: mintWarning}
	snap := s.commitLocked()
	s.mu.Unlock()
	if err := s.persist(snap); err != nil {
		s.writeAPIError(w, http.StatusInternalServerError, err.Error())
		return
	}
	// The only response that ever carries a plaintext key must not be stored by any cache.
	w.Header().Set("Cache-Control", "no-store")
	s.writeAPI(w, http.StatusOK, resp)
}

// overCeilingLocked reports whether the organization org holds as many live, unexpired keys as
// the ceiling allows. Keys of no organization (minted with ADMIN_TOKEN) never count.
func (s *Server) overCeilingLocked(org string, now time.Time) bool {
	if s.build == BuildApril2026 || s.ceiling <= 0 || org == "" {
		return false
	}
	n := 0
	for _, r := range s.live {
		if r.orgID == org && !r.expired(now) {
			n++
		}
	}
	return n >= s.ceiling
}

// readDeployedMintRequest reads the body as the build does. June and newer bind it strictly:
// anything but an empty body or a JSON object whose name is a string and whose expires_at is an
// RFC 3339 time or null is a 400. April ignores every decoding error (an empty, broken or
// mistyped body mints an unnamed key) and expires_at. Both read only the first JSON value. The 64
// KiB cap is the emulator's own guard; the service reads any size.
func (s *Server) readDeployedMintRequest(w http.ResponseWriter, r *http.Request) (req deployedMintRequest, status int, msg string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return req, http.StatusRequestEntityTooLarge, "request body exceeds 64 KiB"
	}
	if s.build == BuildApril2026 {
		var lenient struct {
			Name string `json:"name"`
		}
		_ = json.NewDecoder(bytes.NewReader(body)).Decode(&lenient)
		return deployedMintRequest{Name: lenient.Name}, 0, ""
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		return deployedMintRequest{}, http.StatusBadRequest, msgInvalidJSON
	}
	return req, 0, ""
}

// listDeployed answers the newest ListCap live keys, newest first; keys created in the same
// microsecond come in id order.
func (s *Server) listDeployed(w http.ResponseWriter) {
	s.mu.Lock()
	want := len(s.live)
	if s.listCap >= 0 {
		want = min(want, s.listCap)
	}
	tokens := make([]deployedTokenJSON, 0, want)
	// s.live is oldest first: walk it backwards one creation instant at a time, each instant's
	// keys forwards.
	for end := len(s.live); end > 0 && len(tokens) < want; {
		start := end - 1
		for start > 0 && s.live[start-1].createdAt.Equal(s.live[end-1].createdAt) {
			start--
		}
		for _, rec := range s.live[start:end] {
			if len(tokens) == want {
				break
			}
			tokens = append(tokens, s.deployedToken(rec))
		}
		end = start
	}
	s.mu.Unlock()
	s.writeAPI(w, http.StatusOK, struct {
		Count  int                 `json:"count"`
		Tokens []deployedTokenJSON `json:"tokens"`
	}{len(tokens), tokens})
}

func (s *Server) deployedToken(r *record) deployedTokenJSON {
	t := deployedTokenJSON{
		ID:        r.id,
		Prefix:    r.prefix,
		Name:      r.name,
		OrgID:     r.orgID,
		CreatedBy: r.createdBy,
		CreatedAt: formatTime(r.createdAt),
	}
	if !r.lastUsedAt.IsZero() {
		t.LastUsedAt = formatTime(r.lastUsedAt)
	}
	if !r.expiresAt.IsZero() {
		t.ExpiresAt = formatTime(r.expiresAt)
	}
	return t
}

// revokeDeployed echoes the id as sent. One that is not a UUID at all fails in the database,
// which the service reports as a 500.
func (s *Server) revokeDeployed(w http.ResponseWriter, id string) {
	canonical, ok := canonicalUUID(id)
	if !ok {
		s.writeAPIError(w, http.StatusInternalServerError, msgRevokeFailed)
		return
	}
	s.mu.Lock()
	ok = s.revokeLocked(canonical)
	var snap *stateSnapshot
	if ok {
		snap = s.commitLocked()
	}
	s.mu.Unlock()
	if !ok {
		s.writeAPIError(w, http.StatusNotFound, msgRevokeNotFound)
		return
	}
	if err := s.persist(snap); err != nil {
		s.writeAPIError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.writeAPI(w, http.StatusOK, struct {
		Revoked string `json:"revoked"`
	}{id})
}
