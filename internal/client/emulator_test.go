package client

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator/emulatortest"
)

// april gives an emulator the April 2026 build: these tests mint with its ADMIN_TOKEN to test
// what does not depend on the build (shapes, reconciliation, retries, secrets), and June and
// newer builds send such a mint to a person for approval (approvals_test.go tests that).
func april(opts emulator.Options) emulator.Options {
	opts.Build = emulator.BuildApril2026
	return opts
}

func emulatorClient(t *testing.T, emu *emulator.Server, token string, edit ...func(*Config)) *Client {
	t.Helper()
	return newTestClient(t, emu.URL(), append([]func(*Config){func(c *Config) { c.Token = token }}, edit...)...)
}

// dialects are the two shapes the client must understand: the deployed service's and the
// published guide's.
var dialects = []emulator.Dialect{emulator.DialectDeployed, emulator.DialectGuide}

func TestEmulatorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			emu := emulatortest.New(t, april(emulator.Options{Dialect: d}))
			c := emulatorClient(t, emu, emu.AdminToken())
			ctx := context.Background()

			before := time.Now().Add(-time.Second)
			m, revoked, err := c.MintReconciled(ctx, "ci-deploy", MintOptions{})
			if err != nil || len(revoked) != 0 {
				t.Fatalf("MintReconciled: %v (revoked %v)", err, revoked)
			}
			if m.MetadataErr != nil {
				t.Errorf("metadata: %v", m.MetadataErr)
			}
			if m.Name != "ci-deploy" || m.CreatedBy != "admin-token" || m.CreatedAt.Before(before.Truncate(time.Second)) ||
				m.LastUsedAt != nil || len(m.Key) < PrefixLength || m.Prefix != m.Key[:PrefixLength] {
				t.Errorf("minted = %+v", m.Token)
			}
			if !emu.IsLive(m.ID) {
				t.Error("the emulator does not know the minted key")
			}

			tokens, err := c.listTokens(ctx)
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			want := m.Token
			if d == emulator.DialectGuide {
				want.Prefix = "" // the guide's list has no prefix
			}
			if len(tokens) != 1 || tokens[0] != want {
				t.Errorf("List = %+v, want [%+v]", tokens, want)
			}

			if err := c.Revoke(ctx, m.ID); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if emu.IsLive(m.ID) {
				t.Error("the key is still live after Revoke")
			}
			err = c.Revoke(ctx, m.ID)
			if !IsKeyNotLive(err) {
				t.Errorf("second Revoke = %v, want a 404", err)
			}
			if tokens, err := c.listTokens(ctx); err != nil || len(tokens) != 0 {
				t.Errorf("List after revoke = %v, %v", tokens, err)
			}
		})
	}
}

func TestEmulatorAttributionAndRevokedCredential(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			emu := emulatortest.New(t, april(emulator.Options{Dialect: d}))
			admin := emulatorClient(t, emu, emu.AdminToken())
			ctx := context.Background()

			parent, _, err := admin.MintReconciled(ctx, "parent", MintOptions{})
			if err != nil {
				t.Fatal(err)
			}
			asKey := emulatorClient(t, emu, parent.Key)
			child, _, err := asKey.MintReconciled(ctx, "child", MintOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if want := "org-token:" + parent.Prefix; child.CreatedBy != want || parent.Prefix != parent.Key[:PrefixLength] {
				t.Errorf("child created_by = %q, want %q", child.CreatedBy, want)
			}
			snap, err := admin.list(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if d == emulator.DialectDeployed {
				if got := asKey.ownAttributions(snap); !slices.Equal(got, []string{child.CreatedBy}) {
					t.Errorf("the parent key's own attributions are %q, want only %q", got, child.CreatedBy)
				}
				if got := admin.ownAttributions(snap); !slices.Equal(got, []string{"admin-token"}) {
					t.Errorf("the admin token's own attributions are %q, want only admin-token", got)
				}
			}

			session := "session"
			if d == emulator.DialectGuide {
				session = "session:user_01HZX"
			}
			seeded, _ := emu.Seed(emulator.SeedKey{Name: "from-canvas", CreatedBy: session})
			tokens, err := admin.listTokens(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]Token{}
			for _, tok := range tokens {
				got[tok.ID] = tok
			}
			if got[seeded.ID].CreatedBy != session || got[parent.ID].CreatedBy != "admin-token" || got[parent.ID].LastUsedAt == nil {
				t.Errorf("list = %+v", tokens)
			}

			if !emu.Revoke(parent.ID) {
				t.Fatal("out-of-band revoke failed")
			}
			_, err = asKey.listTokens(ctx)
			if !IsUnauthorized(err) {
				t.Fatalf("List with a revoked key = %v, want 401", err)
			}
			if msg := err.Error(); strings.Contains(msg, parent.Key) || strings.Contains(msg, emu.AdminToken()) || !strings.Contains(msg, "revoked or mistyped") {
				t.Errorf("401 error = %q", msg)
			}
		})
	}
}

