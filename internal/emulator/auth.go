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
	createdBy string // attribution of keys this principal mints, and its class in approvals
	orgID     string // an org key's organization, which the keys it mints inherit; "" => none
}

// Deployed 401 messages: the service tells a missing credential from a refused one, and says
// nothing more.
const (
	msgAuthRequired = "admin auth required"
	msgAuthInvalid  = "invalid admin auth token"
)

// bearerToken extracts the credential of an "Authorization: Bearer …" header, accepting any
// case of the scheme (the guide's reading, and the control endpoints').
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// deployedBearerToken is the service's BearerTokenFromHeader: the scheme is exactly "Bearer "
// and anything else counts as no credential at all.
func deployedBearerToken(r *http.Request) (string, bool) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	return token, ok && token != ""
}

// isAdmin checks the admin credential in constant time.
func (s *Server) isAdmin(token string) bool {
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.adminToken)) == 1
}

// authenticate resolves a credential. An org key's use is recorded in its last_used_at; the
// returned snapshot, if any, must be persisted before answering.
func (s *Server) authenticate(token string) (principal, *stateSnapshot, bool) {
	if s.isAdmin(token) {
		return principal{kind: principalAdmin, createdBy: createdByAdmin}, nil, true
	}
	sum := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	// An expired key no longer authenticates, although the service still lists it.
	if rec, ok := s.byHash[sum]; ok && !rec.expired(s.clock()) {
		s.touchLocked(rec)
		prefix := rec.prefix
		if prefix == "" { // a key loaded from a state file that predates stored prefixes
			prefix = token[:min(keyPrefixLen, len(token))]
		}
		return principal{kind: principalOrgKey, createdBy: "org-token:" + prefix, orgID: rec.orgID}, s.commitLocked(), true
	}
	if user, ok := s.sessions[sum]; ok {
		createdBy := "session"
		if s.dialect == DialectGuide {
			createdBy += ":" + user
		}
		return principal{kind: principalSession, createdBy: createdBy}, nil, true
	}
	return principal{}, nil, false
}
