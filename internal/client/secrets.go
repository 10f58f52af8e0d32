package client

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// RedactedMark stands wherever a secret was redacted from a text.
const RedactedMark = "[redacted]"

// redactedKey stands where KeyPattern matched: it shows that a guide-style key was there.
const redactedKey = "mola_" + RedactedMark

// KeyPattern matches a key in the published guide's format (mola_…). The deployed service's keys
// have no fixed format, so secrets are redacted by value; this pattern is only an extra net. It
// is the one definition: the provider masks its logs with it too.
var KeyPattern = regexp.MustCompile(`mola_[A-Za-z0-9]+`)

// secretSet holds every secret this client knows: its credential and each plaintext it has
// received. Keys have no fixed format on the service, so redaction works by value; the mola_
// pattern of the published guide is only an extra net.
type secretSet struct {
	mu     sync.RWMutex
	values map[string]struct{}
	list   []string
	// byHead indexes the secrets of at least headLen bytes by their first headLen bytes, so
	// that redacting a text costs one lookup per position however many secrets there are (an
	// apply can hold thousands); shorter ones are replaced one by one.
	byHead map[string][]string
	short  []string
}

const headLen = 8

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
		s.byHead = map[string][]string{}
	}
	s.values[v] = struct{}{}
	s.list = append(s.list, v)
	if len(v) < headLen {
		s.short = append(s.short, v)
		return
	}
	// Longest first: where one secret starts another, the whole of the longer one goes.
	head := v[:headLen]
	s.byHead[head] = append(s.byHead[head], v)
	slices.SortFunc(s.byHead[head], func(a, b string) int { return len(b) - len(a) })
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

// redact replaces every known secret in text with RedactedMark, then anything KeyPattern
// matches.
func (s *secretSet) redact(text string) string {
	return KeyPattern.ReplaceAllString(s.redactKnown(text), redactedKey)
}

func (s *secretSet) redactKnown(text string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.byHead) > 0 && len(text) >= headLen {
		var b strings.Builder
		last := 0 // text[:last] is already in b
		for i := 0; i+headLen <= len(text); {
			matched := 0
			for _, v := range s.byHead[text[i:i+headLen]] {
				if strings.HasPrefix(text[i:], v) {
					matched = len(v)
					break
				}
			}
			if matched == 0 {
				i++
				continue
			}
			b.WriteString(text[last:i])
			b.WriteString(RedactedMark)
			i += matched
			last = i
		}
		if last > 0 {
			b.WriteString(text[last:])
			text = b.String()
		}
	}
	for _, v := range s.short {
		text = strings.ReplaceAll(text, v, RedactedMark)
	}
	return text
}

// RedactSecrets replaces each of secrets in text, and anything shaped like a guide-style key, as
// a Client redacts its errors, for text made before any client exists: a configuration error
// that may quote a credential pasted into the wrong attribute. Empty secrets are ignored.
func RedactSecrets(text string, secrets ...string) string {
	var s secretSet
	for _, v := range secrets {
		s.add(v)
	}
	return s.redact(text)
}

// Redact makes text safe to show: it is RedactSecrets with every secret this client knows (its
// credential, the plaintexts it received, AddSecret's), then control characters and runs of
// white space collapse, and it is cut to a readable length.
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
