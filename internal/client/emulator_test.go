package client

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

func emulatorClient(t *testing.T, emu *emulator.Server, token string) *Client {
	t.Helper()
	return newTestClient(t, emu.URL(), func(c *Config) { c.Token = token })
}

func TestEmulatorRoundTrip(t *testing.T) {
	t.Parallel()
	emu := emulator.NewTestServer(t, emulator.Options{})
	c := emulatorClient(t, emu, emu.AdminToken())
	ctx := context.Background()

	before := time.Now().Add(-time.Second)
	m, err := c.Mint(ctx, "ci-deploy")
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	if !strings.HasPrefix(m.ID, "tok_") || !strings.HasPrefix(m.Key, "mola_") || m.Name != "ci-deploy" ||
		m.CreatedBy != "admin-token" || m.CreatedAt.Before(before.Truncate(time.Second)) || m.LastUsedAt != nil {
		t.Errorf("minted = %+v", m.Token)
	}
	if !emu.IsLive(m.ID) {
		t.Error("the emulator does not know the minted key")
	}

	tokens, err := c.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(tokens) != 1 || tokens[0] != m.Token {
		t.Errorf("List = %+v, want [%+v]", tokens, m.Token)
	}

	if err := c.Revoke(ctx, m.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if emu.IsLive(m.ID) {
		t.Error("the key is still live after Revoke")
	}
	err = c.Revoke(ctx, m.ID)
	if !IsNotFound(err) {
		t.Errorf("second Revoke = %v, want a 404", err)
	}
	if tokens, err := c.List(ctx); err != nil || len(tokens) != 0 {
		t.Errorf("List after revoke = %v, %v", tokens, err)
	}
}

func TestEmulatorAttributionAndRevokedCredential(t *testing.T) {
	t.Parallel()
	emu := emulator.NewTestServer(t, emulator.Options{})
	admin := emulatorClient(t, emu, emu.AdminToken())
	ctx := context.Background()

	parent, err := admin.Mint(ctx, "parent")
	if err != nil {
		t.Fatal(err)
	}
	asKey := emulatorClient(t, emu, parent.Key)
	child, err := asKey.Mint(ctx, "child")
	if err != nil {
		t.Fatal(err)
	}
	if want := "org-token:" + parent.Key[:8]; child.CreatedBy != want {
		t.Errorf("child created_by = %q, want %q", child.CreatedBy, want)
	}

	emu.AddSession("canvas-session-token", "user_01HZX")
	seeded, _ := emu.Seed(emulator.SeedKey{Name: "from-canvas", CreatedBy: "session:user_01HZX"})
	tokens, err := admin.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Token{}
	for _, tok := range tokens {
		got[tok.ID] = tok
	}
	if got[seeded.ID].CreatedBy != "session:user_01HZX" || got[parent.ID].CreatedBy != "admin-token" || got[parent.ID].LastUsedAt == nil {
		t.Errorf("list = %+v", tokens)
	}

	if !emu.Revoke(parent.ID) {
		t.Fatal("out-of-band revoke failed")
	}
	_, err = asKey.List(ctx)
	if !IsUnauthorized(err) {
		t.Fatalf("List with a revoked key = %v, want 401", err)
	}
	if msg := err.Error(); strings.Contains(msg, parent.Key) || strings.Contains(msg, emu.AdminToken()) || !strings.Contains(msg, "revoked or mistyped") {
		t.Errorf("401 error = %q", msg)
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
			emu := emulator.NewTestServer(t, emulator.Options{})
			key, _ := emu.Seed(emulator.SeedKey{Name: "seeded"})
			emu.AddFault(emulator.Fault{Endpoint: tc.endpoint, Mode: emulator.FaultRespond, Status: tc.status, Times: 2})
			c := emulatorClient(t, emu, emu.AdminToken())
			var err error
			if tc.endpoint == emulator.EndpointList {
				var tokens []Token
				tokens, err = c.List(context.Background())
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

func TestEmulatorNotImplementedNotRetried(t *testing.T) {
	t.Parallel()
	emu := emulator.NewTestServer(t, emulator.Options{})
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Status: 501, Times: 5})
	_, err := emulatorClient(t, emu, emu.AdminToken()).List(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 501 || emu.RequestCount(emulator.EndpointList) != 1 {
		t.Errorf("List = %v after %d requests", err, emu.RequestCount(emulator.EndpointList))
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
			emu := emulator.NewTestServer(t, emulator.Options{})
			emu.AddFault(f)
			_, err := emulatorClient(t, emu, emu.AdminToken()).Mint(context.Background(), "ambiguous")
			var unknown *MintOutcomeUnknownError
			if !errors.As(err, &unknown) || unknown.Name != "ambiguous" {
				t.Fatalf("Mint = %v, want *MintOutcomeUnknownError", err)
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
	emu := emulator.NewTestServer(t, emulator.Options{})
	emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointMint, Status: 429, RetryAfter: "0"})
	m, err := emulatorClient(t, emu, emu.AdminToken()).Mint(context.Background(), "after-429")
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
	emu := emulator.NewTestServer(t, emulator.Options{})
	emu.SetRateLimit(emulator.RateLimit{Requests: 1, Per: time.Hour, RetryAfter: "0"})
	c := emulatorClient(t, emu, emu.AdminToken())
	if _, err := c.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := c.Mint(context.Background(), "limited")
	var unknown *MintOutcomeUnknownError
	if !IsRateLimited(err) || errors.As(err, &unknown) || emu.RequestCount(emulator.EndpointMint) != 4 || len(emu.LiveKeys()) != 0 {
		t.Errorf("Mint = %v after %d requests", err, emu.RequestCount(emulator.EndpointMint))
	}
}
