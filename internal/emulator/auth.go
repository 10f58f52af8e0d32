package emulator

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

type principalKind int

const (
	principalAdmin principalKind = iota + 1
	principalOrgKey
	principalSession
)

// principal is who a request authenticated as.
type principal struct {
	kind      principalKind
	createdBy string // attribution of keys this principal mints
}

// orgTokenPrefixLen is how much of a minting key is shown in created_by (API.md: "mola_k7x").
const orgTokenPrefixLen = 8

// bearerToken extracts the credential of an "Authorization: Bearer …" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// isAdmin checks the admin credential in constant time.
func (s *Server) isAdmin(token string) bool {
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.adminToken)) == 1
}

// authenticate resolves the request's credential. An org key's use is recorded in its
// last_used_at; the returned snapshot, if any, must be persisted before answering.
func (s *Server) authenticate(r *http.Request) (principal, *stateSnapshot, bool) {
	token, ok := bearerToken(r)
	if !ok {
		return principal{}, nil, false
	}
	if s.isAdmin(token) {
		return principal{kind: principalAdmin, createdBy: createdByAdmin}, nil, true
	}
	sum := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.byHash[sum]; ok {
		s.touchLocked(rec)
		prefix := token[:min(orgTokenPrefixLen, len(token))]
		return principal{kind: principalOrgKey, createdBy: "org-token:" + prefix}, s.commitLocked(), true
	}
	if user, ok := s.sessions[sum]; ok {
		return principal{kind: principalSession, createdBy: "session:" + user}, nil, true
	}
	return principal{}, nil, false
}
