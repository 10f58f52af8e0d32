package emulator

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const tenantOrg = "5d1c1d7e-7c53-4a55-9f1e-2f4cbb0a8f01"

// A hosted tenant answers only requests that carry its organization's UUID, as the server's
// TenantGuard does: June and newer refuse a missing header with a JSON 400, April with a bare
// 404, and both answer another organization's id with a bare 404.
func TestTenantGuard(t *testing.T) {
	t.Parallel()
	for _, build := range []Build{BuildJune2026, BuildApril2026} {
		t.Run(string(build), func(t *testing.T) {
			t.Parallel()
			a := newTestAPI(t, Options{Build: build, TenantOrgID: tenantOrg})
			send := func(method, path, org string) reply {
				req, err := http.NewRequestWithContext(t.Context(), method, a.emu.URL()+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+a.admin())
				if org != "" {
					req.Header.Set("X-Molecule-Org-Id", org)
				}
				resp, err := a.hc.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				return reply{status: resp.StatusCode, header: resp.Header, body: body}
			}
			if r := send(http.MethodGet, "/org/tokens", tenantOrg); r.status != http.StatusOK {
				t.Fatalf("with the org's id: %d %s", r.status, r.body)
			}
			bare := func(r reply, what string) {
				t.Helper()
				if r.status != http.StatusNotFound || len(r.body) != 0 || r.header.Get("Content-Type") != "" {
					t.Errorf("%s: %d %q (%s), want a bare 404", what, r.status, r.body, r.header.Get("Content-Type"))
				}
			}
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
				path := "/org/tokens"
				if m == http.MethodDelete {
					path += "/" + tenantOrg
				}
				bare(send(m, path, "00000000-0000-4000-8000-000000000000"), m+" with another org's id")
				r := send(m, path, "")
				if build == BuildApril2026 {
					bare(r, m+" without the header")
					continue
				}
				if r.status != http.StatusBadRequest || r.header.Get("Content-Type") != "application/json; charset=utf-8" ||
					string(r.body) != `{"error":"missing tenant routing header","code":"TENANT_ORG_HEADER_REQUIRED",`+
						`"required_header":"X-Molecule-Org-Id","detail":"SaaS tenant API requests must include X-Molecule-Org-Id matching the organization UUID."}` {
					t.Errorf("%s without the header: %d %s", m, r.status, r.body)
				}
			}
			if n := len(a.emu.AllKeys()); n != 0 {
				t.Errorf("refused requests minted %d keys", n)
			}
		})
	}
}

// June and newer key their limits on the organization header, else the credential, else the
// client address: a new address does not refill a credential's quota.
func TestLimitsArePerCaller(t *testing.T) {
	t.Parallel()
	emu, err := New(Options{MintLimit: Limit{Requests: 1, Window: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emu.Close() })
	// Two anchored org keys, which mint without approval.
	_, key := emu.Seed(SeedKey{Name: "one credential", OrgID: emu.PlatformWorkspaceID()})
	_, orgKey := emu.Seed(SeedKey{Name: "other credential", OrgID: emu.PlatformWorkspaceID()})
	mint := func(addr, token, org string) int {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/org/tokens", strings.NewReader(`{"name":"x"}`))
		req.RemoteAddr = addr
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if org != "" {
			req.Header.Set("X-Molecule-Org-Id", org)
		}
		rec := httptest.NewRecorder()
		emu.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	for i, step := range []struct {
		addr, token, org string
		want             int
	}{
		{"192.0.2.1:1", key, "", http.StatusOK},
		{"192.0.2.2:1", key, "", http.StatusTooManyRequests},              // same credential, new address
		{"192.0.2.1:1", orgKey, "", http.StatusOK},                        // another credential
		{"192.0.2.3:1", key, tenantOrg, http.StatusOK},                    // an organization's own bucket
		{"192.0.2.3:1", orgKey, tenantOrg, http.StatusTooManyRequests},    // shared by every credential of it
		{"192.0.2.4:1", "", "", http.StatusUnauthorized},                  // no credential: the address, after auth
		{"192.0.2.4:1", key, " " + tenantOrg, http.StatusTooManyRequests}, // trimmed, as the server does
	} {
		if got := mint(step.addr, step.token, step.org); got != step.want {
			t.Errorf("step %d: mint from %s: %d, want %d", i+1, step.addr, got, step.want)
		}
	}
}
