// Package client speaks the Molecule org token API: mint, list and revoke org API keys. It knows
// nothing about Terraform; it retries what is safe to retry, reports what is not as typed errors,
// and keeps the credential and minted keys out of every error and log line.
package client

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

const (
	// DefaultMaxRetries is how many times a failed request is retried when it is safe to.
	DefaultMaxRetries = 4
	// DefaultRequestTimeout bounds each attempt, not the whole operation with its retries.
	DefaultRequestTimeout = 30 * time.Second

	defaultMinRetryWait  = 500 * time.Millisecond
	defaultMaxRetryWait  = 30 * time.Second
	defaultMaxRetryAfter = 60 * time.Second
	defaultUserAgent     = "molecule-go-client"

	maxSmallBody = 1 << 20 // mint and error responses
	// maxListBody bounds a list response: the service lists at most 500 keys, about 100 KB, so
	// anything near this is not the service's list, and is refused rather than read.
	maxListBody = 2 << 20
	// maxListEntries bounds the keys read from one list, for the same reason: twenty times what
	// the service ever lists.
	maxListEntries = 20 * ServiceListMax

	tokensPath = "/org/tokens"

	// ServiceListMax is the most keys the deployed service lists (its listMax): newest first,
	// the rest cut off without notice. A list this long proves nothing about absent keys.
	ServiceListMax = 500
	// PrefixLength is how much of a plaintext the service shows as a key's prefix, and names a
	// minting key by in created_by ("org-token:<prefix>").
	PrefixLength = 8
)

// Logger receives one line per attempt and per retry decision: method, path, attempt, status
// and duration, never headers or bodies. The provider adapts tflog to it; nil means silent.
type Logger interface {
	Debug(ctx context.Context, msg string, fields map[string]any)
	Warn(ctx context.Context, msg string, fields map[string]any)
}

// Config configures a Client. Zero values select the documented defaults.
type Config struct {
	Endpoint string // base URL, already validated with ParseEndpoint
	Token    string // bearer credential
	// OrgID is the organization's UUID, sent as X-Molecule-Org-Id on every request: a hosted
	// organization answers only requests that carry it. "" sends no such header.
	OrgID          string
	UserAgent      string        // "" => a generic client identifier
	MaxRetries     int           // retries after the first attempt (0 => none)
	RequestTimeout time.Duration // per attempt; 0 => DefaultRequestTimeout
	// A wait between attempts is either a backoff, at most RetryWaitMax, or the service's
	// Retry-After, at most MaxRetryAfter; setting both to one value caps every wait at it.
	RetryWaitMin  time.Duration // 0 => 500ms, or RetryWaitMax if that is shorter
	RetryWaitMax  time.Duration // 0 => 30s
	MaxRetryAfter time.Duration // 0 => 60s
	Logger        Logger
	Transport     http.RoundTripper // nil => pooled transport sized for Terraform parallelism
	// SnapshotMaxAge bounds the age of the shared list behind Snapshot; 0 => DefaultSnapshotMaxAge.
	SnapshotMaxAge time.Duration
	// ApprovalPoll is how often a mint waiting for approval reads the approval's state;
	// 0 => DefaultApprovalPoll.
	ApprovalPoll time.Duration
	Clock        Clock // nil => SystemClock
}

// Token is the metadata of a live org API key. Every string is opaque; Name, Prefix, CreatedBy and
// OrgID are "" when the service did not say (unnamed keys, unanchored keys, the guide's shape).
type Token struct {
	ID, Name, Prefix, CreatedBy string
	// OrgID is the organization the key is anchored to, which the keys it mints inherit. On
	// June 2026 builds only an anchored key can mint; keys minted with ADMIN_TOKEN or in Canvas
	// have none.
	OrgID      string
	CreatedAt  time.Time  // zero when unknown
	LastUsedAt *time.Time // nil when the key was never used
	// ExpiresAt is when the key stops authenticating; nil when it never expires (or the service
	// does not know expiry). The service keeps listing an expired key until it is revoked.
	ExpiresAt *time.Time
}

// Expired reports whether the key had expired at now.
func (t Token) Expired(now time.Time) bool { return t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) }

