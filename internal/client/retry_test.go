package client

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client/clocktest"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator/emulatortest"
)

// brokenListener accepts loopback connections and hands each to serve, counting them.
func brokenListener(t *testing.T, serve func(net.Conn)) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	accepted = &atomic.Int32{}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer func() { _ = conn.Close() }()
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				serve(conn)
			}()
		}
	}()
	return ln.Addr().String(), accepted
}

// assertNotReconciled checks that a mint that failed before its request could reach the service
// was retried like a dial failure and never treated as a lost answer.
func assertNotReconciled(t *testing.T, err error, log *recordingLogger, connections int32) {
	t.Helper()
	if err == nil {
		t.Fatal("the mint succeeded through a broken connection")
	}
	var unknown *outcomeUnknownError
	var unresolved *UnresolvedMintError
	var abandoned *MintAbandonedError
	if errors.As(err, &unknown) || errors.As(err, &unresolved) || errors.As(err, &abandoned) {
		t.Fatalf("a request that never reached the service was treated as a lost answer: %v", err)
	}
	if n := log.count("WARN Mint outcome unknown"); n != 0 {
		t.Fatalf("reconciliation started:\n%s", log)
	}
	// MaxRetries is 1: the mint and its retry, and no list to reconcile.
	if connections != 2 {
		t.Fatalf("%d connections, want 2 (the mint and one retry, no list):\n%s", connections, log)
	}
}

// newUnsentClient returns a client for endpoint whose baseline list is already taken, so that
// every connection it opens is a mint or a reconciliation's list.
func newUnsentClient(t *testing.T, endpoint string, edit func(*Config)) (*Client, *recordingLogger) {
	t.Helper()
	log := &recordingLogger{}
	c := newTestClient(t, endpoint, func(c *Config) {
		c.Logger, c.MaxRetries = log, 1
		if edit != nil {
			edit(c)
		}
	})
	c.rec.baseline = map[string]struct{}{}
	return c, log
}

func TestMintNotSentWhenTheTLSHandshakeFails(t *testing.T) {
	t.Parallel()
	for name, serve := range map[string]func(net.Conn){
		// Reads the ClientHello and hangs up.
		"closed during the handshake": func(conn net.Conn) { _, _ = conn.Read(make([]byte, 1024)) },
		// Answers the ClientHello in plain HTTP, as a server without TLS on that port would.
		"plain HTTP answer": func(conn net.Conn) {
			_, _ = conn.Read(make([]byte, 1024))
			_, _ = io.WriteString(conn, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			addr, accepted := brokenListener(t, serve)
			c, log := newUnsentClient(t, "https://"+addr, nil)
			_, _, err := c.MintReconciled(context.Background(), "ci", MintOptions{})
			assertNotReconciled(t, err, log, accepted.Load())
		})
	}

	// The trace excuses only what never left: a request the server read before hanging up is
	// still a lost answer.
	addr, _ := brokenListener(t, func(conn net.Conn) { _, _ = http.ReadRequest(bufio.NewReader(conn)) })
	c := newTestClient(t, "http://"+addr, func(c *Config) { c.MaxRetries = 1 })
	var unknown *outcomeUnknownError
	if _, err := c.mint(context.Background(), "ci", MintOptions{}); !errors.As(err, &unknown) {
		t.Fatalf("want outcomeUnknownError for a request the server read, got %v", err)
	}
}

func TestMintNotSentWhenTheProxyRefusesConnect(t *testing.T) {
	t.Parallel()
	for name, answer := range map[string]string{
		"502":    "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
		"closed": "",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var connects atomic.Int32
			addr, accepted := brokenListener(t, func(conn net.Conn) {
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				if req.Method == http.MethodConnect {
					connects.Add(1)
				}
				_, _ = io.WriteString(conn, answer)
			})
			proxy := &url.URL{Scheme: "http", Host: addr}
			transport := &http.Transport{Proxy: http.ProxyURL(proxy)}
			t.Cleanup(transport.CloseIdleConnections)
			// The service is never reached: only the proxy is dialled.
			c, log := newUnsentClient(t, "https://acme.moleculesai.app", func(c *Config) { c.Transport = transport })
			_, _, err := c.MintReconciled(context.Background(), "ci", MintOptions{})
			assertNotReconciled(t, err, log, accepted.Load())
			if connects.Load() != 2 {
				t.Fatalf("%d CONNECT requests, want 2", connects.Load())
			}
		})
	}
}