// TestEmulatorMintQuotaFailsFast meets the service's mint quota: the mint past it fails at
// once, with one request, and says when the quota refills.
func TestEmulatorMintQuotaFailsFast(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, april(emulator.Options{MintLimit: emulator.Limit{Requests: 2, Window: time.Hour}}))
	c := emulatorClient(t, emu, emu.AdminToken())
	ctx := context.Background()
	for i := range 2 {
		if _, _, err := c.MintReconciled(ctx, "within-quota", MintOptions{}); err != nil {
			t.Fatalf("mint %d: %v", i+1, err)
		}
	}
	mints := emu.RequestCount(emulator.EndpointMint)
	start := time.Now()
	_, _, err := c.MintReconciled(ctx, "over-quota", MintOptions{})
	info, ok := rateLimited(err)
	if !ok {
		t.Fatalf("third mint = %v, want a 429", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %s: it should fail at once", d)
	}
	if n := emu.RequestCount(emulator.EndpointMint) - mints; n != 1 {
		t.Errorf("%d mint requests, want 1", n)
	}
	if info.Limit != 2 || info.RetryAfter < 59*time.Minute || info.RetryAfter > time.Hour ||
		info.ResetAt.Before(time.Now().Add(58*time.Minute)) || info.ResetAt.After(time.Now().Add(time.Hour+time.Minute)) {
		t.Errorf("rate limit = %+v", info)
	}
	if !strings.Contains(err.Error(), "not retrying") || len(emu.LiveKeys()) != 2 {
		t.Errorf("error %q, %d live keys", err, len(emu.LiveKeys()))
	}
}

func TestEmulatorRetriesIdempotentFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		endpoint string
		status   int
	}{
		{emulator.EndpointList, 503},
		{emulator.EndpointList, 500},
		{emulator.EndpointRevoke, 503},
		{emulator.EndpointRevoke, 500},
	} {
		t.Run(tc.endpoint+"-"+strconv.Itoa(tc.status), func(t *testing.T) {
			t.Parallel()
			emu := emulatortest.New(t, april(emulator.Options{}))
			key, _ := emu.Seed(emulator.SeedKey{Name: "seeded"})
			emu.AddFault(emulator.Fault{Endpoint: tc.endpoint, Mode: emulator.FaultRespond, Status: tc.status, Times: 2})
			c := emulatorClient(t, emu, emu.AdminToken())
			var err error
			if tc.endpoint == emulator.EndpointList {
				var tokens []Token
				tokens, err = c.listTokens(context.Background())
				if err == nil && (len(tokens) != 1 || tokens[0].ID != key.ID) {
					t.Errorf("List = %+v", tokens)
				}
			} else {
				err = c.Revoke(context.Background(), key.ID)
				if err == nil && emu.IsLive(key.ID) {
					t.Error("key still live")
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := emu.RequestCount(tc.endpoint); n != 3 {
				t.Errorf("%s requests = %d, want 3", tc.endpoint, n)
			}
		})
	}
}

// TestEmulatorNotImplementedIsDefinite: 501 means the service does not support the request, so
// nothing was created or revoked and nothing is retried, not even a mint's outcome is in doubt.
func TestEmulatorNotImplementedIsDefinite(t *testing.T) {
	t.Parallel()
	for _, endpoint := range []string{emulator.EndpointList, emulator.EndpointMint, emulator.EndpointRevoke} {
		t.Run(endpoint, func(t *testing.T) {
			t.Parallel()
			emu := emulatortest.New(t, april(emulator.Options{}))
			emu.AddFault(emulator.Fault{Endpoint: endpoint, Status: 501, Times: 5})
			c := emulatorClient(t, emu, emu.AdminToken())
			ctx := context.Background()
			var err error
			switch endpoint {
			case emulator.EndpointList:
				_, err = c.listTokens(ctx)
			case emulator.EndpointMint:
				_, err = c.mint(ctx, "unsupported", MintOptions{})
			default:
				err = c.Revoke(ctx, "tok_01HZX3B7N8PQ9K4M5R6T")
			}
			var apiErr *APIError
			var unknown *outcomeUnknownError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotImplemented || errors.As(err, &unknown) {
				t.Fatalf("error = %v, want a plain *APIError with status 501", err)
			}
			if n := emu.RequestCount(endpoint); n != 1 {
				t.Errorf("%s requests = %d, want exactly 1", endpoint, n)
			}
			if live := emu.LiveKeys(); len(live) != 0 {
				t.Errorf("live keys = %+v, want none", live)
			}
		})
	}
}

func TestEmulatorMintAmbiguity(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]emulator.Fault{
		"502 before commit":  {Endpoint: emulator.EndpointMint, Mode: emulator.FaultRespond, Status: 502},
		"502 after commit":   {Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenStatus, Status: 502},
		"drop after commit":  {Endpoint: emulator.EndpointMint, Mode: emulator.FaultCommitThenDrop},
		"drop before commit": {Endpoint: emulator.EndpointMint, Mode: emulator.FaultDropBeforeCommit},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emu := emulatortest.New(t, april(emulator.Options{}))
			emu.AddFault(f)
			_, err := emulatorClient(t, emu, emu.AdminToken()).mint(context.Background(), "ambiguous", MintOptions{})
			var unknown *outcomeUnknownError
			if !errors.As(err, &unknown) || unknown.Name != "ambiguous" {
				t.Fatalf("Mint = %v, want *outcomeUnknownError", err)
			}
			if n := emu.RequestCount(emulator.EndpointMint); n != 1 {
				t.Errorf("mint requests = %d, want exactly 1", n)
			}
			committed := f.Mode == emulator.FaultCommitThenDrop || f.Mode == emulator.FaultCommitThenStatus
			if live := len(emu.LiveKeys()); committed && live != 1 || !committed && live != 0 {
				t.Errorf("%d live keys", live)
			}
		})
	}
}