// MintOptions are what a mint asks for besides the key's name.
type MintOptions struct {
	// ExpiresAt, when not zero, is sent as the key's expires_at. Builds before June 2026 ignore
	// it (MintedToken.ExpiryIgnored).
	ExpiresAt time.Time
	// ApprovalWait is how long a mint that waits for a person's approval (202) is watched
	// before giving up: 0 does not wait. While it waits, nothing is minted; once a person
	// approves, the mint is sent once more, which uses the approval up.
	ApprovalWait time.Duration
}

// MintedToken is a freshly minted key. Key is the plaintext; the service never returns it again.
type MintedToken struct {
	Token
	Key string
	// MetadataErr says why CreatedAt or CreatedBy are missing: the deployed service leaves them
	// out of the mint response, and the list that should supply them failed or lacked the key.
	// The key is live and usable either way.
	MetadataErr error
	// ReconcileErr is set when an earlier attempt of this mint lost its answer and the keys it
	// may have created could not all be accounted for after this key was minted (an
	// *UnresolvedMintError naming them). This key is live and usable either way.
	ReconcileErr error
	// ExpiryIgnored reports that the mint asked for an expiry and the service's answer has
	// none: a build before June 2026, which ignores expires_at, so the key never expires.
	ExpiryIgnored bool
	// ApprovalID is the approval a person gave for this mint, "" when it needed none.
	ApprovalID string
	gen        uint64 // the snapshot generation right after the mint
}

// Client calls one organization's org token API. It is safe for concurrent use.
type Client struct {
	base          string
	token         string
	orgID         string
	userAgent     string
	http          *http.Client
	maxRetries    int
	waitMin       time.Duration
	waitMax       time.Duration
	maxRetryAfter time.Duration
	listLimit     int64
	grace         time.Duration // how long keys are listed after a lost mint answer
	approvalPoll  time.Duration
	maxAge        time.Duration // of the shared list
	clock         Clock
	logger        Logger
	approvals     approvalBoard
	rec           reconciler
	creates       creates
	serviceClock  serviceClock
	cache         snapshotCache
	secrets       secretSet
}

// New validates cfg and returns a Client. Errors never contain the token.
func New(cfg Config) (*Client, error) {
	base, err := ParseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.Token == "" {
		return nil, errors.New("the token is empty; set an org API key or the deployment's ADMIN_TOKEN")
	}
	if strings.IndexFunc(cfg.Token, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return nil, errors.New("the token contains whitespace or control characters (a trailing newline, perhaps); remove them")
	}
	if cfg.OrgID != "" {
		if err := ValidateOrgID(cfg.OrgID); err != nil {
			return nil, err
		}
	}
	if cfg.MaxRetries < 0 || cfg.RequestTimeout < 0 || cfg.RetryWaitMin < 0 || cfg.RetryWaitMax < 0 || cfg.MaxRetryAfter < 0 ||
		cfg.SnapshotMaxAge < 0 {
		return nil, errors.New("retry counts, timeouts and waits must not be negative")
	}
	c := &Client{
		base:          base.String(),
		token:         cfg.Token,
		orgID:         cfg.OrgID,
		userAgent:     cmp.Or(cfg.UserAgent, defaultUserAgent),
		maxRetries:    cfg.MaxRetries,
		waitMin:       cmp.Or(cfg.RetryWaitMin, defaultMinRetryWait),
		waitMax:       cmp.Or(cfg.RetryWaitMax, defaultMaxRetryWait),
		maxRetryAfter: cmp.Or(cfg.MaxRetryAfter, defaultMaxRetryAfter),
		listLimit:     maxListBody,
		approvalPoll:  cmp.Or(cfg.ApprovalPoll, DefaultApprovalPoll),
		maxAge:        cmp.Or(cfg.SnapshotMaxAge, DefaultSnapshotMaxAge),
		clock:         cfg.Clock,
		logger:        cfg.Logger,
	}
	if c.clock == nil {
		c.clock = SystemClock{}
	}
	c.secrets.add(cfg.Token)
	if cfg.RetryWaitMin == 0 {
		c.waitMin = min(c.waitMin, c.waitMax)
	}
	if c.waitMin > c.waitMax {
		return nil, fmt.Errorf("the minimum retry wait (%s) is longer than the maximum (%s)", c.waitMin, c.waitMax)
	}
	timeout := cmp.Or(cfg.RequestTimeout, DefaultRequestTimeout)
	c.grace = min(max(timeout, MinLateCommitGrace), MaxLateCommitGrace)
	transport := cfg.Transport
	if transport == nil {
		transport = defaultTransport()
	}
	c.http = &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// Following a redirect would turn a POST into a GET and could carry the credential
		// elsewhere; a redirect here means a misconfigured endpoint, so it is reported instead.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return c, nil
}

