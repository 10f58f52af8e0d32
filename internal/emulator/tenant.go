package emulator

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// Build selects which build of the Molecule server the emulator follows where builds differ
// (API.md: April and June 2026). The zero value is the newest, BuildJune2026.
type Build string

const (
	// BuildJune2026 is the server as of June 2026 and newer, as the hosted service runs it: its
	// limits key on X-Molecule-Org-Id, else the credential, else the client address, and a hosted
	// tenant answers a request without its routing header with a JSON 400.
	BuildJune2026 Build = "2026-06"
	// BuildApril2026 is the April 2026 build: limits per client address, and a hosted tenant
	// answers a request without its routing header with a bare 404.
	BuildApril2026 Build = "2026-04"
)

// orgIDHeader is the hosted service's routing header: the organization's UUID.
const orgIDHeader = "X-Molecule-Org-Id"

// TenantGuard answers, in front of next, as a hosted organization's tenant server does (the
// server's TenantGuard middleware with MOLECULE_ORG_ID set): a request whose X-Molecule-Org-Id is
// orgID goes through; one without the header gets the build's refusal (June and newer: a 400
// with code TENANT_ORG_HEADER_REQUIRED; April: a bare 404); one with another org's id gets a bare
// 404, "so the tenant's existence cannot be inferred". An empty orgID is a self-hosted server,
// which routes everything. Tests put it in front of a real server as well as the emulator.
func TenantGuard(orgID string, build Build, next http.Handler) http.Handler {
	if orgID == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get(orgIDHeader)
		switch {
		case got == orgID:
			next.ServeHTTP(w, r)
		case got == "" && build != BuildApril2026:
			writeJSONAs(w, http.StatusBadRequest, jsonType, "", struct {
				Error          string `json:"error"`
				Code           string `json:"code"`
				RequiredHeader string `json:"required_header"`
				Detail         string `json:"detail"`
			}{"missing tenant routing header", "TENANT_ORG_HEADER_REQUIRED", orgIDHeader,
				"SaaS tenant API requests must include X-Molecule-Org-Id matching the organization UUID."})
		default:
			// gin's AbortWithStatus: the status alone, no body, no content type.
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusNotFound)
		}
	})
}

// limitKey is what the build's limiters count a request against: June and newer key on the
// organization header, else the credential, else the client address; April on the address.
func (s *Server) limitKey(r *http.Request) string {
	if s.build == BuildApril2026 {
		return "ip:" + clientAddr(r)
	}
	if org := strings.TrimSpace(r.Header.Get(orgIDHeader)); org != "" {
		return "org:" + org
	}
	if token, ok := deployedBearerToken(r); ok {
		return "tok:" + hashHex(token)
	}
	return "ip:" + clientAddr(r)
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
