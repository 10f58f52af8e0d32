package emulator

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestFaultRespond(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Status: http.StatusServiceUnavailable, RetryAfter: "7"})
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Status: http.StatusBadGateway, Body: "<html>bad gateway</html>", ContentType: "text/html"})

		r := a.expect(http.StatusServiceUnavailable, http.MethodPost, "/org/tokens", a.admin(), mintBody("a"))
		if r.header.Get("Retry-After") != "7" {
			t.Fatalf("Retry-After %q, want 7", r.header.Get("Retry-After"))
		}
		if msg := errorMessage(t, r); msg != "Service Unavailable" {
			t.Fatalf("default fault body message %q", msg)
		}

		r = a.expect(http.StatusBadGateway, http.MethodPost, "/org/tokens", a.admin(), mintBody("a"))
		if string(r.body) != "<html>bad gateway</html>" || r.header.Get("Content-Type") != "text/html" || r.header.Get("Retry-After") != "" {
			t.Fatalf("custom fault answered %q (%s)", r.body, r.header)
		}
		if n := len(a.emu.LiveKeys()); n != 0 {
			t.Fatalf("a respond fault touched state: %d keys", n)
		}
		a.mint(a.admin(), "after the faults")
	})
}

func TestFaultRespondDoesNotAuthenticate(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		k, key := a.emu.Seed(SeedKey{Name: "k"})
		a.emu.AddFault(Fault{Status: http.StatusInternalServerError})
		a.expect(http.StatusInternalServerError, http.MethodGet, "/org/tokens", key, "")
		if got, _ := a.emu.Key(k.ID); got.LastUsedAt != nil {
			t.Fatal("a request answered by a fault updated last_used_at")
		}
		a.emu.AddFault(Fault{Status: http.StatusInternalServerError})
		a.expect(http.StatusInternalServerError, http.MethodGet, "/org/tokens", "", "")
	})
}

func TestFaultTimesEndpointAndOrder(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		k, _ := a.emu.Seed(SeedKey{Name: "k"})
		a.emu.AddFault(Fault{Endpoint: EndpointRevoke, Status: http.StatusConflict})
		a.emu.AddFault(Fault{Endpoint: EndpointList, Status: http.StatusInternalServerError, Times: 2})
		a.emu.AddFault(Fault{Endpoint: EndpointList, Status: http.StatusServiceUnavailable})
		a.emu.AddFault(Fault{Status: http.StatusTeapot, Times: 2})

		// Mint matches only the catch-all fault; list goes through its own faults in order first.
		a.expect(http.StatusTeapot, http.MethodPost, "/org/tokens", a.admin(), mintBody("x"))
		a.expect(http.StatusInternalServerError, http.MethodGet, "/org/tokens", a.admin(), "")
		a.expect(http.StatusInternalServerError, http.MethodGet, "/org/tokens", a.admin(), "")
		a.expect(http.StatusServiceUnavailable, http.MethodGet, "/org/tokens", a.admin(), "")
		a.expect(http.StatusTeapot, http.MethodGet, "/anything", a.admin(), "")
		a.list(a.admin())
		a.expect(http.StatusConflict, http.MethodDelete, "/org/tokens/"+k.ID, a.admin(), "")
		a.revoke(a.admin(), k.ID)

		a.emu.AddFault(Fault{Status: http.StatusInternalServerError, Times: 5})
		a.emu.ClearFaults()
		a.list(a.admin())
	})
}

