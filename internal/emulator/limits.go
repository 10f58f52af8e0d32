package emulator

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Limit is a per-caller fixed-window limit, as the service applies it: a caller's window starts
// with its first request and refills Window later. The caller is the request's
// X-Molecule-Org-Id, else its credential, else its client address (BuildApril2026: always the
// client address), which is the host of its RemoteAddr: the service trusts no forwarding header.
type Limit struct {
	Requests int           // per window; <= 0 => the deployed default
	Window   time.Duration // <= 0 => the deployed default
	Off      bool          // disables the limit
}

// NoLimit disables a limit: Options{MintLimit: NoLimit} mints without a quota.
var NoLimit = Limit{Off: true}

var (
	defaultMintLimit    = Limit{Requests: 10, Window: time.Hour}
	defaultRequestLimit = Limit{Requests: 600, Window: time.Minute}
)

// maxBuckets is when a limiter starts forgetting addresses whose window has ended, so a client
// cycling through loopback addresses cannot grow it without bound.
const maxBuckets = 4096

// limiter is one of the service's rate limiters (its middleware.RateLimiter).
type limiter struct {
	def Limit

	mu      sync.Mutex
	limit   Limit
	buckets map[string]*bucket
}

type bucket struct {
	tokens int
	start  time.Time
}

// verdict is what a limiter decided about one request, and the headers it advertises.
type verdict struct {
	active                  bool // false: the limit is off and says nothing
	allowed                 bool
	limit, remaining, reset int // reset: whole seconds until the window refills
}

func newLimiter(l, def Limit) *limiter {
	lim := &limiter{def: def}
	lim.set(l)
	return lim
}

func (l *limiter) set(limit Limit) {
	if !limit.Off {
		if limit.Requests <= 0 {
			limit.Requests = l.def.Requests
		}
		if limit.Window <= 0 {
			limit.Window = l.def.Window
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = limit
	l.buckets = map[string]*bucket{}
}

// take spends one request of addr's window at now. Like the service, it computes the headers
// before spending, floors the seconds left, and does not spend on a refused request.
func (l *limiter) take(addr string, now time.Time) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limit.Off {
		return verdict{}
	}
	b, ok := l.buckets[addr]
	// A clock moved backwards (a test's fake clock) starts a fresh window rather than a
	// window longer than the limit's.
	if !ok || !now.Before(b.start.Add(l.limit.Window)) || now.Before(b.start) {
		if !ok && len(l.buckets) >= maxBuckets {
			l.forgetEndedLocked(now)
		}
		b = &bucket{tokens: l.limit.Requests, start: now}
		l.buckets[addr] = b
	}
	v := verdict{
		active:    true,
		allowed:   b.tokens > 0,
		limit:     l.limit.Requests,
		remaining: max(b.tokens-1, 0),
		reset:     max(int(b.start.Add(l.limit.Window).Sub(now).Seconds()), 0),
	}
	if v.allowed {
		b.tokens--
	}
	return v
}

func (l *limiter) forgetEndedLocked(now time.Time) {
	for addr, b := range l.buckets {
		if !now.Before(b.start.Add(l.limit.Window)) {
			delete(l.buckets, addr)
		}
	}
}

// SetMintLimit replaces the mint limit (see Options.MintLimit) and forgets every address's
// window.
func (s *Server) SetMintLimit(l Limit) { s.mintLimit.set(l) }

// SetRequestLimit replaces the request limit (see Options.RequestLimit) and forgets every
// address's window.
func (s *Server) SetRequestLimit(l Limit) { s.requestLimit.set(l) }

// clientAddr is the client address the service's limiters key on when nothing else identifies
// the caller.
func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// admit runs r through l. It sets l's X-RateLimit-* headers, overwriting those of a limiter
// that ran before (the service's mint limiter runs after its request limiter), and answers 429
// when the window is spent.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, l *limiter) bool {
	v := l.take(s.limitKey(r), s.clock())
	if !v.active {
		return true
	}
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(v.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(v.remaining))
	h.Set("X-RateLimit-Reset", strconv.Itoa(v.reset))
	if v.allowed {
		return true
	}
	h.Set("Retry-After", strconv.Itoa(v.reset))
	s.writeAPI(w, http.StatusTooManyRequests, struct {
		Error      string `json:"error"`
		RetryAfter int    `json:"retry_after"`
	}{"rate limit exceeded", v.reset})
	return false
}
