package emulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rateHeaders is "limit remaining reset" from a response's X-RateLimit-* headers.
func rateHeaders(r reply) string {
	return r.header.Get("X-RateLimit-Limit") + " " + r.header.Get("X-RateLimit-Remaining") + " " + r.header.Get("X-RateLimit-Reset")
}

// expectLimited checks a 429 in the service's shape.
func expectLimited(t *testing.T, a *testAPI, r reply, limit, retryAfter string) {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429; body %s", r.status, r.body)
	}
	if got := r.header.Get("Content-Type"); got != a.spec.contentType {
		t.Fatalf("429 Content-Type %q, want %q", got, a.spec.contentType)
	}
	if body := strings.TrimSpace(string(r.body)); body != `{"error":"rate limit exceeded","retry_after":`+retryAfter+`}` {
		t.Fatalf("429 body %s", body)
	}
	if got := r.header.Get("Retry-After"); got != retryAfter {
		t.Fatalf("Retry-After %q, want %q", got, retryAfter)
	}
	if got, want := rateHeaders(r), limit+" 0 "+retryAfter; got != want {
		t.Fatalf("X-RateLimit-* %q, want %q", got, want)
	}
}

func TestMintLimitByDefault(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		clock := newFakeClock()
		a := newTestAPI(t, Options{Dialect: d, Now: clock.Now})
		for i := range 10 {
			r := a.expect(a.spec.mintStatus, http.MethodPost, "/org/tokens", a.admin(), mintBody("quota"))
			// The mint limiter runs last on a mint, so its headers are the ones sent.
			if got, want := rateHeaders(r), "10 "+string(rune('9'-i))+" 3600"; got != want {
				t.Fatalf("mint %d: X-RateLimit-* %q, want %q", i+1, got, want)
			}
		}
		expectLimited(t, a, a.call(http.MethodPost, "/org/tokens", a.admin(), mintBody("11th")), "10", "3600")
		if n := len(a.emu.LiveKeys()); n != 10 {
			t.Fatalf("%d keys live, want 10: the refused mint was committed", n)
		}

		// Other requests go on, under the request limiter's headers: 11 spent, this is the 12th.
		r := a.expect(http.StatusOK, http.MethodGet, "/org/tokens", a.admin(), "")
		if got := rateHeaders(r); got != "600 588 60" {
			t.Fatalf("list X-RateLimit-* %q, want the request limiter's", got)
		}
		// The Go API is not limited.
		a.emu.Seed(SeedKey{Name: "out of band"})

		clock.Advance(30*time.Minute + 900*time.Millisecond)
		expectLimited(t, a, a.call(http.MethodPost, "/org/tokens", a.admin(), mintBody("later")), "10", "1799")
		clock.Advance(29*time.Minute + 59*time.Second)
		expectLimited(t, a, a.call(http.MethodPost, "/org/tokens", a.admin(), mintBody("almost")), "10", "0")

		clock.Advance(100 * time.Millisecond) // exactly an hour after the first mint
		r = a.expect(a.spec.mintStatus, http.MethodPost, "/org/tokens", a.admin(), mintBody("refilled"))
		if got := rateHeaders(r); got != "10 9 3600" {
			t.Fatalf("after the window X-RateLimit-* %q, want a fresh window", got)
		}
		if n := len(a.emu.LiveKeys()); n != 12 {
			t.Fatalf("%d keys live, want 12", n)
		}
		if n := a.emu.RequestCount(EndpointMint); n != 14 {
			t.Fatalf("RequestCount(mint) = %d, want 14: limited requests count too", n)
		}
	})
}

// TestMintQuotaAfterAuthentication follows the service's middleware order: authentication runs
// before the mint limiter, the body is read after it.
func TestMintQuotaAfterAuthentication(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		three := Limit{Requests: 3, Window: time.Hour}
		clock := newFakeClock()

		a := newTestAPI(t, Options{Dialect: d, Now: clock.Now, MintLimit: three})
		for _, token := range []string{"", "wrong", "", "wrong", "wrong"} {
			r := a.expect(http.StatusUnauthorized, http.MethodPost, "/org/tokens", token, mintBody("refused"))
			if got := r.header.Get("X-RateLimit-Limit"); got != "600" {
				t.Fatalf("a 401 mint carries the mint limiter's headers (%q)", got)
			}
		}
		for range 3 {
			a.mint(a.admin(), "after refusals")
		}
		expectLimited(t, a, a.call(http.MethodPost, "/org/tokens", a.admin(), mintBody("4th")), "3", "3600")

		b := newTestAPI(t, Options{Dialect: d, Now: clock.Now, MintLimit: three})
		for i := range 3 {
			r := b.expect(http.StatusBadRequest, http.MethodPost, "/org/tokens", b.admin(), mintBody(badRequestName(d)))
			if got, want := rateHeaders(r), "3 "+string(rune('2'-i))+" 3600"; got != want {
				t.Fatalf("400 %d: X-RateLimit-* %q, want %q", i+1, got, want)
			}
		}
		expectLimited(t, b, b.call(http.MethodPost, "/org/tokens", b.admin(), mintBody("valid")), "3", "3600")
		if n := len(b.emu.LiveKeys()); n != 0 {
			t.Fatalf("%d keys live, want none", n)
		}
	})
}

