package client

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
)

// secretSet holds every secret this client knows: its credential and each plaintext it has
// received. Keys have no fixed format on the service, so redaction works by value; the mola_
// pattern of the published guide is only an extra net.
type secretSet struct {
	mu       sync.RWMutex
	values   map[string]struct{}
	list     []string
	replacer *strings.Replacer
}

func (s *secretSet) add(v string) {
	if v == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.values[v]; ok {
		return
	}
	if s.values == nil {
		s.values = map[string]struct{}{}
	}
	s.values[v] = struct{}{}
	s.list = append(s.list, v)
	s.replacer = nil // rebuilt on next use, so a burst of mints costs one rebuild
}

func (s *secretSet) contains(v string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.values[v]
	return ok
}

// snapshot returns the secrets known now; the slice must not be modified.
func (s *secretSet) snapshot() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.list[:len(s.list):len(s.list)]
}

// redact replaces every known secret in text with "[redacted]".
func (s *secretSet) redact(text string) string {
	s.mu.RLock()
	r := s.replacer
	n := len(s.list)
	s.mu.RUnlock()
	if n == 0 {
		return text
	}
	if r == nil {
		s.mu.Lock()
		if s.replacer == nil {
			// Longest first: where one secret starts another, the whole of the longer one goes.
			sorted := slices.Clone(s.list)
			slices.SortFunc(sorted, func(a, b string) int { return len(b) - len(a) })
			pairs := make([]string, 0, 2*len(sorted))
			for _, v := range sorted {
				pairs = append(pairs, v, "[redacted]")
			}
			s.replacer = strings.NewReplacer(pairs...)
		}
		r = s.replacer
		s.mu.Unlock()
	}
	return r.Replace(text)
}

// Secrets returns every secret this client knows, for masking log output: the credential and
// every plaintext it has received. The slice must not be modified.
func (c *Client) Secrets() []string { return c.secrets.snapshot() }

// Redact makes text safe to show: every known secret and anything shaped like a guide-style key
// is replaced, control characters and runs of white space collapse, and it is cut to a
// readable length.
func (c *Client) Redact(text string) string { return c.sanitize(text) }

// IsSecret reports whether s is a secret this client knows: its credential, or a plaintext it
// received.
func (c *Client) IsSecret(s string) bool { return c.secrets.contains(s) }

// learnSecrets records every plaintext a mint answer carries, in either shape, even one that is
// otherwise unusable: it may be a live key, and an error about the answer could quote it.
func (c *Client) learnSecrets(body []byte) {
	var w struct {
		AuthToken json.RawMessage `json:"auth_token"`
		Key       json.RawMessage `json:"key"`
	}
	if json.Unmarshal(body, &w) != nil {
		return
	}
	for _, raw := range []json.RawMessage{w.AuthToken, w.Key} {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			c.secrets.add(s)
		} else if len(raw) > 0 {
			c.secrets.add(string(raw))
		}
	}
}

// AddSecret makes the client redact s wherever it could appear, as it does its credential: for a
// plaintext that reached the caller another way (a key kept in Terraform state).
func (c *Client) AddSecret(s string) { c.secrets.add(s) }
