package client

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator/emulatortest"
)

// canaryShape is one service shape's secrets: a credential and keys distinctive enough to be
// found in any text, and how a mint answer carries a key.
type canaryShape struct {
	credential string
	key        string // received in a good answer before the failures start
	unusable   string // received in an answer without an id
	lost       string // received in an answer that fails to decode
	late       string // received in a good answer among the failures
	id         string
	mintStatus int
	field      string
}

// TestSecretsNeverLeak drives every failure path with a distinctive credential and distinctive
// minted keys, in the deployed shape (keys of no recognizable format, so only redaction by value
// can catch them) and in the guide's, against servers that echo them back, and asserts that
// none appears in any error string or log line.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	for name, sh := range map[string]canaryShape{
		"deployed": {
			credential: "LcUSBDPueCemMX4XQZdndtpySbUhGA1j4BvUYQuLo7Q",
			key:        "nVT_IxpBg5o9c1ZMHEljV-xeH7jTqpP12O1Xusmo0Kw",
			unusable:   "1_jqiYSzWIQ11MGXG8U1oFLvwP9_FchayyliOS_ZI5o",
			lost:       "YDuTGxGtII2Uy9SJArOGzqWKKsbx-TWwaPM7UuRj-Qg",
			late:       "z3Q_tqCb1Xn0bY28uv3juUyoa_EULMCb7Xo4E9IIlNg",
			id:         "e41acf55-86a4-436c-b67e-99f1bbf43b92",
			mintStatus: 200,
			field:      "auth_token",
		},
		"guide": {
			credential: "CanaryCredential-Qx7Zp",
			key:        "mola_canarykeyq9z8y7x6w5v4u3t2",
			unusable:   "mola_canaryunusablez8y7x6w5v4u",
			lost:       "mola_canarylostq9z8y7x6w5v4u3t",
			late:       "mola_canarylateq9z8y7x6w5v4u3t",
			id:         "tok_01HZX3B7N8PQ9K4M5R6T",
			mintStatus: 201,
			field:      "key",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sh.run(t)
		})
	}
}