// defaultTransport is a pooled transport like http.DefaultTransport, with enough idle
// connections per host that Terraform's parallel operations reuse connections instead of
// opening and closing one each.
func defaultTransport() *http.Transport {
	t := &http.Transport{}
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t = dt.Clone()
	}
	t.Proxy = http.ProxyFromEnvironment
	t.ForceAttemptHTTP2 = true
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return t
}

// list fetches the keys and judges whether the list may be incomplete.
func (c *Client) list(ctx context.Context) (*Snapshot, error) {
	k := c.newCall(http.MethodGet, tokensPath, true)
	resp, err := c.do(ctx, k, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.failure(resp, k)
	}
	body := &countingReader{r: io.LimitReader(resp.Body, c.listLimit+1)}
	w, out, err := decodeList(body)
	switch {
	case body.n > c.listLimit:
		return nil, fmt.Errorf("%s %s: the response is larger than %d MiB, far more than the service's list of at most %d keys "+
			"takes; refusing to read it", k.method, k.path, c.listLimit>>20, ServiceListMax)
	case err != nil:
		return nil, fmt.Errorf("%s %s: cannot understand the response (HTTP %d, %s): %s", k.method, k.path, resp.StatusCode,
			c.sanitize(contentType(resp)), c.sanitize(err.Error()))
	}
	snap := newSnapshot(out)
	snap.Incomplete = w.incompleteReason(len(out), resp.Header)
	return snap, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// decodeList reads a list response one key at a time, so that no copy of the whole body, nor of
// every key as the wire shapes it, is ever held besides the keys themselves. It reads what could
// say the list is cut short too (wireList), and ignores every other member.
func decodeList(r io.Reader) (wireList, []Token, error) {
	var w wireList
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return w, nil, err
	}
	var out []Token
	seen := false
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return w, nil, err
		}
		var target any
		switch key {
		case "tokens":
			if out, err = decodeTokens(dec); err != nil {
				return w, nil, err
			}
			seen = out != nil
			continue
		case "count":
			target = &w.Count
		case "next":
			target = &w.Next
		case "next_cursor":
			target = &w.NextCursor
		case "has_more":
			target = &w.HasMore
		default:
			target = new(json.RawMessage)
		}
		if err := dec.Decode(target); err != nil {
			return w, nil, err
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return w, nil, err
	}
	if !seen {
		return w, nil, fmt.Errorf("it has no %q array", "tokens")
	}
	return w, out, nil
}

// decodeTokens reads the tokens array, nil for a JSON null.
func decodeTokens(dec *json.Decoder) ([]Token, error) {
	t, err := dec.Token()
	switch {
	case err != nil:
		return nil, err
	case t == nil:
		return nil, nil
	case t != json.Delim('['):
		return nil, fmt.Errorf("%q is not an array", "tokens")
	}
	out := []Token{}
	for dec.More() {
		var wt wireToken
		if err := dec.Decode(&wt); err != nil {
			return nil, err
		}
		if wt.ID == "" {
			return nil, fmt.Errorf("entry %d of %q has no %q", len(out)+1, "tokens", "id")
		}
		if len(out) == maxListEntries {
			return nil, fmt.Errorf("it lists more than %d keys, far more than the %d the service lists at most; refusing to read it",
				maxListEntries, ServiceListMax)
		}
		out = append(out, wt.token())
	}
	return out, expectDelim(dec, ']')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != want {
		return fmt.Errorf("expected %q, found %v", want, t)
	}
	return nil
}