func TestEmulatorMintRetriedAfter429(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, april(emulator.Options{}))
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Status: 429, RetryAfter: "0"})
	m, err := emulatorClient(t, emu, emu.AdminToken()).mint(context.Background(), "after-429", MintOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := emu.RequestCount(emulator.EndpointMint); n != 2 {
		t.Errorf("mint requests = %d, want 2", n)
	}
	if live := emu.LiveKeys(); len(live) != 1 || live[0].ID != m.ID {
		t.Errorf("live keys = %+v", live)
	}
}

func TestEmulatorRateLimitExhausted(t *testing.T) {
	t.Parallel()
	emu := emulatortest.New(t, april(emulator.Options{}))
	emu.SetRateLimit(emulator.RateLimit{Requests: 1, Per: time.Hour, RetryAfter: "0"})
	c := emulatorClient(t, emu, emu.AdminToken())
	if _, err := c.listTokens(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := c.mint(context.Background(), "limited", MintOptions{})
	var unknown *outcomeUnknownError
	if !IsRateLimited(err) || errors.As(err, &unknown) || emu.RequestCount(emulator.EndpointMint) != 4 || len(emu.LiveKeys()) != 0 {
		t.Errorf("Mint = %v after %d requests", err, emu.RequestCount(emulator.EndpointMint))
	}
}

// TestEmulatorWaitCap sets both caps the way the provider's max_retry_wait does and checks that no
// wait exceeds them. The default minimum wait yields to the cap; a Retry-After within it is
// honoured.
func TestEmulatorWaitCap(t *testing.T) {
	t.Parallel()
	const limit = 50 * time.Millisecond
	emu := emulatortest.New(t, april(emulator.Options{}))
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Status: 429, RetryAfter: "0"})
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Status: 503})
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Status: 503})
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Status: 429, Times: 2})
	log := &recordingLogger{}
	c, err := New(Config{
		Endpoint:      emu.URL(),
		Token:         emu.AdminToken(),
		MaxRetries:    3,
		RetryWaitMax:  limit,
		MaxRetryAfter: limit,
		Logger:        log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	if _, err := c.listTokens(ctx); err != nil {
		t.Fatalf("List: %v", err)
	}
	m, err := c.mint(ctx, "after-429s", MintOptions{})
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("took %s", elapsed)
	}
	if n := emu.RequestCount(emulator.EndpointList); n != 4 {
		t.Errorf("list requests = %d, want 4", n)
	}
	if n := emu.RequestCount(emulator.EndpointMint); n != 3 {
		t.Errorf("mint requests = %d, want 3", n)
	}
	if live := emu.LiveKeys(); len(live) != 1 || live[0].ID != m.ID {
		t.Errorf("live keys = %+v", live)
	}
	waits := regexp.MustCompile(`wait_ms:(\d+)`).FindAllStringSubmatch(log.String(), -1)
	if len(waits) != 5 {
		t.Fatalf("%d retries logged, want 5:\n%s", len(waits), log)
	}
	for _, w := range waits {
		if ms, _ := strconv.Atoi(w[1]); time.Duration(ms)*time.Millisecond > limit {
			t.Errorf("waited %sms, more than %s", w[1], limit)
		}
	}
}
