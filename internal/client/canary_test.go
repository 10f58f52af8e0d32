package client

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// TestSecretsNeverLeak drives every failure path with a distinctive credential and a
// distinctive minted key, servers that echo both back, and asserts that neither appears in
// any error string or log line.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const (
		credential = "CanaryCredential-Qx7Zp"
		key        = "mola_canarykeyq9z8y7x6w5v4u3t2"
	)
	echo := "credential " + credential + " / Bearer " + credential + " / key " + key
	mintWith := func(extra string) string {
		return `{"name":"n","key":"` + key + `","created_by":"org-token:` + key[:8] + `"` + extra + `}`
	}
	log := &recordingLogger{}
	var errs []error
	collect := func(_ any, err error) { errs = append(errs, err) }
	ctx := context.Background()

	type step struct {
		handlers []http.HandlerFunc
		run      func(ctx context.Context, c *Client) error
	}
	list := func(ctx context.Context, c *Client) error { _, err := c.List(ctx); return err }
	mint := func(ctx context.Context, c *Client) error { _, err := c.Mint(ctx, "canary"); return err }
	revoke := func(ctx context.Context, c *Client) error { return c.Revoke(ctx, "tok_1") }
	steps := []step{
		{[]http.HandlerFunc{jsonResponse(401, `{"error":"`+echo+`"}`)}, list},
		{[]http.HandlerFunc{jsonResponse(400, `{"message":"`+echo+`"}`)}, mint},
		{[]http.HandlerFunc{jsonResponse(403, `{"error":{"message":"`+echo+`"}}`)}, revoke},
		{[]http.HandlerFunc{respond(500, "text/html", "<html>"+echo+"</html>")}, list},
		{[]http.HandlerFunc{respond(502, key+"/html", echo)}, mint},
		{[]http.HandlerFunc{respond(302, "", echo, "Location", "https://x/?t="+credential+"&k="+key)}, revoke},
		{[]http.HandlerFunc{respond(302, "", "", "Location", "%zz"+credential+"/"+key)}, list}, // unparseable: net/http quotes it
		{[]http.HandlerFunc{respond(307, "", "", "Location", "%zz"+credential+"/"+key)}, mint},
		{[]http.HandlerFunc{jsonResponse(429, `{"error":"`+echo+`"}`, "Retry-After", "3600")}, list},
		{[]http.HandlerFunc{jsonResponse(201, mintWith(`,"id":"tok_1","created_at":"`+key+`"`))}, mint},
		{[]http.HandlerFunc{jsonResponse(201, mintWith(``))}, mint},
		{[]http.HandlerFunc{jsonResponse(201, mintWith(`,"id":"tok_1"`)[:60])}, mint},
		{[]http.HandlerFunc{jsonResponse(201, mintWith(`,"id":{"`+key+`":1}`))}, mint},
		{[]http.HandlerFunc{jsonResponse(200, `{"tokens":[{"id":"tok_1","key":"`+key+`","created_at":"`+credential+`"}]}`)}, list},
		{[]http.HandlerFunc{jsonResponse(200, `{"tokens":"`+echo+`"}`)}, list},
		{[]http.HandlerFunc{jsonResponse(201, mintWith(`,"id":"tok_1"`))}, mint}, // success: the key must not be logged
		{[]http.HandlerFunc{hangUp}, mint},
		{[]http.HandlerFunc{jsonResponse(418, `{"error":"`+echo+strings.Repeat(" pad", 300<<10)+`"}`)}, revoke},
	}
	for _, s := range steps {
		srv := newServer(t, s.handlers...)
		c := newTestClient(t, srv.URL, func(c *Config) { c.Token, c.Logger, c.MaxRetries = credential, log, 1 })
		// The deadline makes the long Retry-After fail fast instead of being waited out.
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		errs = append(errs, s.run(sctx, c))
		cancel()
	}

	// Input validation that might echo a misplaced secret.
	c := newTestClient(t, "http://127.0.0.1:1", func(c *Config) { c.Token, c.Logger = credential, log })
	errs = append(errs, c.Revoke(ctx, key))
	collect(ParseEndpoint("https://" + key + ".example?x=1"))
	collect(ParseEndpoint("https://user:" + credential + "@x"))
	collect(ParseEndpoint("http://" + key + ".example"))
	collect(OrgEndpoint(key))
	collect(New(Config{Endpoint: "http://127.0.0.1:1", Token: credential + "\n"}))
	collect(New(Config{Endpoint: "https://u:" + credential + "@x", Token: credential}))

	// The real emulator, with the canary as its admin token and its keys as credentials.
	emu := emulator.NewTestServer(t, emulator.Options{AdminToken: credential})
	admin := newTestClient(t, emu.URL(), func(c *Config) { c.Token, c.Logger = credential, log })
	minted, err := admin.Mint(ctx, "canary")
	if err != nil {
		t.Fatal(err)
	}
	asKey := newTestClient(t, emu.URL(), func(c *Config) { c.Token, c.Logger = minted.Key, log })
	collect(asKey.Mint(ctx, "child"))
	emu.Revoke(minted.ID)
	collect(asKey.List(ctx))
	collect(asKey.Mint(ctx, "after-revoke"))
	errs = append(errs, asKey.Revoke(ctx, minted.ID))
	errs = append(errs, admin.Revoke(ctx, minted.ID))
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502})
	collect(admin.Mint(ctx, "ambiguous"))
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenDrop})
	collect(admin.Mint(ctx, "dropped"))

	var all []string
	for _, err := range errs {
		if err != nil {
			all = append(all, err.Error())
		}
	}
	if len(all) < 25 {
		t.Errorf("only %d failure paths exercised", len(all))
	}
	logs := log.String()
	if log.count("DEBUG") < 20 {
		t.Errorf("only %d attempts logged", log.count("DEBUG"))
	}
	for _, secret := range []string{credential, key, key[5:], minted.Key, minted.Key[5:]} {
		for _, e := range all {
			if strings.Contains(e, secret) {
				t.Errorf("error string contains a secret: %s", e)
			}
		}
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain a secret:\n%s", logs)
		}
	}
	if strings.Contains(strings.ToLower(logs), "bearer") || strings.Contains(strings.ToLower(logs), "authorization") {
		t.Errorf("logs mention headers:\n%s", logs)
	}
}