func TestFaultCommitThenDrop(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Mode: FaultCommitThenDrop})
		if r, err := a.send(t.Context(), http.MethodPost, "/org/tokens", a.admin(), mintBody("lost answer")); err == nil {
			t.Fatalf("want a dropped connection, got status %d", r.status)
		}
		live := a.emu.LiveKeys()
		if len(live) != 1 || live[0].Name != "lost answer" {
			t.Fatalf("the mint was not committed: %+v", live)
		}
		if got := ids(a.list(a.admin())); len(got) != 1 || got[0] != live[0].ID {
			t.Fatalf("the committed key is not listed: %v", got)
		}

		a.emu.AddFault(Fault{Endpoint: EndpointRevoke, Mode: FaultCommitThenDrop})
		if _, err := a.send(t.Context(), http.MethodDelete, "/org/tokens/"+live[0].ID, a.admin(), ""); err == nil {
			t.Fatal("want a dropped connection")
		}
		if a.emu.IsLive(live[0].ID) {
			t.Fatal("the revoke was not committed")
		}
		if got := a.emu.RequestCount(EndpointMint); got != 1 {
			t.Fatalf("mint count %d, want 1", got)
		}
	})
}

func TestFaultCommitThenHang(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Mode: FaultCommitThenHang})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, err := a.send(ctx, http.MethodPost, "/org/tokens", a.admin(), mintBody("hung answer")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want the client to give up waiting, got %v", err)
		}
		if live := a.emu.LiveKeys(); len(live) != 1 || live[0].Name != "hung answer" {
			t.Fatalf("the mint was not committed before the answer hung: %+v", live)
		}
	})
}

func TestFaultCommitLate(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})

		// The client gives up long before the commit: the key is created anyway, later.
		const late = 400 * time.Millisecond
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Mode: FaultCommitLate, Latency: late})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		sent := time.Now()
		if _, err := a.send(ctx, http.MethodPost, "/org/tokens", a.admin(), mintBody("late commit")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want the client to give up waiting, got %v", err)
		}
		if live := a.emu.LiveKeys(); len(live) != 0 {
			t.Fatalf("committed before the latency was over: %+v", live)
		}
		deadline := time.Now().Add(10 * time.Second)
		for len(a.emu.LiveKeys()) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		live := a.emu.LiveKeys()
		if len(live) != 1 || live[0].Name != "late commit" {
			t.Fatalf("the abandoned mint was not committed late: %+v", live)
		}
		if committed := time.Since(sent); committed < late {
			t.Fatalf("committed %v after sending, want at least %v", committed, late)
		}
		if got := ids(a.list(a.admin())); len(got) != 1 || got[0] != live[0].ID {
			t.Fatalf("the late key is not listed: %v", got)
		}

		// A client that is still listening gets the real answer, late.
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Mode: FaultCommitLate, Latency: 50 * time.Millisecond})
		start := time.Now()
		m := a.mint(a.admin(), "patient")
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Fatalf("answered after %v, before the latency", d)
		}
		if m.secret() == "" || !a.emu.IsLive(m.ID) {
			t.Fatalf("the patient client did not get the minted key: %+v", m)
		}
		if n := a.emu.RequestCount(EndpointMint); n != 2 {
			t.Fatalf("mint count %d, want 2", n)
		}
	})
}

