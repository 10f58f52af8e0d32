package client

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

const maxMessageRunes = 300

// APIError is a non-2xx answer from the service, or from whatever answered in its place.
type APIError struct {
	StatusCode int
	Message    string // server message, sanitized (known secrets redacted, truncated)
	Method     string
	Path       string
	// URL is the whole URL requested (base URL and path, known secrets redacted): a routing
	// failure's error names it, since the base URL is then the likely mistake.
	URL string
	// Code is the machine-readable code of the service's JSON error, such as
	// TENANT_ORG_HEADER_REQUIRED; "" when it gave none.
	Code string
	// RateLimit is what the service said about its limits on a 429: how long to wait and
	// which limit was hit. Nil on other answers.
	RateLimit *RateLimitInfo
	// OrgIDSent reports whether the request carried the X-Molecule-Org-Id routing header
	// (Config.OrgID).
	OrgIDSent bool
	// keyNotLive marks the service's own answer that no live key has the id: a 404 to
	// DELETE /org/tokens/{id} carrying its JSON error. Every other 404 says nothing about a key.
	keyNotLive bool
	// ceiling marks the organization's ceiling of live keys (a 429 that waiting cannot cure),
	// noAnchor a mint refused because its credential has nothing to be approved in.
	ceiling, noAnchor bool
}

// The service's errors for refused mints, as its JSON error says them.
const (
	msgMintCeiling = "org api token mint ceiling exceeded"
	msgNoAnchor    = "no approval anchor"
)

// serviceError is the "error" of a JSON error body, "" for anything else.
func serviceError(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return strings.TrimSpace(e.Error)
}

// isCeiling reports whether a 429's body is the organization's ceiling of live keys rather than
// a rate limit: it has no Retry-After, and only a revocation or an expiry frees a slot.
func isCeiling(status int, body []byte) bool {
	return status == http.StatusTooManyRequests && strings.EqualFold(serviceError(body), msgMintCeiling)
}

// IsMintCeiling reports whether a mint was refused because the organization holds the most live,
// unexpired keys the service allows (ORG_TOKEN_MINT_CEILING, 100 by default). It is never retried.
func IsMintCeiling(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.ceiling
}

// IsNoApprovalAnchor reports whether a mint was refused because the credential has nothing a
// person could approve it in: the deployment's ADMIN_TOKEN without a platform workspace, or an
// org key that belongs to no organization.
func IsNoApprovalAnchor(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.noAnchor
}

// ApprovalPendingError is a request the service answered 202: it waits for a person's approval
// (in Canvas), and nothing was done yet. Repeating the same request while it is pending returns
// the same approval; once approved, the next one is carried out and uses the approval up.
type ApprovalPendingError struct {
	Name       string // the key's name, for a mint; "" otherwise
	Method     string
	Path       string
	ApprovalID string // "" when the answer did not say
	Action     string // the service's name for what waits, such as org_token_mint
	Reason     string // what a person is asked to approve, as the service puts it
	// Waited is how long the client watched the approval before giving up; 0 when it did not.
	Waited time.Duration
	// Stopped says why the client stopped watching before a person decided, "" when it did not
	// watch or its time ran out.
	Stopped string
}

func (e *ApprovalPendingError) Error() string {
	what := fmt.Sprintf("%s %s", e.Method, e.Path)
	if e.Name != "" {
		what = fmt.Sprintf("minting key %q", e.Name)
	}
	id := "an approval"
	if e.ApprovalID != "" {
		id = "approval " + e.ApprovalID
	}
	s := fmt.Sprintf("%s waits for a person's approval: the service opened %s", what, id)
	if e.Reason != "" {
		s += fmt.Sprintf(" (%q)", e.Reason)
	}
	s += " and did nothing yet"
	if e.Waited > 0 {
		s += fmt.Sprintf("; no one decided it in the %s watched", e.Waited.Round(time.Second))
	}
	if e.Stopped != "" {
		s += "; " + e.Stopped
	}
	return s
}

// ApprovalDeniedError is a mint a person denied in Canvas. Nothing was minted; minting again
// opens a new approval.
type ApprovalDeniedError struct {
	Name, ApprovalID, DecidedBy string
	DecidedAt                   time.Time // zero when the service did not say
}

