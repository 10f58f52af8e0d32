package emulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestStartRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "example.invalid:0", "192.0.2.1:0", "10.0.0.1:0", "localhost.example.com:0", "127.0.0.1"} {
		t.Run(addr, func(t *testing.T) {
			t.Parallel()
			emu, err := New(aprilUnlessSet(Options{}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = emu.Close() })
			if err := emu.Start(addr); err == nil {
				t.Fatalf("Start(%q) succeeded", addr)
			}
			if emu.URL() != "" {
				t.Fatalf("URL() = %q after a refused Start", emu.URL())
			}
		})
	}
}

func TestStartOnLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		t.Run(addr, func(t *testing.T) {
			t.Parallel()
			emu, err := New(aprilUnlessSet(Options{}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = emu.Close() })
			if emu.URL() != "" {
				t.Fatalf("URL() = %q before Start", emu.URL())
			}
			if err := emu.Start(addr); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(emu.URL(), "http://127.0.0.1:") && !strings.HasPrefix(emu.URL(), "http://[::1]:") {
				t.Fatalf("URL() = %q", emu.URL())
			}
			if err := emu.Start(addr); err == nil {
				t.Fatal("second Start succeeded")
			}
			wrapServer(t, emu).list(emu.AdminToken())
			if err := emu.Close(); err != nil {
				t.Fatal(err)
			}
			if err := emu.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if err := emu.Start(addr); err == nil {
				t.Fatal("Start after Close succeeded")
			}
		})
	}
}

func TestHandlerWithoutListening(t *testing.T) {
	t.Parallel()
	emu, err := New(aprilUnlessSet(Options{AdminToken: "chosen-admin"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	if emu.AdminToken() != "chosen-admin" {
		t.Fatalf("AdminToken() = %q", emu.AdminToken())
	}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/org/tokens", strings.NewReader(`{"name":"in process"}`))
	req.Header.Set("Authorization", "Bearer chosen-admin")
	rec := httptest.NewRecorder()
	emu.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || len(emu.LiveKeys()) != 1 || rec.Header().Get("X-RateLimit-Limit") != "10" {
		t.Fatalf("in-process mint: %d %v", rec.Code, rec.Header())
	}

	// A drop fault cannot hijack a recorder; the handler aborts instead of answering.
	emu.AddFault(Fault{Mode: FaultDropBeforeCommit})
	defer func() {
		if recover() != http.ErrAbortHandler { //nolint:errorlint // the panic value itself, not an error chain
			t.Fatal("want the handler aborted with http.ErrAbortHandler")
		}
	}()
	emu.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/org/tokens", nil))
}

func TestGeneratedAdminToken(t *testing.T) {
	t.Parallel()
	one, err := New(aprilUnlessSet(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	two, err := New(aprilUnlessSet(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if one.AdminToken() == "" || one.AdminToken() == two.AdminToken() {
		t.Fatalf("generated admin tokens %q and %q", one.AdminToken(), two.AdminToken())
	}
	if strings.HasPrefix(one.AdminToken(), "mola_") || specs[DialectDeployed].key.MatchString(one.AdminToken()) {
		t.Fatal("the admin token must not look like an org key")
	}
}

func TestDialectOption(t *testing.T) {
	t.Parallel()
	for in, want := range map[Dialect]Dialect{"": DialectDeployed, DialectDeployed: DialectDeployed, DialectGuide: DialectGuide} {
		emu, err := New(aprilUnlessSet(Options{Dialect: in}))
		if err != nil {
			t.Fatal(err)
		}
		if got := emu.Dialect(); got != want {
			t.Errorf("Options{Dialect: %q}.Dialect() = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []Dialect{"Deployed", "docs", "v2"} {
		if _, err := New(aprilUnlessSet(Options{Dialect: bad})); err == nil || !strings.Contains(err.Error(), string(bad)) {
			t.Errorf("New(Dialect %q) = %v, want an error naming it", bad, err)
		}
	}
}

func TestControlEndpoints(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d Dialect) {
		a := newTestAPI(t, Options{Dialect: d})
		a.emu.AddSession("canvas", "user_1")
		live := a.mint(a.admin(), "live")
		gone := a.mint(a.admin(), "gone")
		a.revoke(live.secret(), gone.ID)
		a.list(live.secret())
		a.emu.ResetCounts()

		for _, token := range []string{"", live.secret(), "canvas", "not-a-token"} {
			for _, path := range []string{"/_emulator/keys", "/_emulator/stats", "/_emulator/nothing"} {
				r := a.expect(http.StatusUnauthorized, http.MethodGet, path, token, "")
				errorMessage(t, r)
			}
		}

		r := a.expect(http.StatusOK, http.MethodGet, "/_emulator/keys", a.admin(), "")
		var keys struct {
			Keys []wireToken `json:"keys"`
		}
		decode(t, r.body, &keys)
		if len(keys.Keys) != 2 {
			t.Fatalf("/_emulator/keys = %s", r.body)
		}
		assertNoPlaintext(t, "/_emulator/keys", r.body, live.secret(), gone.secret())
		byID := map[string]wireToken{}
		for _, k := range keys.Keys {
			byID[k.ID] = k
		}
		if k := byID[live.ID]; k.RevokedAt != nil || k.LastUsedAt == nil || k.Name != "live" || k.Prefix != live.secret()[:8] {
			t.Fatalf("live key: %+v", k)
		}
		if k := byID[gone.ID]; k.RevokedAt == nil || !a.spec.timestamp.MatchString(*k.RevokedAt) || k.Prefix != gone.secret()[:8] {
			t.Fatalf("revoked key: %+v", k)
		}

		r = a.expect(http.StatusOK, http.MethodGet, "/_emulator/stats", a.admin(), "")
		var stats struct {
			Requests map[string]int `json:"requests"`
		}
		decode(t, r.body, &stats)
		want := map[string]int{EndpointMint: 0, EndpointList: 0, EndpointRevoke: 0, EndpointApprovals: 0, EndpointDecide: 0, EndpointOther: 0}
		if len(stats.Requests) != len(want) {
			t.Fatalf("stats %v", stats.Requests)
		}
		for ep, n := range want {
			if stats.Requests[ep] != n {
				t.Fatalf("stats %v: control requests were counted", stats.Requests)
			}
		}

		a.list(a.admin())
		r = a.expect(http.StatusOK, http.MethodGet, "/_emulator/stats", a.admin(), "")
		decode(t, r.body, &stats)
		if stats.Requests[EndpointList] != 1 {
			t.Fatalf("stats after one list: %v", stats.Requests)
		}
	})
}
