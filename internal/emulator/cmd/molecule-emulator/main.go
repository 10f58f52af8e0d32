// Command molecule-emulator serves a local Molecule org token API for demos, manual testing and
// benchmarks:
//
//	go run ./internal/emulator/cmd/molecule-emulator -url-file /tmp/molecule.url
//
// By default it answers as the newest server build does, limits included (10 mints an hour and 600
// requests a minute per caller, at most 500 keys listed); -build 2026-04 follows the April 2026
// build, -tenant-org-id makes it a hosted organization that requires the X-Molecule-Org-Id
// routing header, -dialect guide serves the published guide's shape instead, and -mint-limit off /
// -request-limit off lift the limits for bulk work such as benchmarks.
//
// It listens on loopback only, logs one line per request (method, path, status, duration —
// never headers or bodies) to stderr, and shuts down cleanly on SIGINT or SIGTERM.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/atomicfile"
	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

const (
	envAdminToken = "MOLECULE_EMULATOR_ADMIN_TOKEN"
	envOrgKey     = "MOLECULE_EMULATOR_ORG_KEY"
	shutdownGrace = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	listen, adminToken, orgKey, statePath, urlFile string
	rateLimit                                      int
	rateWindow, latency                            time.Duration

	dialect, build          string
	tenantOrgID, platformWS string
	noPlatformWS, gate      bool
	mintCeiling             int
	mintLimit, requestLimit limitFlag
	listCap                 int
}

// limitFlag reads a per-address limit as N/DURATION ("10/1h", "600/m") or "off".
type limitFlag struct{ emulator.Limit }