func (e *ApprovalDeniedError) Error() string {
	s := fmt.Sprintf("minting key %q was denied: approval %s", e.Name, e.ApprovalID)
	if e.DecidedBy != "" {
		s += " was denied by " + e.DecidedBy
	} else {
		s += " was denied"
	}
	if !e.DecidedAt.IsZero() {
		s += " at " + e.DecidedAt.UTC().Format(time.RFC3339)
	}
	return s + ", and nothing was minted"
}

// codeTenantOrgHeaderRequired is the service's code for a request to a hosted organization
// that lacks the X-Molecule-Org-Id routing header (its TenantGuard, newest builds).
const codeTenantOrgHeaderRequired = "TENANT_ORG_HEADER_REQUIRED"

// OrgIDHeader is the routing header a hosted organization requires: its UUID.
const OrgIDHeader = "X-Molecule-Org-Id"

// notLiveMessages are the service's errors for a revocation of an id no live key has: the
// deployed service's, and the published guide's shape's.
var notLiveMessages = []string{"token not found or already revoked", "token not found"}

// serviceSaysNotLive reports whether a 404 body is the service's own JSON error for an id that
// no live key has. A router's or a proxy's 404 (no body, HTML, plain text, other JSON) is not.
func serviceSaysNotLive(body []byte) bool {
	var e struct {
		Error   *string `json:"error"`
		Message *string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	for _, msg := range []*string{e.Error, e.Message} {
		if msg != nil && slices.ContainsFunc(notLiveMessages, func(m string) bool { return strings.EqualFold(strings.TrimSpace(*msg), m) }) {
			return true
		}
	}
	return false
}

// RateLimitInfo is a 429's account of the limit that was hit.
type RateLimitInfo struct {
	// Limit is X-RateLimit-Limit (requests per window), 0 when absent.
	Limit int
	// RetryAfter is how long the service asked the client to wait (Retry-After, the body's
	// retry_after, or X-RateLimit-Reset, in that order), 0 when it did not say.
	RetryAfter time.Duration
	// ResetAt is when the quota refills by the service's account: the answer's time plus
	// RetryAfter. Zero when RetryAfter is.
	ResetAt time.Time
}

// rateLimited returns the rate-limit details of a 429, if err is one (the organization's
// ceiling is not a rate limit: IsMintCeiling).
func rateLimited(err error) (*RateLimitInfo, bool) {
	var e *APIError
	if errors.As(err, &e) && e.StatusCode == http.StatusTooManyRequests && !e.ceiling {
		if e.RateLimit == nil {
			return &RateLimitInfo{}, true
		}
		return e.RateLimit, true
	}
	return nil, false
}

// MintRateLimited returns the rate-limit details of a 429 to the mint request itself (a 429 on a
// list made before a mint says nothing about the mint quota; the organization's ceiling is not
// a rate limit: IsMintCeiling).
func MintRateLimited(err error) (*RateLimitInfo, bool) {
	var e *APIError
	if !errors.As(err, &e) || e.Method != http.MethodPost || e.Path != tokensPath {
		return nil, false
	}
	return rateLimited(err)
}

// rateLimitInfo reads a 429's headers and body.
func rateLimitInfo(resp *http.Response, body []byte, now time.Time) *RateLimitInfo {
	info := &RateLimitInfo{}
	if n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("X-RateLimit-Limit"))); err == nil && n > 0 {
		info.Limit = n
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		info.RetryAfter = d
	} else if d, ok := bodyRetryAfter(body); ok && d > 0 {
		info.RetryAfter = d
	} else if d, ok := parseRetryAfter(resp.Header.Get("X-RateLimit-Reset"), now); ok && d < 1e9*time.Second {
		info.RetryAfter = d
	}
	if info.RetryAfter > 0 && info.RetryAfter < 1e6*time.Hour {
		info.ResetAt = now.Add(info.RetryAfter).UTC()
	}
	return info
}

func (e *APIError) Error() string {
	if e.routing() && e.Code == "" {
		return fmt.Sprintf("%s %s: HTTP %d %s (%s), which is not the Molecule org token API's own answer: "+
			"the endpoint, or the organization routing (%s), looks wrong", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode),
			cmp.Or(e.Message, "empty body"), OrgIDHeader)
	}
	s := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	switch {
	case e.Code == codeTenantOrgHeaderRequired:
		s = fmt.Sprintf("%s %s: HTTP %d %s: %s (%s: a hosted organization answers only requests that carry its UUID in %s)",
			e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode), cmp.Or(e.Message, "missing tenant routing header"), e.Code, OrgIDHeader)
	case e.StatusCode == http.StatusUnauthorized:
		s += " (the token was rejected; it may have been revoked or mistyped)"
	}
	return s
}

