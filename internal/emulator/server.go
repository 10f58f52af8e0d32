package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// closeGrace bounds how long Close waits for in-flight requests before cutting connections.
const closeGrace = 5 * time.Second

// Handler returns the HTTP handler, for callers that run their own http.Server.
func (s *Server) Handler() http.Handler { return s.handler }

// Start listens on addr and serves in the background. Only loopback addresses are accepted:
// the emulator hands out working credentials to anyone who asks with the admin token, so it must
// never be reachable from the network.
func (s *Server) Start(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("emulator: invalid listen address %q: %w", addr, err)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("emulator: refusing to listen on %q: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed", addr)
	}
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.closed {
		return errors.New("emulator: server is closed")
	}
	if s.started {
		return errors.New("emulator: server already started")
	}
	ln, err := new(net.ListenConfig).Listen(s.baseCtx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	// "localhost" is resolved by the system; make sure it did not resolve to something else.
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		_ = ln.Close()
		return fmt.Errorf("emulator: refusing to serve on non-loopback address %s", ln.Addr())
	}
	s.httpSrv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
	}
	s.url = "http://" + ln.Addr().String()
	s.started = true
	go func(srv *http.Server) { _ = srv.Serve(ln) }(s.httpSrv)
	return nil
}

// isLoopbackHost accepts localhost and loopback IP literals, without any DNS lookup.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL returns the base URL, such as "http://127.0.0.1:PORT", or "" before Start.
func (s *Server) URL() string {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	return s.url
}

// Close stops serving, ends artificial waits, and writes the final state. It reports a failure
// to persist state, including one from an earlier out-of-band mutation. Calling it again is a
// no-op.
func (s *Server) Close() error {
	s.lifeMu.Lock()
	if s.closed {
		s.lifeMu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.httpSrv
	s.lifeMu.Unlock()

	s.cancel()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}
	if s.statePath == "" {
		return nil
	}
	s.mu.Lock()
	snap := s.snapshot()
	s.mu.Unlock()
	return s.persist(snap)
}