func (f *limitFlag) String() string {
	if f.Off {
		return "off"
	}
	d := f.Window
	w := d.String()
	switch {
	case d%time.Hour == 0:
		w = strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		w = strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.Itoa(f.Requests) + "/" + w
}

func (f *limitFlag) Set(v string) error {
	if strings.EqualFold(v, "off") {
		f.Limit = emulator.NoLimit
		return nil
	}
	n, per, ok := strings.Cut(v, "/")
	requests, err := strconv.Atoi(n)
	if !ok || err != nil || requests <= 0 {
		return errors.New(`want N/DURATION such as "10/1h", or "off"`)
	}
	if per != "" && (per[0] < '0' || per[0] > '9') {
		per = "1" + per // "10/h" reads as "10/1h"
	}
	window, err := time.ParseDuration(per)
	if err != nil || window <= 0 {
		return errors.New(`want N/DURATION such as "10/1h", or "off"`)
	}
	f.Limit = emulator.Limit{Requests: requests, Window: window}
	return nil
}

// parseFlags returns the configuration, or the exit code to stop with.
func parseFlags(args []string, stderr io.Writer) (config, int, bool) {
	c := config{
		mintLimit:    limitFlag{emulator.Limit{Requests: 10, Window: time.Hour}},
		requestLimit: limitFlag{emulator.Limit{Requests: 600, Window: time.Minute}},
	}
	fs := flag.NewFlagSet("molecule-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "loopback `address` to listen on")
	fs.StringVar(&c.adminToken, "admin-token", "", "admin credential (default: $"+envAdminToken+", else a random token printed once)")
	fs.StringVar(&c.orgKey, "org-key", "", "an org key anchored to the organization, which mints without approval (default: $"+envOrgKey+", else a random key printed once)")
	fs.StringVar(&c.statePath, "state", "", "`file` keeping the organization across restarts (default: memory only)")
	fs.StringVar(&c.urlFile, "url-file", "", "`file` to write the base URL to once listening")
	fs.StringVar(&c.dialect, "dialect", string(emulator.DialectDeployed), "response shape, `deployed|guide`: the service as deployed, or the published guide's")
	fs.StringVar(&c.build, "build", string(emulator.BuildJune2026), "server build to follow where builds differ, `2026-06|2026-04`")
	fs.StringVar(&c.tenantOrgID, "tenant-org-id", "", "serve as a hosted organization with this UUID, answering only requests whose X-Molecule-Org-Id carries it (default: self-hosted)")
	fs.Var(&c.mintLimit, "mint-limit", "mints per caller (organization header, else credential, else client address), as `N/DURATION` (\"10/1h\", \"5/m\") or \"off\"")
	fs.Var(&c.requestLimit, "request-limit", "API requests per caller, as `N/DURATION` or \"off\"")
	fs.IntVar(&c.listCap, "list-cap", 0, "most keys a list returns, the newest (0: the service's 500; negative: all)")
	fs.StringVar(&c.platformWS, "platform-workspace-id", "", "the deployment's platform workspace, where ADMIN_TOKEN mints wait for approval (default: a generated one)")
	fs.BoolVar(&c.noPlatformWS, "no-platform-workspace", false, "a deployment without a platform workspace: every ADMIN_TOKEN mint is refused (400)")
	fs.BoolVar(&c.gate, "approval-gate", false, "gate anchored org keys' mints too (MOLECULE_PLATFORM_APPROVAL_GATE=1)")
	fs.IntVar(&c.mintCeiling, "mint-ceiling", 0, "live, unexpired keys one organization may hold (0: the service's 100; negative: none)")
	fs.IntVar(&c.rateLimit, "rate-limit", 0, "test harness: requests allowed per window over all clients, before any fault (0: unlimited)")
	fs.DurationVar(&c.rateWindow, "rate-window", time.Second, "test harness: -rate-limit window")
	fs.DurationVar(&c.latency, "latency", 0, "delay added to every API request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, 0, false
		}
		return c, 2, false
	}
	if fs.NArg() > 0 {
		_, _ = fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return c, 2, false
	}
	if d := emulator.Dialect(c.dialect); d != emulator.DialectDeployed && d != emulator.DialectGuide {
		_, _ = fmt.Fprintf(stderr, "invalid -dialect %q: want %q or %q\n", c.dialect, emulator.DialectDeployed, emulator.DialectGuide)
		fs.Usage()
		return c, 2, false
	}
	if b := emulator.Build(c.build); b != emulator.BuildJune2026 && b != emulator.BuildApril2026 {
		_, _ = fmt.Fprintf(stderr, "invalid -build %q: want %q or %q\n", c.build, emulator.BuildJune2026, emulator.BuildApril2026)
		fs.Usage()
		return c, 2, false
	}
	return c, 0, true
}

// run serves until ctx ends and returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	cfg, code, ok := parseFlags(args, stderr)
	if !ok {
		return code
	}
	logger := log.New(stderr, "", log.LstdFlags|log.LUTC|log.Lmicroseconds)
	if err := serve(ctx, cfg, getenv, stderr, logger); err != nil {
		logger.Printf("error: %v", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, cfg config, getenv func(string) string, stderr io.Writer, logger *log.Logger) error {
	token := cfg.adminToken
	if token == "" {
		token = getenv(envAdminToken)
	}
	orgKey := cfg.orgKey
	if orgKey == "" {
		orgKey = getenv(envOrgKey)
	}
	ln, err := listenLoopback(ctx, cfg.listen)
	if err != nil {
		return err
	}
	emu, err := emulator.New(emulator.Options{
		AdminToken:          token,
		OrgKey:              orgKey,
		StatePath:           cfg.statePath,
		Dialect:             emulator.Dialect(cfg.dialect),
		Build:               emulator.Build(cfg.build),
		TenantOrgID:         cfg.tenantOrgID,
		MintLimit:           cfg.mintLimit.Limit,
		RequestLimit:        cfg.requestLimit.Limit,
		ListCap:             cfg.listCap,
		PlatformWorkspaceID: cfg.platformWS,
		NoPlatformWorkspace: cfg.noPlatformWS,
		ApprovalGate:        cfg.gate,
		MintCeiling:         cfg.mintCeiling,
	})
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	if token == "" {
		// Printed once, on purpose: a generated token is useless unless the operator learns it.
		_, _ = fmt.Fprintf(stderr, "molecule-emulator: generated admin token (set %s to choose one): %s\n", envAdminToken, emu.AdminToken())
	}
	// The credential to mint with on June 2026 builds, where ADMIN_TOKEN mints wait for a
	// person's approval.
	if key := emu.OrgKey(); orgKey == "" {
		_, _ = fmt.Fprintf(stderr, "molecule-emulator: generated org key, anchored to the organization (set %s to choose one): %s\n", envOrgKey, key)
	}
	emu.SetRateLimit(emulator.RateLimit{Requests: cfg.rateLimit, Per: cfg.rateWindow})
	emu.SetLatency(cfg.latency)

	srv := &http.Server{
		Handler:           logRequests(logger, emu.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	url := "http://" + ln.Addr().String()
	if cfg.urlFile != "" {
		// Replaced whole, so that a script polling for the file never reads it half written.
		if err := atomicfile.Write(cfg.urlFile, []byte(url), 0o600); err != nil {
			_ = srv.Close()
			return errors.Join(fmt.Errorf("writing -url-file: %w", err), emu.Close())
		}
	}
	logger.Printf("listening on %s (dialect %s, build %s, mint limit %s, request limit %s)", url, emu.Dialect(), emu.Build(), &cfg.mintLimit, &cfg.requestLimit)

	select {
	case <-ctx.Done():
		logger.Printf("shutting down")
	case err := <-served:
		return errors.Join(err, emu.Close())
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	shutdownErr := srv.Shutdown(sctx)
	// Close ends any artificial latency still holding a request, then saves the final state.
	closeErr := emu.Close()
	if shutdownErr != nil {
		_ = srv.Close()
	}
	if cfg.urlFile != "" {
		// A stale URL file would point the next script at a dead port.
		_ = os.Remove(cfg.urlFile)
	}
	return closeErr
}

// listenLoopback listens on addr if, and only if, it is a loopback address: the emulator hands
// out working credentials to anyone holding the admin token and must not face a network.
func listenLoopback(ctx context.Context, addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("invalid -listen %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if !strings.EqualFold(host, "localhost") && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("refusing -listen %q: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed", addr)
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		_ = ln.Close()
		return nil, fmt.Errorf("refusing to serve on non-loopback address %s", ln.Addr())
	}
	return ln, nil
}

// logRequests writes one line per request. Only the method, path, status and duration are
// logged: headers carry credentials and mint responses carry plaintext keys.
func logRequests(logger *log.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := fmt.Sprint(sw.status)
			switch {
			case sw.hijacked:
				status = "dropped"
			case sw.status == 0:
				status = "aborted"
			}
			logger.Printf("method=%s path=%q status=%s duration=%s",
				r.Method, redactKeys(r.URL.Path), status, time.Since(start).Round(time.Microsecond))
		}()
		next.ServeHTTP(sw, r)
	})
}

// redactKeys hides anything shaped like an org key, should a client put one in a path: the
// guide's mola_ keys, and any run of 40 or more base64url characters, which covers the
// service's 43-character keys (its ids, UUIDs, are 36 characters and stay readable).
func redactKeys(path string) string {
	return redactLongRuns(redactGuideKeys(path))
}

func redactLongRuns(path string) string {
	const minRun = 40
	isKeyChar := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
	}
	var b strings.Builder
	for i := 0; i < len(path); {
		j := i
		for j < len(path) && isKeyChar(path[j]) {
			j++
		}
		switch {
		case j-i >= minRun:
			b.WriteString("[REDACTED]")
		case j > i:
			b.WriteString(path[i:j])
		default:
			b.WriteByte(path[i])
			j++
		}
		i = j
	}
	return b.String()
}

func redactGuideKeys(path string) string {
	const prefix = "mola_"
	var b strings.Builder
	for {
		i := strings.Index(path, prefix)
		if i < 0 {
			b.WriteString(path)
			return b.String()
		}
		b.WriteString(path[:i+len(prefix)])
		path = path[i+len(prefix):]
		j := strings.IndexFunc(path, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
		})
		if j < 0 {
			j = len(path)
		}
		if j > 0 {
			b.WriteString("[REDACTED]")
		}
		path = path[j:]
	}
}

// statusWriter remembers the status for the log line and whether the connection was taken over
// by a drop fault.
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, rw, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
