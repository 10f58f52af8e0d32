package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// listBody builds a list response of n keys as the service would send it.
func listBody(b *testing.B, n int) []byte {
	b.Helper()
	type wire struct {
		ID         string     `json:"id"`
		Name       string     `json:"name"`
		CreatedBy  string     `json:"created_by"`
		CreatedAt  time.Time  `json:"created_at"`
		LastUsedAt *time.Time `json:"last_used_at"`
	}
	at := time.Date(2026, 4, 21, 0, 0, 0, 0, time.UTC)
	tokens := make([]wire, n)
	for i := range tokens {
		tokens[i] = wire{ID: fmt.Sprintf("tok_01HZX3B7N8PQ9K%06d", i), Name: fmt.Sprintf("ci-bot-%d", i),
			CreatedBy: "admin-token", CreatedAt: at.Add(time.Duration(i) * time.Second)}
		if i%2 == 0 {
			tokens[i].LastUsedAt = &at
		}
	}
	body, err := json.Marshal(map[string]any{"tokens": tokens})
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func benchClient(b *testing.B, body []byte) *Client {
	b.Helper()
	c, err := New(Config{Endpoint: "https://acme.moleculesai.app", Token: "bench-credential",
		Transport: &stubTransport{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: body}})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkList10k decodes a 10,000-key list response: the cost of the one request a plan makes.
func BenchmarkList10k(b *testing.B) {
	body := listBody(b, 10_000)
	c := benchClient(b, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		tokens, err := c.listTokens(context.Background())
		if err != nil || len(tokens) != 10_000 {
			b.Fatal(err, len(tokens))
		}
	}
}

// BenchmarkSnapshot10k lists 10,000 keys and indexes them by id, as a refresh does once.
func BenchmarkSnapshot10k(b *testing.B) {
	c := benchClient(b, listBody(b, 10_000))
	b.ReportAllocs()
	for b.Loop() {
		c.cache.changed()
		if s, err := c.Snapshot(context.Background()); err != nil || len(s.Tokens) != 10_000 {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookup10k finds one key among 10,000 in a shared snapshot: the cost of each
// resource's refresh after the first.
func BenchmarkLookup10k(b *testing.B) {
	c := benchClient(b, listBody(b, 10_000))
	s, err := c.Snapshot(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, len(s.Tokens))
	for i, t := range s.Tokens {
		ids[i] = t.ID
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		snap, err := c.Snapshot(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if _, ok := snap.Lookup(ids[i%len(ids)]); !ok {
			b.Fatal("missing key")
		}
		i++
	}
}

// BenchmarkListHostile is a 64 MiB list of tiny entries, as a misbehaving server or proxy might
// send: it is refused after the first 10,000 entries (or 2 MiB), and what it costs stays bounded
// by that, not by the body's size.
func BenchmarkListHostile(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`{"tokens":[`)
	for body.Len() < 64<<20 {
		body.WriteString(`{"id":"x"},`)
	}
	body.WriteString(`{"id":"x"}]}`)
	c := benchClient(b, body.Bytes())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.listTokens(context.Background()); err == nil || !strings.Contains(err.Error(), "lists more than 10000 keys") {
			b.Fatal(err)
		}
	}
}
