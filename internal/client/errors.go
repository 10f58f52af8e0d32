package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
)

const (
	maxMessageRunes = 300
	redactedKey     = "mola_[redacted]"
)

// keyPattern matches an org API key plaintext wherever a server or a user might echo one.
var keyPattern = regexp.MustCompile(`mola_[A-Za-z0-9]+`)

// APIError is a non-2xx answer from the service.
type APIError struct {
	StatusCode int
	Message    string // server message, sanitized (credential & mola_ keys redacted, truncated)
	Method     string
	Path       string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.StatusCode == http.StatusUnauthorized {
		s += " (the token was rejected; it may have been revoked or mistyped)"
	}
	return s
}

func hasStatus(err error, code int) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == code
}

// IsNotFound reports whether err is a 404, such as revoking a key that is already gone.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsUnauthorized reports whether the credential was rejected (401).
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// IsForbidden reports whether the credential is valid but not allowed to do this (403).
func IsForbidden(err error) bool { return hasStatus(err, http.StatusForbidden) }

// IsRateLimited reports whether the service was still answering 429 when retries ran out.
func IsRateLimited(err error) bool { return hasStatus(err, http.StatusTooManyRequests) }

// MintOutcomeUnknownError is returned by Mint when the request may have reached the service but
// no usable answer came back (timeout or dropped connection after sending, a 5xx other than 501,
// an unreadable success response). A key may exist whose plaintext nobody has: the caller must
// reconcile by listing before doing anything else, never by blindly minting again.
type MintOutcomeUnknownError struct {
	Name    string
	Started time.Time
	Cause   error
}

func (e *MintOutcomeUnknownError) Error() string {
	return fmt.Sprintf("minting key %q got no usable answer (%v); a key may have been created at or after %s "+
		"and its plaintext is lost: list the organization's keys and revoke any unexpected one before minting again",
		e.Name, e.Cause, e.Started.UTC().Format(time.RFC3339))
}

func (e *MintOutcomeUnknownError) Unwrap() error { return e.Cause }

// redactedError is a transport error whose text quoted something the server sent, such as a
// Location header net/http could not parse. Error gives the sanitized text; errors.Is and
// errors.As still reach the original, so timeouts and refused connections stay recognizable.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with its text sanitized, or err itself when there was nothing to change.
func (c *Client) redact(err error) error {
	if s := c.sanitize(err.Error()); s != err.Error() {
		return &redactedError{msg: s, err: err}
	}
	return err
}

// sanitize makes server-controlled or echoed text safe for an error string: the credential and
// anything shaped like a key are redacted first (so truncation cannot leave half a secret), then
// control characters and runs of whitespace collapse, then the text is truncated.
func (c *Client) sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if c.token != "" {
		s = strings.ReplaceAll(s, c.token, "[redacted]")
	}
	s = keyPattern.ReplaceAllString(s, redactedKey)
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if r := []rune(s); len(r) > maxMessageRunes {
		s = string(r[:maxMessageRunes]) + "…"
	}
	return s
}

// serverMessage extracts what an error response says. Bodies that are not a JSON error object,
// such as a proxy's HTML page, are described rather than echoed.
func (c *Client) serverMessage(resp *http.Response, body []byte, truncated bool) string {
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
		return c.sanitize("redirect to " + resp.Header.Get("Location") + " was not followed; check the endpoint URL")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return ""
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
		for _, k := range []string{"error", "message"} {
			if s, ok := obj[k].(string); ok && strings.TrimSpace(s) != "" {
				return c.sanitize(s)
			}
		}
		return fmt.Sprintf("JSON response without an error message (%s)", size)
	}
	return c.sanitize(fmt.Sprintf("non-JSON response (%s, %s)", contentType(resp), size))
}

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
