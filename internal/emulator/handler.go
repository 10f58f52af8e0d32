package emulator

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	tokensPath      = "/org/tokens"
	controlPlane    = "/cp/admin"
	controlPrefix   = "/_emulator"
	maxBodyBytes    = 64 << 10
	maxNameRunes    = 128
	unauthorizedMsg = "missing, unknown or revoked credential"
)

// tokenJSON is a key in the guide's list.
type tokenJSON struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	CreatedBy  string  `json:"created_by"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
}

// mintResponse is the guide's mint response.
type mintResponse struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Key       string `json:"key"`
	CreatedBy string `json:"created_by"`
	CreatedAt string `json:"created_at"`
}

// controlKeyJSON is a key on /_emulator/keys, in either dialect.
type controlKeyJSON struct {
	tokenJSON
	Prefix    string  `json:"prefix,omitempty"`
	RevokedAt *string `json:"revoked_at"`
}

func (r *record) token() tokenJSON {
	return tokenJSON{
		ID:         r.id,
		Name:       r.name,
		CreatedBy:  r.createdBy,
		CreatedAt:  formatTime(r.createdAt),
		LastUsedAt: formatOptionalTime(r.lastUsedAt),
	}
}

// formatTime prints a stored time. Stored times are already truncated to the dialect's
// precision, so this gives the guide's whole seconds and the service's trailing-zero-free
// microseconds ("…:38.03326Z") alike.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func formatOptionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

// classify names the endpoint a request is counted under and faults are matched against.
func classify(r *http.Request) string {
	switch {
	case r.URL.Path == tokensPath && r.Method == http.MethodPost:
		return EndpointMint
	case r.URL.Path == tokensPath && r.Method == http.MethodGet:
		return EndpointList
	case r.Method == http.MethodDelete:
		if _, ok := tokenID(r.URL.Path); ok {
			return EndpointRevoke
		}
	}
	if _, _, endpoint := approvalRoute(r); endpoint != "" {
		return endpoint
	}
	return EndpointOther
}

// tokenID extracts {id} from /org/tokens/{id}.
func tokenID(path string) (string, bool) {
	id, ok := strings.CutPrefix(path, tokensPath+"/")
	return id, ok && id != "" && !strings.Contains(id, "/")
}

// serveHTTP applies the test harness (counters, latency, rate limit, faults) in front of the API.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == controlPrefix || strings.HasPrefix(r.URL.Path, controlPrefix+"/") {
		s.serveControl(w, r)
		return
	}
	endpoint := classify(r)
	// Date is the service's clock, the one its created_at comes from, so a client may compare them.
	w.Header().Set("Date", s.clock().UTC().Format(http.TimeFormat))
	s.mu.Lock()
	s.counts[endpoint]++
	latency := s.latency
	s.mu.Unlock()

	if !s.wait(w, r, latency) {
		return
	}

	s.mu.Lock()
	retryAfter, limited := s.rateLimitedLocked()
	var f Fault
	var faulted bool
	if !limited {
		f, faulted = s.takeFaultLocked(endpoint)
	}
	s.mu.Unlock()

	if limited {
		w.Header().Set("Retry-After", retryAfter)
		writeError(w, http.StatusTooManyRequests, "rate limit exceeded")
		return
	}
	if faulted {
		if f.Mode != FaultCommitLate && !s.wait(w, r, f.Latency) {
			return
		}
		if s.applyFault(w, r, f) {
			return
		}
	}
	s.serveAPI(w, r)
}

// applyFault carries out f and reports whether it answered the request.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f.Mode {
	case FaultRespond:
		if f.Status == 0 {
			return false
		}
		writeFault(w, f, f.Status)
	case FaultCommitThenDrop:
		s.serveAPI(&discardWriter{}, r)
		drop(w)
	case FaultCommitThenStatus:
		s.serveAPI(&discardWriter{}, r)
		status := f.Status
		if status == 0 {
			status = http.StatusBadGateway
		}
		writeFault(w, f, status)
	case FaultDropBeforeCommit:
		drop(w)
	case FaultCommitThenHang:
		s.serveAPI(&discardWriter{}, r)
		if s.wait(w, r, 24*time.Hour) {
			drop(w)
		}
	case FaultCommitLate:
		s.commitLate(w, r, f)
	default:
		writeError(w, http.StatusInternalServerError, "emulator: unknown fault mode "+strconv.Itoa(int(f.Mode)))
	}
	return true
}

// serveAPI is the Molecule org token API proper. The service's request limit comes first, before
// the tenant guard, routing and authentication, as its middleware does.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, s.requestLimit) {
		return
	}
	s.routed.ServeHTTP(w, r)
}

// serveRouted answers a request the tenant guard let through, in the dialect's shape.
func (s *Server) serveRouted(w http.ResponseWriter, r *http.Request) {
	if s.dialect == DialectDeployed {
		s.serveDeployed(w, r)
		return
	}
	s.serveGuide(w, r)
}

// serveGuide answers in the guide's shape.
func (s *Server) serveGuide(w http.ResponseWriter, r *http.Request) {
	token, _ := bearerToken(r)
	p, snap, ok := s.authenticate(token)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="molecule"`)
		writeError(w, http.StatusUnauthorized, unauthorizedMsg)
		return
	}
	if err := s.persist(snap); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}

	path := r.URL.Path
	if path == tokensPath {
		switch r.Method {
		case http.MethodPost:
			s.mint(w, r, p)
		case http.MethodGet:
			s.list(w)
		default:
			methodNotAllowed(w, "GET, POST")
		}
		return
	}
	if id, ok := tokenID(path); ok {
		if r.Method != http.MethodDelete {
			methodNotAllowed(w, http.MethodDelete)
			return
		}
		s.revokeRequest(w, id)
		return
	}
	if (path == controlPlane || strings.HasPrefix(path, controlPlane+"/")) && p.kind != principalAdmin {
		writeError(w, http.StatusForbidden, "org credentials cannot reach the control plane")
		return
	}
	writeError(w, http.StatusNotFound, "not found")
}