// Revoke revokes the key with the given id. IsKeyNotLive(err) means the service said no live key
// has it, which includes a revocation that succeeded on an attempt whose answer was lost; any
// other 404 is an error (IsRoutingFailure).
//
// Ids are opaque: nothing about their shape is checked, except that a value this client knows
// as a secret (the credential, or a plaintext it received) is refused before it is sent anywhere.
func (c *Client) Revoke(ctx context.Context, id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return errors.New("the key id is empty; pass the id of the key to revoke, as the list of keys shows it")
	case c.secrets.contains(id):
		return errors.New("the value passed as a key id is a secret (a key's plaintext or the provider's credential), not an id; pass the key's id, as the list of keys shows it")
	}
	defer c.cache.changed()
	k := c.newCall(http.MethodDelete, tokensPath+"/"+url.PathEscape(id), true)
	resp, err := c.do(ctx, k, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK:
	case http.StatusAccepted:
		// Revocations are not gated today; a deployment that gates them revokes nothing yet.
		pending, err := c.approvalPending(resp, k, "")
		if err != nil {
			return err
		}
		return pending
	default:
		return c.failure(resp, k)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxSmallBody))
	return nil
}

// wireToken is a key as the API encodes it, in either shape: the deployed service's (prefix,
// auth_token, times with microseconds, no created_by/created_at on mint) or the published guide's
// (key). Unknown fields are ignored: the service adds fields without notice.
type wireToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	AuthToken  string     `json:"auth_token"`
	Key        string     `json:"key"`
	CreatedBy  string     `json:"created_by"`
	OrgID      string     `json:"org_id"`
	CreatedAt  *time.Time `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

func (w wireToken) token() Token {
	t := Token{ID: w.ID, Name: w.Name, Prefix: w.Prefix, CreatedBy: w.CreatedBy, OrgID: w.OrgID}
	if w.ExpiresAt != nil {
		e := w.ExpiresAt.UTC()
		t.ExpiresAt = &e
	}
	if w.CreatedAt != nil {
		t.CreatedAt = w.CreatedAt.UTC()
	}
	if w.LastUsedAt != nil {
		u := w.LastUsedAt.UTC()
		t.LastUsedAt = &u
	}
	return t
}

// wireList is what a list response says besides its tokens that could say the list is cut short:
// count (the length of tokens on the deployed service) and the usual pagination hints.
type wireList struct {
	Count      *int            `json:"count"`
	Next       json.RawMessage `json:"next"`
	NextCursor json.RawMessage `json:"next_cursor"`
	HasMore    json.RawMessage `json:"has_more"`
}

// incompleteReason says why a list of n keys may not hold every live key, or "" when it
// certainly does.
func (w *wireList) incompleteReason(n int, h http.Header) string {
	switch {
	case n >= ServiceListMax:
		return fmt.Sprintf("the service lists at most %d keys, newest first, and returned %d", ServiceListMax, n)
	case w.Count != nil && *w.Count > n:
		return fmt.Sprintf("the service counted %d keys but returned %d", *w.Count, n)
	case present(w.Next) || present(w.NextCursor):
		return "the service's answer points to a next page"
	case present(w.HasMore):
		return "the service's answer says it has more keys"
	case hasNextLink(h):
		return `the service's answer has a Link header with rel="next"`
	}
	return ""
}

// present reports whether a JSON hint carries anything: not absent, null, false, "" or 0.
func present(raw json.RawMessage) bool {
	switch strings.TrimSpace(string(raw)) {
	case "", "null", "false", `""`, "0", "{}", "[]":
		return false
	}
	return true
}

// hasNextLink reports an RFC 8288 Link header with a "next" relation.
func hasNextLink(h http.Header) bool {
	for _, v := range h.Values("Link") {
		for _, link := range strings.Split(v, ",") {
			for _, param := range strings.Split(link, ";")[1:] {
				k, val, ok := strings.Cut(strings.TrimSpace(param), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
					continue
				}
				for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(val), `"`)) {
					if strings.EqualFold(rel, "next") {
						return true
					}
				}
			}
		}
	}
	return false
}

