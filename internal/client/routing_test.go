package client

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
)

const testOrgID = "ea3cfcf1-cb9c-53b4-90fd-c53123569c4a"

// Every request carries the organization's UUID when one is configured: a hosted organization
// answers nothing else.
func TestOrgIDSentOnEveryRequest(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	got := map[string][]string{}
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Method] = r.Header.Values(OrgIDHeader)
		mu.Unlock()
		switch r.Method {
		case http.MethodPost:
			jsonResponse(200, deployedMint(randomUUID(), "ci", randomKey()))(w, r)
		case http.MethodGet:
			jsonResponse(200, `{"tokens":[],"count":0}`)(w, r)
		default:
			jsonResponse(200, `{"revoked":"x"}`)(w, r)
		}
	})
	c := newTestClient(t, s.URL, func(c *Config) { c.OrgID = testOrgID })
	ctx := context.Background()
	if _, _, err := c.MintReconciled(ctx, "ci", MintOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Revoke(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{http.MethodPost, http.MethodGet, http.MethodDelete} {
		if v := got[m]; len(v) != 1 || v[0] != testOrgID {
			t.Errorf("%s sent %s = %q, want exactly [%s]", m, OrgIDHeader, v, testOrgID)
		}
	}
}

func TestValidateOrgID(t *testing.T) {
	t.Parallel()
	if err := ValidateOrgID(testOrgID); err != nil {
		t.Errorf("ValidateOrgID(%s) = %v", testOrgID, err)
	}
	for in, want := range map[string]string{
		"":                                     "not a UUID",
		"acme":                                 "not a UUID",
		strings.ToUpper(testOrgID):             "lower case",
		testOrgID + " ":                        "not a UUID",
		strings.ReplaceAll(testOrgID, "-", ""): "not a UUID",
		testCredential:                         "not a UUID",
	} {
		err := ValidateOrgID(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateOrgID(%q) = %v, want an error saying %q", in, err, want)
			continue
		}
		if in != "" && strings.Contains(err.Error(), in) {
			t.Errorf("ValidateOrgID(%q) echoes the value: %v", in, err)
		}
	}
}

// Only the service's own JSON answer to a revocation says a key is not live. Any other 404 is a
// routing failure that names the URL and says nothing about the key.
func TestRevoke404s(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		h       http.HandlerFunc
		notLive bool
		detail  string
	}{
		"service":          {jsonResponse(404, `{"error":"token not found or already revoked"}`), true, ""},
		"service, gin":     {respond(404, "application/json; charset=utf-8", `{"error":"token not found or already revoked"}`), true, ""},
		"guide shape":      {jsonResponse(404, `{"error":"token not found"}`), true, ""},
		"message field":    {jsonResponse(404, `{"message":"Token not found"}`), true, ""},
		"bare":             {respond(404, "", ""), false, "(empty body)"},
		"router text":      {respond(404, "text/plain", "404 page not found"), false, "non-JSON response (text/plain, 18 bytes)"},
		"proxy html":       {respond(404, "text/html", "<html><body>Not Found</body></html>"), false, "non-JSON response (text/html, 35 bytes)"},
		"other json":       {jsonResponse(404, `{"error":"not found"}`), false, "(not found)"},
		"json, no message": {jsonResponse(404, `{"status":404}`), false, "JSON response without an error message"},
		"service words in html": {respond(404, "text/html", "token not found or already revoked"), false,
			"non-JSON response (text/html, 34 bytes)"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tc.h)
			err := newTestClient(t, s.URL).Revoke(context.Background(), "a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e")
			if err == nil {
				t.Fatal("Revoke succeeded on a 404")
			}
			if IsKeyNotLive(err) != tc.notLive || IsRoutingFailure(err) == tc.notLive {
				t.Fatalf("IsKeyNotLive = %t, IsRoutingFailure = %t, want %t and %t: %v", IsKeyNotLive(err), IsRoutingFailure(err),
					tc.notLive, !tc.notLive, err)
			}
			if tc.notLive {
				return
			}
			url := s.URL + "/org/tokens/a80eeef4-3d9e-4f4b-8f0d-b2be4e9b234e"
			for _, want := range []string{"DELETE " + url + ": HTTP 404 Not Found", tc.detail, "not the Molecule org token API's own answer",
				"the endpoint, or the organization routing (X-Molecule-Org-Id), looks wrong"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if s.requests() != 1 {
				t.Errorf("a 404 was sent %d times", s.requests())
			}
		})
	}
}

// The service's words about a key mean nothing on another path: a list or a mint never answers 404.
func TestNotLiveOnlyOnTheKeysPath(t *testing.T) {
	t.Parallel()
	s := newServer(t, jsonResponse(404, `{"error":"token not found or already revoked"}`))
	c := newTestClient(t, s.URL)
	_, lerr := c.listTokens(context.Background())
	_, merr := c.mint(context.Background(), "ci", MintOptions{})
	for _, err := range []error{lerr, merr} {
		if err == nil || IsKeyNotLive(err) || !IsRoutingFailure(err) || !strings.Contains(err.Error(), s.URL+"/org/tokens:") {
			t.Errorf("error = %v, want a routing failure naming %s/org/tokens", err, s.URL)
		}
	}
}

// A hosted organization refuses a request without its routing header with a code of its own.
func TestTenantOrgHeaderRequired(t *testing.T) {
	t.Parallel()
	body := `{"error":"missing tenant routing header","code":"TENANT_ORG_HEADER_REQUIRED","required_header":"X-Molecule-Org-Id",` +
		`"detail":"SaaS tenant API requests must include X-Molecule-Org-Id matching the organization UUID."}`
	s := newServer(t, respond(400, "application/json; charset=utf-8", body))
	_, err := newTestClient(t, s.URL).listTokens(context.Background())
	if !OrgIDRequired(err) || !IsRoutingFailure(err) || OrgIDWasSent(err) || IsKeyNotLive(err) {
		t.Fatalf("List() = %v: want OrgIDRequired and a routing failure, without the header sent", err)
	}
	for _, want := range []string{"GET " + s.URL + "/org/tokens: HTTP 400 Bad Request: missing tenant routing header",
		"TENANT_ORG_HEADER_REQUIRED", "its UUID in X-Molecule-Org-Id"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	_, err = newTestClient(t, s.URL, func(c *Config) { c.OrgID = testOrgID }).listTokens(context.Background())
	if !OrgIDRequired(err) || !OrgIDWasSent(err) {
		t.Errorf("with an OrgID: %v, want OrgIDRequired with the header sent", err)
	}
	// A code is repeated only when it looks like one.
	s2 := newServer(t, jsonResponse(400, `{"error":"bad","code":"<script>\u001b[31m"}`))
	if _, err := newTestClient(t, s2.URL).listTokens(context.Background()); OrgIDRequired(err) || strings.Contains(err.Error(), "script") {
		t.Errorf("List() = %v", err)
	}
}