func (sh canaryShape) run(t *testing.T) {
	cred, key := sh.credential, sh.key
	echo := "credential " + cred + " / Bearer " + cred + " / key " + key
	answer := func(plaintext, extra string) string {
		return `{"name":"canary","` + sh.field + `":"` + plaintext + `","created_by":"org-token:` + plaintext[:8] + `"` + extra + `}`
	}
	s := newSwitchServer(t)
	log := &recordingLogger{}
	c := newTestClient(t, s.URL, func(c *Config) {
		c.Token, c.Logger, c.MaxRetries, c.RequestTimeout = cred, log, 1, 200*time.Millisecond
	})
	ctx := context.Background()
	// First the client receives a key, as after any mint: every later echo of it must be masked.
	s.set(jsonResponse(sh.mintStatus, answer(key, `,"id":"`+sh.id+`"`)))
	if _, err := c.mint(ctx, "canary", MintOptions{}); err != nil {
		t.Fatal(err)
	}

	list := func(c *Client) error { _, err := c.listTokens(ctx); return err }
	mint := func(c *Client) error { _, err := c.mint(ctx, "canary", MintOptions{}); return err }
	revoke := func(c *Client) error { return c.Revoke(ctx, sh.id) }
	revokeKeyInPath := func(c *Client) error { return c.Revoke(ctx, "x"+key) }
	reconcile := func(c *Client) error { _, _, err := c.MintReconciled(ctx, "canary", MintOptions{}); return err }
	// A lost mint whose reconciliation list echoes secrets in the fields that end up in errors.
	var lists atomic.Int32
	echoingReconciliation := func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost:
			respond(502, "text/html", "<html>"+echo+"</html>")(w, r)
		case r.Method == http.MethodGet && lists.Add(1) == 1:
			jsonResponse(200, `{"tokens":[]}`)(w, r)
		case r.Method == http.MethodGet:
			jsonResponse(200, `{"tokens":[{"id":"`+cred+`","name":"canary","created_by":"org-token:`+key+`",`+
				`"created_at":"`+time.Now().UTC().Format(time.RFC3339Nano)+`"}]}`)(w, r)
		default:
			jsonResponse(404, `{"error":"`+echo+`"}`)(w, r)
		}
	}
	steps := []struct {
		h   http.HandlerFunc
		run func(*Client) error
	}{
		{jsonResponse(401, `{"error":"`+echo+`"}`), list},
		{jsonResponse(400, `{"message":"`+echo+`"}`), mint},
		{jsonResponse(403, `{"error":{"message":"`+echo+`"}}`), revoke},
		{respond(500, "text/html", "<html>"+echo+"</html>"), list},
		{respond(502, key+"/html", echo), mint},
		{respond(302, "", echo, "Location", "https://x/?t="+cred+"&k="+key), revoke},
		{respond(302, "", "", "Location", "%zz"+cred+"/"+key), list}, // unparseable: net/http quotes it
		{respond(307, "", "", "Location", "%zz"+cred+"/"+key), mint},
		{jsonResponse(429, `{"error":"`+echo+`","retry_after":3600}`, "Retry-After", "3600"), list},
		{jsonResponse(429, `{"error":"`+echo+`"}`, "Retry-After", "3600", "X-RateLimit-Limit", "10"), mint},
		{jsonResponse(sh.mintStatus, answer(sh.lost, `,"id":"`+sh.id+`","created_at":"`+sh.lost+`"`)), mint},
		{jsonResponse(sh.mintStatus, answer(sh.unusable, ``)), mint},
		{jsonResponse(401, `{"error":"unknown key `+sh.unusable+` / `+sh.lost+`"}`), list}, // echoed once received
		{jsonResponse(sh.mintStatus, answer(key, `,"id":"tok_1"`)[:60]), mint},
		{jsonResponse(sh.mintStatus, answer(key, `,"id":{"`+key+`":1}`)), mint},
		{jsonResponse(200, `{"tokens":[{"id":"tok_1","key":"`+key+`","created_at":"`+cred+`"}]}`), list},
		{jsonResponse(200, `{"tokens":"`+echo+`"}`), list},
		{jsonResponse(sh.mintStatus, answer(sh.late, `,"id":"`+sh.id+`"`)), mint}, // success: the key must not be logged
		{hangUp, mint},
		{hangUp, revokeKeyInPath},
		{stall, revokeKeyInPath},
		{jsonResponse(404, `{"error":"`+echo+`"}`), revokeKeyInPath},
		{jsonResponse(418, `{"error":"`+echo+strings.Repeat(" pad", 300<<10)+`"}`), revoke},
		{echoingReconciliation, reconcile},
	}
	var errs []error
	for _, step := range steps {
		s.set(step.h)
		errs = append(errs, step.run(c))
	}
	errs = append(errs, c.Revoke(ctx, key), c.Revoke(ctx, cred), c.Revoke(ctx, sh.late))

	// A transport error before anything is sent, naming a path that holds the credential.
	l, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	_ = l.Close()
	refused := newTestClient(t, closed, func(c *Config) { c.Token, c.Logger, c.MaxRetries = cred, log, 1 })
	errs = append(errs, refused.Revoke(ctx, "x"+cred))

	// Input validation that might echo a misplaced secret.
	collect := func(_ any, err error) { errs = append(errs, err) }
	collect(ParseEndpoint(cred))
	collect(ParseEndpoint(key))
	collect(ParseEndpoint("https://user:" + cred + "@x"))
	collect(OrgEndpoint(key))
	collect(OrgEndpoint(cred))
	collect(New(Config{Endpoint: "http://127.0.0.1:1", Token: cred + "\n"}))
	collect(New(Config{Endpoint: "https://u:" + cred + "@x", Token: cred}))

	var all []string
	for _, err := range errs {
		if err != nil {
			all = append(all, err.Error())
		}
	}
	if len(all) < 30 {
		t.Errorf("only %d failure paths exercised", len(all))
	}
	if log.count("DEBUG") < 25 {
		t.Errorf("only %d attempts logged", log.count("DEBUG"))
	}
	logs := log.String()
	// The first characters of a key are its public prefix; the rest must never show.
	secrets := []string{cred, cred[PrefixLength:]}
	for _, k := range []string{key, sh.unusable, sh.lost, sh.late} {
		secrets = append(secrets, k, k[PrefixLength:])
	}
	assertNoSecrets(t, secrets, append(all, logs)...)
	if strings.Contains(strings.ToLower(logs), "bearer") || strings.Contains(strings.ToLower(logs), "authorization") {
		t.Errorf("logs mention headers:\n%s", logs)
	}
}

// The real emulator, with a canary as its admin token and its keys as credentials.
func TestSecretsNeverLeakEmulator(t *testing.T) {
	t.Parallel()
	const credential = "LcUSBDPueCemMX4XQZdndtpySbUhGA1j4BvUYQuLo7Q"
	log := &recordingLogger{}
	ctx := context.Background()
	var errs []error
	collect := func(_ any, err error) { errs = append(errs, err) }

	emu := emulatortest.New(t, april(emulator.Options{AdminToken: credential}))
	admin := newTestClient(t, emu.URL(), func(c *Config) { c.Token, c.Logger = credential, log })
	minted, err := admin.mint(ctx, "canary", MintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	asKey := newTestClient(t, emu.URL(), func(c *Config) { c.Token, c.Logger = minted.Key, log })
	collect(asKey.mint(ctx, "child", MintOptions{}))
	emu.Revoke(minted.ID)
	collect(asKey.listTokens(ctx))
	collect(asKey.mint(ctx, "after-revoke", MintOptions{}))
	errs = append(errs, asKey.Revoke(ctx, minted.ID))
	errs = append(errs, admin.Revoke(ctx, minted.ID))
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502})
	collect(admin.mint(ctx, "ambiguous", MintOptions{}))
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenDrop})
	collect(admin.mint(ctx, "dropped", MintOptions{}))

	var all []string
	for _, err := range errs {
		if err != nil {
			all = append(all, err.Error())
		}
	}
	if len(all) < 5 {
		t.Errorf("only %d failure paths exercised", len(all))
	}
	assertNoSecrets(t, []string{credential, credential[PrefixLength:], minted.Key, minted.Key[PrefixLength:]}, append(all, log.String())...)
}