func TestFaultCommitLateEndsOnClose(t *testing.T) {
	t.Parallel()
	emu, err := New(aprilUnlessSet(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	a := wrapServer(t, emu)
	emu.AddFault(Fault{Endpoint: EndpointMint, Mode: FaultCommitLate, Latency: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.send(ctx, http.MethodPost, "/org/tokens", emu.AdminToken(), mintBody("never")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client to give up waiting, got %v", err)
	}
	start := time.Now()
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v with a late commit pending", d)
	}
	if keys := emu.AllKeys(); len(keys) != 0 {
		t.Fatalf("a late commit cut short by Close created %+v", keys)
	}
}

func TestDateHeaderIsTheServiceClock(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		clock := newFakeClock()
		a := newTestAPI(t, Options{Dialect: d, Now: clock.Now})
		clock.Advance(90 * time.Minute)
		want := clock.Now().Format(http.TimeFormat)
		for _, r := range []reply{
			a.expect(http.StatusOK, http.MethodGet, "/org/tokens", a.admin(), ""),
			a.expect(http.StatusUnauthorized, http.MethodGet, "/org/tokens", "", ""),
		} {
			if got := r.header.Get("Date"); got != want {
				t.Fatalf("Date %q, want the emulator's clock %q", got, want)
			}
		}
		m := a.mint(a.admin(), "k")
		if k, _ := a.emu.Key(m.ID); k.CreatedAt.Format(http.TimeFormat) != want {
			t.Fatalf("created_at %v does not match the Date %s", k.CreatedAt, want)
		}
	})
}

func TestFaultCommitThenStatus(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Mode: FaultCommitThenStatus})
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Mode: FaultCommitThenStatus, Status: http.StatusGatewayTimeout, Body: "upstream timed out", ContentType: "text/plain"})

		r := a.expect(http.StatusBadGateway, http.MethodPost, "/org/tokens", a.admin(), mintBody("first"))
		// The fault's own answer, nothing of the mint's: no plaintext, no Cache-Control.
		if string(r.body) != "{\"error\":\"Bad Gateway\"}\n" || r.header.Get("Content-Type") != "application/json" || r.header.Get("Cache-Control") != "" {
			t.Fatalf("commit-then-status answered %s (%v)", r.body, r.header)
		}
		r = a.expect(http.StatusGatewayTimeout, http.MethodPost, "/org/tokens", a.admin(), mintBody("second"))
		if string(r.body) != "upstream timed out" {
			t.Fatalf("custom body %q", r.body)
		}
		live := a.emu.LiveKeys()
		if len(live) != 2 || live[0].Name != "first" || live[1].Name != "second" {
			t.Fatalf("both mints must be committed: %+v", live)
		}

		// A refused operation stays refused behind the fault.
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Mode: FaultCommitThenStatus})
		a.expect(http.StatusBadGateway, http.MethodPost, "/org/tokens", a.admin(), mintBody(badRequestName(d)))
		if len(a.emu.LiveKeys()) != 2 {
			t.Fatal("an invalid mint was committed behind a fault")
		}
	})
}

func TestFaultDropBeforeCommit(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		k, key := a.emu.Seed(SeedKey{Name: "k"})
		a.emu.AddFault(Fault{Endpoint: EndpointMint, Mode: FaultDropBeforeCommit})
		a.emu.AddFault(Fault{Endpoint: EndpointRevoke, Mode: FaultDropBeforeCommit})

		if _, err := a.send(t.Context(), http.MethodPost, "/org/tokens", key, mintBody("never")); err == nil {
			t.Fatal("want a dropped connection")
		}
		if _, err := a.send(t.Context(), http.MethodDelete, "/org/tokens/"+k.ID, a.admin(), ""); err == nil {
			t.Fatal("want a dropped connection")
		}
		if live := a.emu.LiveKeys(); len(live) != 1 || live[0].ID != k.ID {
			t.Fatalf("a drop-before-commit changed state: %+v", live)
		}
		if got, _ := a.emu.Key(k.ID); got.LastUsedAt != nil {
			t.Fatal("a dropped request updated last_used_at")
		}
		if n := len(a.emu.Events()); n != 1 {
			t.Fatalf("%d events, want only the seed", n)
		}
	})
}