// routing reports an answer that did not come from the org token API as the request meant it:
// a 404 other than the service's own "no live key has this id", or the hosted service's refusal
// of a request without its routing header.
func (e *APIError) routing() bool {
	return e.StatusCode == http.StatusNotFound && !e.keyNotLive || e.Code == codeTenantOrgHeaderRequired
}

func hasStatus(err error, code int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == code
}

// IsKeyNotLive reports whether err is the service's own answer that no live key has the id a
// revocation named: it was never issued, or is already revoked. Only a 404 to the key's own path
// that carries the service's JSON error counts; any other 404 (a wrong base URL, a router or a
// proxy, a hosted organization's routing guard) is an error that says nothing about the key.
func IsKeyNotLive(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.keyNotLive
}

// IsRoutingFailure reports whether err is an answer that did not come from the org token API:
// a 404 other than the one IsKeyNotLive accepts, or a hosted organization's refusal of a request
// without its routing header (OrgIDRequired).
func IsRoutingFailure(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.routing()
}

// OrgIDRequired reports whether the service refused a request because it lacked the
// X-Molecule-Org-Id routing header that a hosted organization requires.
func OrgIDRequired(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == codeTenantOrgHeaderRequired
}

// OrgIDWasSent reports whether the request that failed with err carried X-Molecule-Org-Id.
func OrgIDWasSent(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.OrgIDSent
}

// IsUnauthorized reports whether the credential was rejected (401).
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsForbidden reports whether the credential is valid but not allowed to do this (403).
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsRateLimited reports whether the service was still answering 429 when retries ran out (not
// the organization's ceiling: IsMintCeiling).
func IsRateLimited(err error) bool {
	return hasStatus(err, http.StatusTooManyRequests) && !IsMintCeiling(err)
}

// redactedError is a transport error whose text quoted something the server sent, such as a
// Location header net/http could not parse. Error gives the sanitized text; errors.Is and
// errors.As still reach the original, so timeouts and refused connections stay recognizable.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// sanitizeError returns err with its text sanitized, or err itself when there was nothing to
// change.
func (c *Client) sanitizeError(err error) error {
	if s := c.sanitize(err.Error()); s != err.Error() {
		return &redactedError{msg: s, err: err}
	}
	return err
}

// sanitize makes server-controlled or echoed text safe for an error string: the credential and
// anything shaped like a key are redacted first (so truncation cannot leave half a secret), then
// control and other non-printing characters and runs of whitespace collapse, then the text is
// truncated.
func (c *Client) sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = c.secrets.redact(s)
	// Whatever would act on a terminal (ESC, a newline that forges a line, a bidirectional
	// override) goes the way of white space.
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }), " ")
	if r := []rune(s); len(r) > maxMessageRunes {
		s = string(r[:maxMessageRunes]) + "…"
	}
	return s
}

// serverMessage extracts what an error response says, and the machine-readable code of a JSON
// error. Bodies that are not a JSON error object, such as a proxy's HTML page, are described
// rather than echoed.
func (c *Client) serverMessage(resp *http.Response, body []byte, truncated bool) (msg, code string) {
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
		return c.sanitize("redirect to " + resp.Header.Get("Location") + " was not followed; check the endpoint URL"), ""
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return "", ""
	}
	size := fmt.Sprintf("%d bytes", len(body))
	if truncated {
		size = fmt.Sprintf("more than %d bytes", len(body))
	}
	var obj map[string]any
	if !truncated && json.Unmarshal(body, &obj) == nil {
		if nested, ok := obj["error"].(map[string]any); ok {
			obj["error"] = nested["message"]
		}
		if s, ok := obj["code"].(string); ok && codePattern.MatchString(s) {
			code = s
		}
		for _, k := range []string{"error", "message"} {
			if s, ok := obj[k].(string); ok && strings.TrimSpace(s) != "" {
				return c.sanitize(s), code
			}
		}
		return fmt.Sprintf("JSON response without an error message (%s)", size), code
	}
	return c.sanitize(fmt.Sprintf("non-JSON response (%s, %s)", contentType(resp), size)), ""
}

// codePattern is what an error code looks like (TENANT_ORG_HEADER_REQUIRED); anything else in a
// "code" field is not repeated.
var codePattern = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

func contentType(resp *http.Response) string {
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		return "no content type"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "unrecognized content type"
	}
	return mt
}
