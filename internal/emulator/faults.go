package emulator

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

// FaultMode says what an injected fault does to the request it applies to.
type FaultMode int

const (
	// FaultRespond answers Status/Body/RetryAfter without touching state. With Status 0 the
	// fault only adds Latency and the request is then handled normally.
	FaultRespond FaultMode = iota
	// FaultCommitThenDrop performs the operation, then closes the connection without a
	// response: the client cannot tell whether it happened.
	FaultCommitThenDrop
	// FaultCommitThenStatus performs the operation, then answers Status (0 => 502) with Body,
	// like a proxy failing after the service committed.
	FaultCommitThenStatus
	// FaultDropBeforeCommit closes the connection without performing anything.
	FaultDropBeforeCommit
	// FaultCommitThenHang performs the operation, then holds the response until the client
	// gives up (a timeout, or Ctrl-C) and closes the connection: the answer is lost in flight.
	FaultCommitThenHang
	// FaultCommitLate performs the operation Latency after the request arrived, whether or not
	// the client is still waiting by then, as a service does that finishes a request its client
	// has given up on; only the server's Close ends the wait, without performing anything. The
	// answer goes to the client if it is still listening.
	FaultCommitLate
)

// Fault is one injected failure. Faults queue in the order added; each request takes the first
// one whose Endpoint matches.
type Fault struct {
	Endpoint    string        // EndpointMint/List/Revoke/Other; "" => any endpoint
	Mode        FaultMode     // zero value: FaultRespond
	Status      int           // HTTP status for FaultRespond and FaultCommitThenStatus
	RetryAfter  string        // raw Retry-After header value, "" => none
	Body        string        // raw body; "" => {"error":"<status text>"}, unless NoBody
	NoBody      bool          // answer the status alone: no body, no content type (a router's bare 404)
	ContentType string        // "" => application/json
	Latency     time.Duration // delay before handling; ends early if the client cancels, except in FaultCommitLate
	Times       int           // how many matching requests it applies to; 0 => 1
}

// RateLimit is a fixed-window limit over all API requests, timed by Options.Now. It is checked
// before faults, so a limited request does not use up a queued fault.
type RateLimit struct {
	Requests   int           // per window; <= 0 disables the limit
	Per        time.Duration // window length; <= 0 => one second
	RetryAfter string        // raw Retry-After on a 429; "" => seconds left in the window
}

// RequestCount returns how many requests reached the handler for endpoint, including those that
// were faulted, rate limited or unauthorized. Control endpoints are not counted.
func (s *Server) RequestCount(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[endpoint]
}

// RequestCounts returns every endpoint's count, zeros included.
func (s *Server) RequestCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.countsLocked()
}

func (s *Server) countsLocked() map[string]int {
	out := map[string]int{EndpointMint: 0, EndpointList: 0, EndpointRevoke: 0, EndpointApprovals: 0, EndpointDecide: 0, EndpointOther: 0}
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// ResetCounts zeroes all request counters.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.counts)
}

// AddFault queues a fault behind those already queued.
func (s *Server) AddFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f)
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// SetRateLimit replaces the rate limit and starts a fresh window.
func (s *Server) SetRateLimit(r RateLimit) {
	if r.Per <= 0 {
		r.Per = time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = r
	s.window = time.Time{}
	s.inWindow = 0
}

// SetLatency delays every API request by d before it is handled (0 disables).
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// takeFaultLocked consumes one application of the first fault matching endpoint.
func (s *Server) takeFaultLocked(endpoint string) (Fault, bool) {
	for i := range s.faults {
		f := &s.faults[i]
		if f.Endpoint != "" && f.Endpoint != endpoint {
			continue
		}
		taken := *f
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		return taken, true
	}
	return Fault{}, false
}

// rateLimitedLocked counts the request in the current window and, if it is over the limit,
// returns the Retry-After value to send.
func (s *Server) rateLimitedLocked() (string, bool) {
	if s.rate.Requests <= 0 {
		return "", false
	}
	now := s.clock()
	if s.window.IsZero() || !now.Before(s.window.Add(s.rate.Per)) || now.Before(s.window) {
		s.window, s.inWindow = now, 0
	}
	s.inWindow++
	if s.inWindow <= s.rate.Requests {
		return "", false
	}
	if s.rate.RetryAfter != "" {
		return s.rate.RetryAfter, true
	}
	left := s.window.Add(s.rate.Per).Sub(now)
	return strconv.Itoa(max(1, int(math.Ceil(left.Seconds())))), true
}

// wait sleeps for d unless the client goes away or the server closes first. It reports whether
// handling should continue; if not, it has already answered.
func (s *Server) wait(w http.ResponseWriter, r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	bufferBody(r)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		// Nobody reads this answer; the status only makes the standalone log line truthful.
		writeError(w, statusClientClosedRequest, "client closed request")
	case <-s.baseCtx.Done():
		writeError(w, http.StatusServiceUnavailable, "emulator shutting down")
	}
	return false
}

// commitLate carries out a FaultCommitLate: it waits f.Latency whatever the client does, then
// performs the operation and answers, unless the server closes first.
func (s *Server) commitLate(w http.ResponseWriter, r *http.Request, f Fault) {
	bufferBody(r)
	t := time.NewTimer(f.Latency)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.baseCtx.Done():
		writeError(w, http.StatusServiceUnavailable, "emulator shutting down")
		return
	}
	if r.Context().Err() == nil {
		s.serveAPI(w, r)
		return
	}
	s.serveAPI(&discardWriter{}, r)
	// Nobody reads this answer; the status only makes the standalone log line truthful.
	writeError(w, statusClientClosedRequest, "client closed request")
}

// bufferBody reads the request body (as much of it as any handler reads) into memory before a
// wait: the server notices a client leaving only once the body has been read, and once the
// client has gone the connection may no longer yield it. A body that cannot be read (already
// consumed, or cut off) is kept as far as it was read; the handler then judges it.
func bufferBody(r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	r.Body = io.NopCloser(bytes.NewReader(body))
}

// statusClientClosedRequest is nginx's convention for a request the client abandoned.
const statusClientClosedRequest = 499

func writeFault(w http.ResponseWriter, f Fault, status int) {
	if status < 200 || status > 999 {
		// net/http panics on such codes; a typo in a test should fail loudly but readably.
		writeError(w, http.StatusInternalServerError, "emulator: invalid fault status "+strconv.Itoa(status))
		return
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.NoBody {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(status)
		return
	}
	if f.Body == "" {
		text := http.StatusText(status)
		if text == "" {
			text = "HTTP " + strconv.Itoa(status)
		}
		writeError(w, status, text)
		return
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(f.Body))
}

// drop closes the client's connection without a response. Where the connection cannot be
// hijacked (HTTP/2, recorders), aborting the handler resets the stream instead.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// discardWriter runs an operation whose answer the fault replaces.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}

func (*discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (*discardWriter) WriteHeader(int)             {}