// do sends one logical request, retrying per the call's policy (retry.go). A returned response
// is the caller's to close, whatever its status.
func (c *Client) do(ctx context.Context, k *call, body []byte) (*http.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", k.method, k.path, err)
	}
	var raw any
	if body != nil {
		raw = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, k.method, c.base+k.target, raw)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", k.method, k.path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if c.orgID != "" {
		req.Header.Set(OrgIDHeader, c.orgID)
	}
	if k.method == http.MethodGet {
		// A list a cache in between served from before a mint or a revocation would show keys
		// that are gone and hide new ones: every read must come from the service.
		req.Header.Set("Cache-Control", "no-cache")
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// A retryablehttp.Client per request lets its hooks share this request's state; the
	// connection pool lives in c.http and is shared. Its own wait between attempts is zero: the
	// call waits in PrepareRetry, on the client's clock.
	k.ctx = ctx
	rc := &retryablehttp.Client{
		HTTPClient:     c.http,
		RetryMax:       c.maxRetries,
		RequestLogHook: k.before,
		CheckRetry:     k.checkRetry,
		Backoff:        func(time.Duration, time.Duration, int, *http.Response) time.Duration { return 0 },
		PrepareRetry:   k.prepareRetry,
		ErrorHandler:   retryablehttp.PassthroughErrorHandler,
	}
	resp, err := rc.Do(req)
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s %s: %w", k.method, k.path, ctxErr)
		}
		return nil, k.finish(c.sanitizeError(err))
	}
	return resp, nil
}

// failure turns a response whose status the operation did not expect into an error: an
// *APIError for non-2xx statuses.
func (c *Client) failure(resp *http.Response, k *call) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return fmt.Errorf("%s %s: unexpected HTTP %d %s from the service", k.method, k.path, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxSmallBody+1))
	truncated := len(body) > maxSmallBody
	if truncated {
		body = body[:maxSmallBody]
	}
	e := &APIError{
		StatusCode: resp.StatusCode,
		Method:     k.method,
		Path:       k.path,
		URL:        c.sanitize(c.base + k.target),
		OrgIDSent:  c.orgID != "",
	}
	e.Message, e.Code = c.serverMessage(resp, body, truncated)
	e.ceiling = isCeiling(resp.StatusCode, body)
	e.noAnchor = resp.StatusCode == http.StatusBadRequest && strings.HasPrefix(strings.ToLower(serviceError(body)), msgNoAnchor)
	// Only the service's own JSON error, to a revocation of this key, says the key is not live.
	e.keyNotLive = resp.StatusCode == http.StatusNotFound && k.method == http.MethodDelete &&
		strings.HasPrefix(k.target, tokensPath+"/") && !truncated && serviceSaysNotLive(body)
	if resp.StatusCode == http.StatusTooManyRequests {
		e.RateLimit = rateLimitInfo(resp, body, c.clock.Now())
	}
	return k.finish(e)
}

// decode reads at most limit bytes of a success response into v.
// learn, when given, sees the body first, so that secrets in it are known before any error
// could quote them.
func (c *Client) decode(resp *http.Response, k *call, limit int64, v any, learn ...func([]byte)) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("%s %s: reading the response: %w", k.method, k.path, err)
	}
	if int64(len(body)) > limit {
		return fmt.Errorf("%s %s: the response is larger than %d MiB; refusing to read it", k.method, k.path, limit>>20)
	}
	for _, f := range learn {
		f(body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%s %s: cannot understand the response (HTTP %d, %s, %d bytes): %s",
			k.method, k.path, resp.StatusCode, c.sanitize(contentType(resp)), len(body), c.sanitize(err.Error()))
	}
	return nil
}

func (c *Client) debug(ctx context.Context, msg string, fields map[string]any) {
	if c.logger != nil {
		c.logger.Debug(ctx, msg, fields)
	}
}

func (c *Client) warn(ctx context.Context, msg string, fields map[string]any) {
	if c.logger != nil {
		c.logger.Warn(ctx, msg, fields)
	}
}