func TestFaultLatency(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})

	// Status 0: only a delay, then normal handling.
	a.emu.AddFault(Fault{Endpoint: EndpointList, Latency: 80 * time.Millisecond})
	start := time.Now()
	a.list(a.admin())
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("latency fault took effect after %v", d)
	}

	// A client that gives up is released at once; the handler does not keep running.
	a.emu.AddFault(Fault{Endpoint: EndpointMint, Latency: time.Minute, Status: http.StatusInternalServerError})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err := a.send(ctx, http.MethodPost, "/org/tokens", a.admin(), mintBody("slow"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's deadline, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancellation took %v", d)
	}
	// The fault was used up by the abandoned request; the next mint is normal.
	a.mint(a.admin(), "fast")
	if n := len(a.emu.LiveKeys()); n != 1 {
		t.Fatalf("%d keys, want 1", n)
	}

	// A delayed mint whose client has left is not performed once the delay is over: that is
	// FaultCommitLate's job.
	a.emu.AddFault(Fault{Endpoint: EndpointMint, Latency: 200 * time.Millisecond})
	ctx, cancel = context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.send(ctx, http.MethodPost, "/org/tokens", a.admin(), mintBody("abandoned")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's deadline, got %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	for _, k := range a.emu.AllKeys() {
		if k.Name == "abandoned" {
			t.Fatalf("a delayed mint was performed after its client left: %+v", k)
		}
	}
}

func TestSetLatency(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
	a.emu.SetLatency(60 * time.Millisecond)
	start := time.Now()
	a.list(a.admin())
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Fatalf("request took %v under 60ms latency", d)
	}
	// Control endpoints are never delayed.
	start = time.Now()
	a.expect(http.StatusOK, http.MethodGet, "/_emulator/stats", a.admin(), "")
	if d := time.Since(start); d >= 60*time.Millisecond {
		t.Fatalf("control endpoint delayed by %v", d)
	}

	a.emu.SetLatency(time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.send(ctx, http.MethodGet, "/org/tokens", a.admin(), ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's deadline, got %v", err)
	}
	a.emu.SetLatency(0)
	a.list(a.admin())
}

func TestCloseEndsArtificialWaits(t *testing.T) {
	t.Parallel()
	emu, err := New(aprilUnlessSet(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	emu.SetLatency(time.Minute)
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, emu.URL()+"/org/tokens", nil)
		req.Header.Set("Authorization", "Bearer "+emu.AdminToken())
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	for emu.RequestCount(EndpointList) == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := emu.Close(); err != nil {
		t.Fatal(err)
	}
	if status := <-answered; status != http.StatusServiceUnavailable && status != 0 {
		t.Fatalf("request held across Close answered %d", status)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v with a request waiting", d)
	}
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Now: clock.Now})
	a.emu.SetRateLimit(RateLimit{Requests: 2, Per: time.Minute})

	a.list(a.admin())
	a.expect(http.StatusUnauthorized, http.MethodGet, "/org/tokens", "", "") // counts too
	r := a.expect(http.StatusTooManyRequests, http.MethodPost, "/org/tokens", a.admin(), mintBody("x"))
	if r.header.Get("Retry-After") != "60" {
		t.Fatalf("Retry-After %q, want 60", r.header.Get("Retry-After"))
	}
	errorMessage(t, r)
	clock.Advance(30*time.Second + 200*time.Millisecond)
	r = a.expect(http.StatusTooManyRequests, http.MethodGet, "/org/tokens", a.admin(), "")
	if r.header.Get("Retry-After") != "30" {
		t.Fatalf("Retry-After %q, want 30", r.header.Get("Retry-After"))
	}
	// Control endpoints are outside the limit.
	a.expect(http.StatusOK, http.MethodGet, "/_emulator/stats", a.admin(), "")

	clock.Advance(30 * time.Second)
	a.mint(a.admin(), "new window")
	if n := len(a.emu.LiveKeys()); n != 1 {
		t.Fatalf("a rate-limited mint was committed: %d keys", n)
	}

	a.emu.SetRateLimit(RateLimit{Requests: 1, Per: time.Hour, RetryAfter: "Wed, 21 Oct 2026 07:28:00 GMT"})
	a.list(a.admin())
	r = a.expect(http.StatusTooManyRequests, http.MethodGet, "/org/tokens", a.admin(), "")
	if got := r.header.Get("Retry-After"); got != "Wed, 21 Oct 2026 07:28:00 GMT" {
		t.Fatalf("Retry-After %q", got)
	}

	a.emu.SetRateLimit(RateLimit{})
	for range 5 {
		a.list(a.admin())
	}
}