func TestRequestLimit(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		clock := newFakeClock()
		// The April build keys every request on its client address, so requests with other
		// credentials, or none, share one window here (TestLimitsArePerCaller covers June's keys).
		a := newTestAPI(t, Options{Dialect: d, Build: BuildApril2026, Now: clock.Now, RequestLimit: Limit{Requests: 3, Window: time.Minute}})
		k, key := a.emu.Seed(SeedKey{Name: "k"})

		// Everything counts: successes, refusals, unrouted paths.
		r := a.expect(http.StatusOK, http.MethodGet, "/org/tokens", a.admin(), "")
		if got := rateHeaders(r); got != "3 2 60" {
			t.Fatalf("X-RateLimit-* %q", got)
		}
		r = a.expect(http.StatusUnauthorized, http.MethodGet, "/org/tokens", "", "")
		if got := rateHeaders(r); got != "3 1 60" {
			t.Fatalf("401 X-RateLimit-* %q", got)
		}
		clock.Advance(20*time.Second + 500*time.Millisecond)
		r = a.expect(http.StatusNotFound, http.MethodGet, "/nowhere", a.admin(), "")
		if got := rateHeaders(r); got != "3 0 39" {
			t.Fatalf("404 X-RateLimit-* %q", got)
		}

		expectLimited(t, a, a.call(http.MethodGet, "/org/tokens", key, ""), "3", "39")
		// The limit comes before authentication: the key was not used.
		if got, _ := a.emu.Key(k.ID); got.LastUsedAt != nil {
			t.Fatal("a rate-limited request updated last_used_at")
		}
		// A mint refused here leaves the mint quota whole.
		expectLimited(t, a, a.call(http.MethodPost, "/org/tokens", a.admin(), mintBody("x")), "3", "39")
		expectLimited(t, a, a.call(http.MethodDelete, "/org/tokens/"+k.ID, a.admin(), ""), "3", "39")
		if !a.emu.IsLive(k.ID) {
			t.Fatal("a rate-limited revoke was committed")
		}
		// Control endpoints are outside every limit.
		a.expect(http.StatusOK, http.MethodGet, "/_emulator/stats", a.admin(), "")
		if got := a.emu.RequestCounts(); got[EndpointList] != 3 || got[EndpointMint] != 1 || got[EndpointRevoke] != 1 || got[EndpointOther] != 1 {
			t.Fatalf("RequestCounts %v: limited requests must count", got)
		}

		clock.Advance(40 * time.Second)
		r = a.expect(a.spec.mintStatus, http.MethodPost, "/org/tokens", a.admin(), mintBody("x"))
		if got := rateHeaders(r); got != "10 9 3600" {
			t.Fatalf("first mint X-RateLimit-* %q, want an untouched mint quota", got)
		}
	})
}

