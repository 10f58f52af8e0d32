package emulator

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// The service's own limits and messages (workspace-server/internal/handlers/org_tokens.go).
const (
	maxDeployedNameBytes = 100
	msgNameTooLong       = "name too long (max 100 chars)"
	msgMintFailed        = "failed to mint token"
	msgRevokeFailed      = "failed to revoke"
	msgRevokeNotFound    = "token not found or already revoked"
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
}

// deployedMintResponse is the service's mint response: no created_by, no created_at.
type deployedMintResponse struct {
	ID        string `json:"id"`
	Prefix    string `json:"prefix"`
	Name      string `json:"name,omitempty"`
	AuthToken string `json:"auth_token"`
	Warning   string `json:"warning"`
}

// serveDeployed answers as the service does. Routing comes before authentication there: a
// path or method it does not serve is gin's plain-text 404 whatever the credential, and the
// tenant server has no control plane to refuse.
func (s *Server) serveDeployed(w http.ResponseWriter, r *http.Request) {
	var handle func(http.ResponseWriter, *http.Request, principal)
	switch id, isKey := tokenID(r.URL.Path); {
	case r.URL.Path == tokensPath && r.Method == http.MethodGet:
		handle = func(w http.ResponseWriter, _ *http.Request, _ principal) { s.listDeployed(w) }
	case r.URL.Path == tokensPath && r.Method == http.MethodPost:
		handle = s.mintDeployed
	case isKey && r.Method == http.MethodDelete:
		handle = func(w http.ResponseWriter, _ *http.Request, _ principal) { s.revokeDeployed(w, id) }
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

// mintDeployed runs the mint limit after authentication, as the service's route does, so a
// refused credential never spends the quota while a refused body does.
func (s *Server) mintDeployed(w http.ResponseWriter, r *http.Request, p principal) {
	if !s.admit(w, r, s.mintLimit) {
		return
	}
	name, tooLarge := readDeployedMintRequest(w, r)
	switch {
	case tooLarge:
		s.writeAPIError(w, http.StatusRequestEntityTooLarge, "request body exceeds 64 KiB")
		return
	case len(name) > maxDeployedNameBytes:
		s.writeAPIError(w, http.StatusBadRequest, msgNameTooLong)
		return
	case strings.ContainsRune(name, 0):
		// Postgres refuses NUL in a text column; the service reports the failed insert.
		s.writeAPIError(w, http.StatusInternalServerError, msgMintFailed)
		return
	}
	s.mu.Lock()
	rec, plaintext := s.createLocked(name, p.createdBy, s.clock())
	resp := deployedMintResponse{ID: rec.id, Prefix: rec.prefix, Name: rec.name, AuthToken: plaintext, Warning: mintWarning}
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

// readDeployedMintRequest reads the name as the service does: it ignores every decoding error
// (an empty, broken or mistyped body mints an unnamed key) and anything after the first JSON
// value. The 64 KiB cap is the emulator's own guard; the service reads any size.
func readDeployedMintRequest(w http.ResponseWriter, r *http.Request) (name string, tooLarge bool) {
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	defer body.Close()
	var req struct {
		Name string `json:"name"`
	}
	var maxErr *http.MaxBytesError
	if err := json.NewDecoder(body).Decode(&req); errors.As(err, &maxErr) {
		return "", true
	}
	return req.Name, false
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
		OrgID:     s.orgID,
		CreatedBy: r.createdBy,
		CreatedAt: formatTime(r.createdAt),
	}
	if !r.lastUsedAt.IsZero() {
		t.LastUsedAt = formatTime(r.lastUsedAt)
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