func TestRateLimitComesBeforeFaults(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	a := newTestAPI(t, Options{Now: clock.Now})
	a.emu.SetRateLimit(RateLimit{Requests: 1, Per: time.Second})
	a.list(a.admin())
	a.emu.AddFault(Fault{Endpoint: EndpointList, Status: http.StatusTeapot})
	a.expect(http.StatusTooManyRequests, http.MethodGet, "/org/tokens", a.admin(), "")
	clock.Advance(time.Second)
	a.expect(http.StatusTeapot, http.MethodGet, "/org/tokens", a.admin(), "")
}

func TestRequestCounts(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		minted := a.mint(a.admin(), "m")
		// The guide refuses the control plane and wrong methods itself; the service has no such
		// routes at all.
		controlPlane, wrongMethod := http.StatusNotFound, http.StatusNotFound
		if d == DialectGuide {
			controlPlane, wrongMethod = http.StatusForbidden, http.StatusMethodNotAllowed
		}
		a.expect(controlPlane, http.MethodGet, "/cp/admin/x", minted.secret(), "")
		a.expect(http.StatusUnauthorized, http.MethodPost, "/org/tokens", "", mintBody("m"))
		a.expect(http.StatusBadRequest, http.MethodPost, "/org/tokens", a.admin(), mintBody(badRequestName(d)))
		a.list(a.admin())
		a.emu.AddFault(Fault{Endpoint: EndpointList, Status: http.StatusServiceUnavailable})
		a.expect(http.StatusServiceUnavailable, http.MethodGet, "/org/tokens", a.admin(), "")
		a.revoke(a.admin(), minted.ID)
		a.expect(http.StatusNotFound, http.MethodDelete, "/org/tokens/"+minted.ID, a.admin(), "")
		a.expect(wrongMethod, http.MethodPut, "/org/tokens", a.admin(), "")
		a.expect(http.StatusNotFound, http.MethodGet, "/elsewhere", a.admin(), "")
		a.expect(http.StatusOK, http.MethodGet, "/_emulator/keys", a.admin(), "")
		a.expect(http.StatusOK, http.MethodGet, "/_emulator/stats", a.admin(), "")
		a.expect(http.StatusUnauthorized, http.MethodGet, "/_emulator/stats", "", "")
		// Out-of-band calls are not requests.
		a.emu.Seed(SeedKey{Name: "oob"})
		a.emu.LiveKeys()

		want := map[string]int{EndpointMint: 3, EndpointList: 2, EndpointRevoke: 2, EndpointApprovals: 0, EndpointDecide: 0, EndpointOther: 3}
		got := a.emu.RequestCounts()
		if len(got) != len(want) {
			t.Fatalf("RequestCounts %v, want %v", got, want)
		}
		for ep, n := range want {
			if got[ep] != n || a.emu.RequestCount(ep) != n {
				t.Errorf("%s: %d, want %d", ep, got[ep], n)
			}
		}
		got[EndpointMint] = 100 // a copy
		if a.emu.RequestCount(EndpointMint) != 3 {
			t.Fatal("RequestCounts returned the live map")
		}

		a.emu.ResetCounts()
		for ep, n := range a.emu.RequestCounts() {
			if n != 0 {
				t.Errorf("after ResetCounts %s = %d", ep, n)
			}
		}
	})
}

func TestInvalidFaultStatusFailsReadably(t *testing.T) {
	t.Parallel()
	a := newTestAPI(t, Options{})
	a.emu.AddFault(Fault{Status: 42})
	r := a.expect(http.StatusInternalServerError, http.MethodGet, "/org/tokens", a.admin(), "")
	if msg := errorMessage(t, r); msg != "emulator: invalid fault status 42" {
		t.Fatalf("message %q", msg)
	}
}