func TestLimitsArePerAddressOnApril(t *testing.T) {
	t.Parallel()
	emu, err := New(Options{
		Build:        BuildApril2026,
		MintLimit:    Limit{Requests: 2, Window: time.Hour},
		RequestLimit: Limit{Requests: 3, Window: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	do := func(method, remoteAddr string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(t.Context(), method, "/org/tokens", nil)
		req.RemoteAddr = remoteAddr
		req.Header.Set("Authorization", "Bearer "+emu.AdminToken())
		rec := httptest.NewRecorder()
		emu.Handler().ServeHTTP(rec, req)
		return rec
	}
	// The address is the host: another port of the same host shares its windows.
	for _, step := range []struct {
		method, addr string
		want         int
	}{
		{http.MethodPost, "192.0.2.1:1111", http.StatusOK},
		{http.MethodPost, "192.0.2.1:2222", http.StatusOK},
		{http.MethodPost, "192.0.2.1:3333", http.StatusTooManyRequests},
		{http.MethodPost, "192.0.2.2:1111", http.StatusOK},
		{http.MethodPost, "[2001:db8::1]:443", http.StatusOK},
		{http.MethodPost, "[2001:db8::1]:444", http.StatusOK},
		{http.MethodPost, "[2001:db8::1]:445", http.StatusTooManyRequests},
		{http.MethodGet, "192.0.2.1:4444", http.StatusTooManyRequests}, // its 4th request
		{http.MethodGet, "[2001:db8::1]:446", http.StatusTooManyRequests},
		{http.MethodGet, "192.0.2.2:1111", http.StatusOK},
	} {
		if rec := do(step.method, step.addr); rec.Code != step.want {
			t.Fatalf("%s from %s: %d, want %d (%s)", step.method, step.addr, rec.Code, step.want, rec.Body)
		}
	}
}

func TestLimitSwitches(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		clock := newFakeClock()
		a := newTestAPI(t, Options{Dialect: d, Now: clock.Now, MintLimit: NoLimit, RequestLimit: NoLimit})
		for range 15 {
			r := a.expect(a.spec.mintStatus, http.MethodPost, "/org/tokens", a.admin(), mintBody("free"))
			if got := rateHeaders(r); got != "  " {
				t.Fatalf("a disabled limit still advertises %q", got)
			}
		}

		a.emu.SetMintLimit(Limit{Requests: 1, Window: time.Hour})
		r := a.expect(a.spec.mintStatus, http.MethodPost, "/org/tokens", a.admin(), mintBody("one"))
		if got := rateHeaders(r); got != "1 0 3600" {
			t.Fatalf("X-RateLimit-* %q", got)
		}
		expectLimited(t, a, a.call(http.MethodPost, "/org/tokens", a.admin(), mintBody("two")), "1", "3600")
		// Setting a limit forgets every window, even for the same limit.
		a.emu.SetMintLimit(Limit{Requests: 1, Window: time.Hour})
		a.mint(a.admin(), "forgotten window")
		a.emu.SetMintLimit(NoLimit)
		a.mint(a.admin(), "off again")
		// The zero Limit, and any field left zero, is the service's default.
		a.emu.SetMintLimit(Limit{Window: time.Minute})
		r = a.expect(a.spec.mintStatus, http.MethodPost, "/org/tokens", a.admin(), mintBody("default count"))
		if got := rateHeaders(r); got != "10 9 60" {
			t.Fatalf("X-RateLimit-* %q, want 10 per minute", got)
		}

		a.emu.SetRequestLimit(Limit{Requests: 1})
		r = a.expect(http.StatusOK, http.MethodGet, "/org/tokens", a.admin(), "")
		if got := rateHeaders(r); got != "1 0 60" {
			t.Fatalf("X-RateLimit-* %q, want 1 per minute", got)
		}
		expectLimited(t, a, a.call(http.MethodGet, "/org/tokens", a.admin(), ""), "1", "60")
		a.emu.SetRequestLimit(Limit{})
		r = a.expect(http.StatusOK, http.MethodGet, "/org/tokens", a.admin(), "")
		if got := rateHeaders(r); got != "600 599 60" {
			t.Fatalf("X-RateLimit-* %q, want the default", got)
		}
	})
}

// TestFaultsInFrontOfServiceLimits: a fault stands for a proxy in front of the service, so an
// answer it invents spends nothing, while an operation it lets through is limited as usual.
func TestFaultsInFrontOfServiceLimits(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		clock := newFakeClock()
		a := newTestAPI(t, Options{Dialect: d, Now: clock.Now, MintLimit: Limit{Requests: 1, Window: time.Hour}})
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Status: http.StatusServiceUnavailable, Times: 3})
		for range 3 {
			r := a.expect(http.StatusServiceUnavailable, http.MethodPost, "/org/tokens", a.admin(), mintBody("x"))
			if got := rateHeaders(r); got != "  " {
				t.Fatalf("a fault's answer carries the service's headers %q", got)
			}
		}
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Mode: FaultCommitThenStatus})
		a.expect(http.StatusBadGateway, http.MethodPost, "/org/tokens", a.admin(), mintBody("committed"))
		if n := len(a.emu.LiveKeys()); n != 1 {
			t.Fatalf("%d keys live, want the one committed behind the fault", n)
		}
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Mode: FaultCommitThenStatus})
		a.expect(http.StatusBadGateway, http.MethodPost, "/org/tokens", a.admin(), mintBody("limited behind the fault"))
		if n := len(a.emu.LiveKeys()); n != 1 {
			t.Fatalf("%d keys live: the service's limit did not hold behind the fault", n)
		}
		expectLimited(t, a, a.call(http.MethodPost, "/org/tokens", a.admin(), mintBody("x")), "1", "3600")
	})
}