func TestNextWaitRetryAfterZeroOrPastIsTheMinimumBackoff(t *testing.T) {
	t.Parallel()
	c := newTestClient(t, "http://127.0.0.1:1", func(c *Config) {
		c.RetryWaitMin, c.RetryWaitMax, c.MaxRetryAfter = 200*time.Millisecond, time.Second, 5*time.Second
	})
	for _, v := range []string{"0", "00", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)} {
		resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {v}}}
		if d := c.nextWait(1, resp); d != 200*time.Millisecond {
			t.Errorf("Retry-After %q: wait %s, want the minimum backoff 200ms", v, d)
		}
	}
	resp := &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"2"}}}
	if d := c.nextWait(1, resp); d != 2*time.Second {
		t.Errorf("Retry-After 2: wait %s, want 2s", d)
	}
}

func TestRetryAfterZeroWaitsTheMinimumBackoff(t *testing.T) {
	t.Parallel()
	for name, retryAfter := range map[string]string{
		"zero":      "0",
		"past date": time.Now().Add(-time.Minute).UTC().Format(http.TimeFormat),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			emu := emulatortest.New(t, april(emulator.Options{}))
			log := &recordingLogger{}
			clock := clocktest.New(time.Now())
			c := newTestClient(t, emu.URL(), withClock(clock), func(c *Config) {
				c.Token, c.Logger, c.RetryWaitMin, c.RetryWaitMax = emu.AdminToken(), log, 200*time.Millisecond, time.Second
			})
			emu.AddFault(emulator.Fault{Endpoint: emulator.EndpointList, Status: http.StatusTooManyRequests, RetryAfter: retryAfter})
			start := clock.Now()
			if _, err := c.listTokens(context.Background()); err != nil {
				t.Fatal(err)
			}
			if d := clock.Now().Sub(start); d != 200*time.Millisecond {
				t.Fatalf("the retry came %s after the first attempt, want the 200ms minimum backoff", d)
			}
			if !strings.Contains(log.String(), "wait_ms:200") || emu.RequestCount(emulator.EndpointList) != 2 {
				t.Fatalf("want one retry after 200ms:\n%s", log)
			}
		})
	}
}

// deliveredThenLost delivers the first mint and then reports a timeout, as a transport does when
// the time runs out after it handed the request over but before its WroteHeaders hook ran (HTTP/2
// writes the HEADERS frame on another goroutine).
type deliveredThenLost struct {
	next http.RoundTripper
	lost atomic.Bool
}

func (d *deliveredThenLost) RoundTrip(r *http.Request) (*http.Response, error) {
	if trace := httptrace.ContextClientTrace(r.Context()); trace != nil {
		trace.GetConn(r.URL.Host)
		trace.GotConn(httptrace.GotConnInfo{})
	}
	resp, err := d.next.RoundTrip(r)
	if err == nil && r.Method == http.MethodPost && d.lost.CompareAndSwap(false, true) {
		resp.Body.Close()
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	}
	return resp, err
}

// A mint whose connection was made may have been delivered, whatever the write hooks said: it is
// reconciled, never re-sent as if it had not left.
func TestMintDeliveredBeforeTheWriteHookIsReconciled(t *testing.T) {
	t.Parallel()
	f := newFakeService(t)
	c := newTestClient(t, f.URL, withCredential(f.admin), func(c *Config) {
		c.Transport = &deliveredThenLost{next: http.DefaultTransport}
	})
	m, revoked, err := c.MintReconciled(context.Background(), "delivered", MintOptions{})
	if err != nil {
		t.Fatalf("MintReconciled: %v", err)
	}
	if len(revoked) != 1 || !slices.Equal(f.liveNamed("delivered"), []string{m.ID}) {
		t.Fatalf("revoked %v, live %v: the delivered key must be found and revoked, and only %s left", revoked, f.liveNamed("delivered"), m.ID)
	}
}