func (s *Server) mint(w http.ResponseWriter, r *http.Request, p principal) {
	if !s.admit(w, r, s.mintLimit) {
		return
	}
	name, status, msg := readMintRequest(w, r)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	if err := validateName(name); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	rec, plaintext := s.createLocked(name, p.createdBy, "", s.clock(), nil)
	resp := mintResponse{ID: rec.id, Name: rec.name, Key: plaintext, CreatedBy: rec.createdBy, CreatedAt: formatTime(rec.createdAt)}
	snap := s.commitLocked()
	s.mu.Unlock()
	if err := s.persist(snap); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	// The only response that ever carries a plaintext key must not be stored by any cache.
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, resp)
}

// readMintRequest decodes {"name": …}; a non-zero status means the request is refused with msg.
// Unknown fields are ignored, as the service may grow new ones (roles).
func readMintRequest(w http.ResponseWriter, r *http.Request) (name string, status int, msg string) {
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	defer body.Close()
	var req struct {
		Name *string `json:"name"`
	}
	dec := json.NewDecoder(body)
	err := dec.Decode(&req)
	if err == nil {
		// Anything after the object is as malformed as a broken object.
		var extra json.RawMessage
		if err = dec.Decode(&extra); errors.Is(err, io.EOF) {
			err = nil
		} else if err == nil {
			err = errors.New("trailing data")
		}
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return "", http.StatusRequestEntityTooLarge, "request body exceeds 64 KiB"
	case err != nil:
		return "", http.StatusBadRequest, `request body must be a JSON object such as {"name":"ci"}`
	case req.Name == nil:
		return "", http.StatusBadRequest, "name is required"
	}
	return *req.Name, 0, ""
}

// validateName applies API.md's name rules.
func validateName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("name must not be empty")
	}
	if utf8.RuneCountInString(name) > maxNameRunes {
		return errors.New("name must be at most 128 characters")
	}
	for _, c := range name {
		if unicode.IsControl(c) {
			return errors.New("name must not contain control characters")
		}
	}
	return nil
}

// list answers the newest ListCap live keys in a fresh random order: the guide promises none,
// and a client must not come to rely on one. The cap still keeps the newest keys.
func (s *Server) list(w http.ResponseWriter) {
	s.mu.Lock()
	listed := s.live
	if s.listCap >= 0 && len(listed) > s.listCap {
		listed = listed[len(listed)-s.listCap:]
	}
	tokens := make([]tokenJSON, 0, len(listed))
	for _, i := range s.shuffledLocked(len(listed)) {
		tokens = append(tokens, listed[i].token())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Tokens []tokenJSON `json:"tokens"`
	}{tokens})
}

// shuffledLocked returns 0…n-1 in a random order that is never the identity when n > 1: listed
// keys are in creation order, and a list that came out in it by chance would let a client that
// relies on that order pass a test once in n! lists. Every other order is equally likely.
func (s *Server) shuffledLocked(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if n < 2 {
		return order
	}
	for {
		s.listOrder.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for i, v := range order {
			if v != i {
				return order
			}
		}
	}
}

func (s *Server) revokeRequest(w http.ResponseWriter, id string) {
	s.mu.Lock()
	ok := s.revokeLocked(id)
	var snap *stateSnapshot
	if ok {
		snap = s.commitLocked()
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "token not found")
		return
	}
	if err := s.persist(snap); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveControl answers the emulator's own endpoints. They are outside the harness: not counted,
// never delayed, limited or faulted, and they change nothing (no last_used_at either).
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	token, ok := bearerToken(r)
	if !ok || !s.isAdmin(token) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="molecule-emulator"`)
		writeError(w, http.StatusUnauthorized, "the emulator's control endpoints need the admin token")
		return
	}
	switch r.URL.Path {
	case controlPrefix + "/keys":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		s.mu.Lock()
		keys := make([]controlKeyJSON, 0, len(s.order))
		for _, rec := range s.order {
			keys = append(keys, controlKeyJSON{tokenJSON: rec.token(), Prefix: rec.prefix, RevokedAt: formatOptionalTime(rec.revokedAt)})
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, struct {
			Keys []controlKeyJSON `json:"keys"`
		}{keys})
	case controlPrefix + "/stats":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		s.mu.Lock()
		counts := s.countsLocked()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, struct {
			Requests map[string]int `json:"requests"`
		}{counts})
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method not allowed")
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

// jsonType is what the service's framework (gin) labels its JSON with.
const jsonType = "application/json; charset=utf-8"

// writeAPI answers from the API proper, labelled as the dialect's server labels it.
func (s *Server) writeAPI(w http.ResponseWriter, status int, v any) {
	if s.dialect == DialectDeployed {
		writeJSONAs(w, status, jsonType, "", v) // gin ends its JSON without a newline
		return
	}
	writeJSON(w, status, v)
}

func (s *Server) writeAPIError(w http.ResponseWriter, status int, msg string) {
	s.writeAPI(w, status, struct {
		Error string `json:"error"`
	}{msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONAs(w, status, "application/json", "\n", v)
}

func writeJSONAs(w http.ResponseWriter, status int, contentType, end string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":"emulator: encoding response failed"}`)
	}
	body = append(body, end...)
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
