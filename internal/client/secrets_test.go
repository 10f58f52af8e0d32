package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// switchServer answers with whatever handler was set last, so one client can meet a sequence
// of answers and carry what it learnt (the secrets it received) from one to the next.
type switchServer struct {
	*httptest.Server
	h atomic.Pointer[http.HandlerFunc]
}

func newSwitchServer(t *testing.T) *switchServer {
	t.Helper()
	s := &switchServer{}
	s.set(respond(500, "", ""))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*s.h.Load())(w, r) }))
	t.Cleanup(s.Close)
	return s
}

func (s *switchServer) set(h http.HandlerFunc) { s.h.Store(&h) }

// assertNoSecrets fails if any text holds one of the secrets.
func assertNoSecrets(t *testing.T, secrets []string, texts ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, text := range texts {
			if strings.Contains(text, s) {
				t.Errorf("%q leaks the secret %q", text, s)
			}
		}
	}
}

func TestRedactionByValue(t *testing.T) {
	t.Parallel()
	s := newSwitchServer(t)
	log := &recordingLogger{}
	c := newTestClient(t, s.URL, withCredential(deployedCredential), func(c *Config) { c.Logger = log })
	ctx := context.Background()
	if got := c.secrets.snapshot(); !slices.Equal(got, []string{deployedCredential}) {
		t.Fatalf("Secrets() before any mint = %q", got)
	}
	s.set(jsonResponse(200, deployedMint(deployedID, "ci", deployedKey)))
	if _, err := c.mint(ctx, "ci", MintOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := c.secrets.snapshot(); !slices.Equal(got, []string{deployedCredential, deployedKey}) {
		t.Fatalf("Secrets() = %q, want the credential and the minted plaintext", got)
	}

	echo := "key " + deployedKey + " for Bearer " + deployedCredential + " (guide key mola_TESTfakeKEYnotReal0000000)"
	s.set(jsonResponse(400, `{"error":"`+echo+`"}`))
	_, err := c.listTokens(ctx)
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("List() = %v", err)
	}
	if want := "key [redacted] for Bearer [redacted] (guide key mola_[redacted])"; apiErr.Message != want {
		t.Errorf("Message = %q, want %q", apiErr.Message, want)
	}
	s.set(respond(302, "", "", "Location", "https://login.example/?k="+deployedKey+"&t="+deployedCredential))
	err2 := c.Revoke(ctx, deployedID)
	if err2 == nil || !strings.Contains(err2.Error(), "https://login.example/?k=[redacted]&t=[redacted]") {
		t.Errorf("redirect error = %v", err2)
	}
	// net/http quotes a Location it cannot parse in its own error: a transport error.
	s.set(respond(302, "", "", "Location", "%zz"+deployedKey))
	err3 := c.Revoke(ctx, deployedID)
	if err3 == nil || !strings.Contains(err3.Error(), "[redacted]") {
		t.Errorf("transport error = %v", err3)
	}
	assertNoSecrets(t, []string{deployedKey, deployedCredential, deployedKey[PrefixLength:], deployedCredential[PrefixLength:]},
		err.Error(), err2.Error(), err3.Error(), log.String())

	if got, want := c.Redact("a\n"+deployedKey+"\tb "+deployedCredential+" mola_abc123"), "a [redacted] b [redacted] mola_[redacted]"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
	if got := c.Redact(strings.Repeat("x", 299) + deployedKey); got != strings.Repeat("x", 299)+"[…" {
		t.Errorf("Redact truncates after redacting, so no part of a secret survives the cut: %q", got)
	}
}

