// Command molecule-emulator serves a local Molecule org token API for demos, manual testing and
// benchmarks:
//
//	go run ./internal/emulator/cmd/molecule-emulator -url-file /tmp/molecule.url
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
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

const (
	envAdminToken = "MOLECULE_EMULATOR_ADMIN_TOKEN"
	shutdownGrace = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

type config struct {
	listen, adminToken, statePath, urlFile string
	rateLimit                              int
	rateWindow, latency                    time.Duration
}

// parseFlags returns the configuration, or the exit code to stop with.
func parseFlags(args []string, stderr io.Writer) (config, int, bool) {
	var c config
	fs := flag.NewFlagSet("molecule-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "loopback `address` to listen on")
	fs.StringVar(&c.adminToken, "admin-token", "", "admin credential (default: $"+envAdminToken+", else a random token printed once)")
	fs.StringVar(&c.statePath, "state", "", "`file` keeping the organization across restarts (default: memory only)")
	fs.StringVar(&c.urlFile, "url-file", "", "`file` to write the base URL to once listening")
	fs.IntVar(&c.rateLimit, "rate-limit", 0, "requests allowed per window (0: unlimited)")
	fs.DurationVar(&c.rateWindow, "rate-window", time.Second, "rate-limit window")
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
	ln, err := listenLoopback(ctx, cfg.listen)
	if err != nil {
		return err
	}
	emu, err := emulator.New(emulator.Options{AdminToken: token, StatePath: cfg.statePath})
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	if token == "" {
		// Printed once, on purpose: a generated token is useless unless the operator learns it.
		_, _ = fmt.Fprintf(stderr, "molecule-emulator: generated admin token (set %s to choose one): %s\n", envAdminToken, emu.AdminToken())
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
		if err := writeFileAtomic(cfg.urlFile, []byte(url)); err != nil {
			_ = srv.Close()
			return errors.Join(fmt.Errorf("writing -url-file: %w", err), emu.Close())
		}
	}
	logger.Printf("listening on %s", url)

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

// redactKeys hides anything shaped like an org key, should a client put one in a path.
func redactKeys(path string) string {
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

// writeFileAtomic replaces path so that a script polling for the file never reads it half
// written.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