// A mint answer the client cannot use may still carry a live key: from then on that value is
// masked like any other secret, and it is not echoed by the mint's own error.
func TestUnusableMintAnswerSecretIsRedacted(t *testing.T) {
	t.Parallel()
	k := deployedKey
	for name, body := range map[string]string{
		"no id":                     `{"prefix":"UyJhAK6q","auth_token":"` + k + `"}`,
		"empty id":                  `{"id":"","auth_token":"` + k + `"}`,
		"guide without id":          `{"key":"` + k + `","created_at":"2026-04-21T00:00:00Z"}`,
		"id of the wrong type":      `{"auth_token":"` + k + `","id":5}`,
		"id an object":              `{"auth_token":"` + k + `","id":{"a":1}}`,
		"created_at echoes the key": `{"id":"` + deployedID + `","auth_token":"` + k + `","created_at":"` + k + `"}`,
		"last_used_at is a number":  `{"id":"` + deployedID + `","auth_token":"` + k + `","last_used_at":12}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSwitchServer(t)
			log := &recordingLogger{}
			c := newTestClient(t, s.URL, withCredential(deployedCredential), func(c *Config) { c.Logger = log })
			s.set(jsonResponse(200, body))
			_, err := c.mint(context.Background(), "ci", MintOptions{})
			var unknown *outcomeUnknownError
			if !errors.As(err, &unknown) {
				t.Fatalf("mint = %v, want *outcomeUnknownError", err)
			}
			if !slices.Contains(c.secrets.snapshot(), k) {
				t.Errorf("Secrets() = %q lacks the plaintext the answer carried", c.secrets.snapshot())
			}
			s.set(jsonResponse(401, `{"error":"unknown key `+k+`"}`))
			_, err2 := c.listTokens(context.Background())
			if err2 == nil || !strings.Contains(err2.Error(), "unknown key [redacted]") {
				t.Errorf("a later echo of the plaintext = %v", err2)
			}
			assertNoSecrets(t, []string{k, k[PrefixLength:], deployedCredential}, err.Error(), err2.Error(), log.String())
		})
	}
}

func TestPathsAreRedacted(t *testing.T) {
	t.Parallel()
	s := newSwitchServer(t)
	log := &recordingLogger{}
	c := newTestClient(t, s.URL, withCredential(deployedCredential), func(c *Config) { c.Logger = log })
	ctx := context.Background()
	s.set(jsonResponse(200, deployedMint(deployedID, "ci", deployedKey)))
	if _, err := c.mint(ctx, "ci", MintOptions{}); err != nil {
		t.Fatal(err)
	}
	// Not a secret itself, so it is sent; but logs and errors must not spell the key inside it.
	id := "x" + deployedKey
	var uri atomic.Value
	s.set(func(w http.ResponseWriter, r *http.Request) {
		uri.Store(r.RequestURI)
		jsonResponse(404, `{"error":"token not found or already revoked"}`)(w, r)
	})
	err := c.Revoke(ctx, id)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || !IsKeyNotLive(err) || apiErr.Path != "/org/tokens/x[redacted]" {
		t.Fatalf("Revoke = %v (path %q)", err, apiErr.Path)
	}
	if got := uri.Load(); got != "/org/tokens/"+id {
		t.Errorf("the service got %v, want the id itself", got)
	}
	s.set(hangUp)
	err2 := c.Revoke(ctx, id)
	if err2 == nil {
		t.Fatal("Revoke against a dropped connection succeeded")
	}
	if !strings.Contains(log.String(), "path:/org/tokens/x[redacted]") {
		t.Errorf("log:\n%s", log)
	}
	assertNoSecrets(t, []string{deployedKey, deployedKey[PrefixLength:]}, err.Error(), err2.Error(), log.String())
}

// The list a lost mint is reconciled against comes from the server, which may echo anything:
// the ids and attributions it reports go into errors and log lines too.
func TestReconcileRedactsServerValues(t *testing.T) {
	t.Parallel()
	for name, entry := range map[string]string{
		// A foreign attribution that spells the credential: the key is left alone, and logged.
		"foreign attribution": `{"id":"` + deployedID + `","name":"agent","created_by":"org-token:` + deployedCredential + `"`,
		// An orphan whose id is a secret: it cannot be revoked, so it is reported.
		"secret as id": `{"id":"` + deployedCredential + `","name":"agent","created_by":"admin-token"`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			lists := 0
			s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				switch r.Method {
				case http.MethodPost:
					jsonResponse(502, `{"error":"bad gateway"}`)(w, r)
				case http.MethodGet:
					mu.Lock()
					lists++
					first := lists == 1
					mu.Unlock()
					if first {
						jsonResponse(200, `{"count":0,"tokens":[]}`)(w, r)
						return
					}
					jsonResponse(200, `{"count":1,"tokens":[`+entry+`,"created_at":"`+time.Now().UTC().Format(time.RFC3339Nano)+`"}]}`)(w, r)
				default:
					jsonResponse(404, `{"error":"token not found or already revoked"}`)(w, r)
				}
			})
			log := &recordingLogger{}
			c := newTestClient(t, s.URL, withCredential(deployedCredential), func(c *Config) { c.Logger = log })
			// Every mint answer is lost, so the mint fails whatever reconciliation found.
			_, _, err := c.MintReconciled(context.Background(), "agent", MintOptions{})
			if err == nil {
				t.Fatal("MintReconciled succeeded, though every answer was lost")
			}
			if !strings.Contains(log.String(), deployedID) && !strings.Contains(err.Error(), "[redacted]") {
				t.Fatalf("neither the log nor the error mention the listed key:\n%s\n%s", err, log)
			}
			assertNoSecrets(t, []string{deployedCredential, deployedCredential[PrefixLength:]}, err.Error(), log.String())
		})
	}
}

func TestRevokeRefusesSecretsWithoutSending(t *testing.T) {
	t.Parallel()
	s := newSwitchServer(t)
	c := newTestClient(t, s.URL, withCredential(deployedCredential))
	ctx := context.Background()
	guideKey := "mola_TESTfakeKEYnotReal0000000"
	s.set(jsonResponse(200, deployedMint(deployedID, "ci", deployedKey)))
	if _, err := c.mint(ctx, "ci", MintOptions{}); err != nil {
		t.Fatal(err)
	}
	s.set(jsonResponse(201, `{"id":"tok_1","key":"`+guideKey+`"}`))
	if _, err := c.mint(ctx, "ci", MintOptions{}); err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int32
	s.set(func(w http.ResponseWriter, r *http.Request) { requests.Add(1); respond(204, "", "")(w, r) })
	for _, secret := range []string{deployedCredential, deployedKey, guideKey} {
		err := c.Revoke(ctx, secret)
		if err == nil || !strings.Contains(err.Error(), "is a secret") {
			t.Errorf("Revoke(a secret) = %v", err)
		} else {
			assertNoSecrets(t, []string{secret, secret[PrefixLength:]}, err.Error())
		}
	}
	if requests.Load() != 0 {
		t.Errorf("a secret was sent as an id %d times", requests.Load())
	}
}

// TestSecretSetRedactsMany checks the indexed redaction against the obvious one (replace each
// secret in turn) with thousands of secrets, secrets that start other secrets, secrets shorter
// than the index's head, adjacent and overlapping occurrences.
func TestSecretSetRedactsMany(t *testing.T) {
	t.Parallel()
	var set secretSet
	var all []string
	for i := range 3000 {
		v := strings.Repeat(string(rune('a'+i%26)), 3) + strings.ReplaceAll(time.Duration(i*7919).String(), ".", "_") + "-secret-value"
		set.add(v)
		all = append(all, v)
	}
	long := all[42] + "-and-more"
	set.add(long)
	set.add("tiny")
	set.add(all[42]) // a repeat changes nothing
	text := "start " + all[7] + all[8] + " mid " + long + " " + all[42] + " tiny " + all[2999][:10] + " end"
	got := set.redact(text)
	want := "start [redacted][redacted] mid [redacted] [redacted] [redacted] " + all[2999][:10] + " end"
	if got != want {
		t.Fatalf("redact:\n got %q\nwant %q", got, want)
	}
	if set.redact("no secrets here") != "no secrets here" || set.redact("") != "" {
		t.Error("text without secrets changed")
	}
	if n := len(set.snapshot()); n != 3002 {
		t.Errorf("%d secrets known, want 3002", n)
	}
}

// RedactSecrets, for text made before a client exists, redacts as a client that knows the same
// secrets does.
func TestRedactSecrets(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "http://127.0.0.1:9", withCredential(deployedCredential))
	c.AddSecret(deployedKey)
	for text, want := range map[string]string{
		"token " + deployedCredential:                       "token " + RedactedMark,
		deployedKey + "/" + deployedCredential[:20]:         RedactedMark + "/" + deployedCredential[:20],
		"guide key mola_abc123XYZ, pasted":                  "guide key mola_" + RedactedMark + ", pasted",
		"nothing here: mola_ " + deployedKey[:PrefixLength]: "nothing here: mola_ " + deployedKey[:PrefixLength],
	} {
		if got := RedactSecrets(text, "", deployedCredential, deployedKey); got != want {
			t.Errorf("RedactSecrets(%q) = %q, want %q", text, got, want)
		}
		if got := c.Redact(text); got != want {
			t.Errorf("the client redacts %q to %q, RedactSecrets to %q", text, got, want)
		}
	}
	// Where one secret starts another, the whole of the longer one goes.
	if got := RedactSecrets("x "+deployedKey+" y", deployedKey[:12], deployedKey); got != "x "+RedactedMark+" y" {
		t.Errorf("a secret and its own start: %q", got)
	}
	if got := RedactSecrets("text", ""); got != "text" {
		t.Errorf("an empty secret changed the text to %q", got)
	}
}
