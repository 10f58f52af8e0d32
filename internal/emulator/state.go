package emulator

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/atomicfile"
)

// stateFormat is bumped on any incompatible change to the state file. Format 1 predates
// dialects and prefixes; it is read as a guide-dialect organization.
const stateFormat = 2

// stateFile is the on-disk form. Keys are stored as SHA-256 digests only, so the file can be
// read by anyone debugging a demo without leaking a usable credential.
type stateFile struct {
	Format int `json:"format"`
	// Dialect is recorded because ids, keys and time precision differ: an organization made in
	// one dialect would be served wrongly by the other.
	Dialect Dialect      `json:"dialect,omitempty"`
	Keys    []stateKey   `json:"keys"`
	Events  []stateEvent `json:"events"`
}

type stateKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix,omitempty"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	KeySHA256  string     `json:"key_sha256"`
	OrgID      string     `json:"org_id,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
}

type stateEvent struct {
	Seq  int       `json:"seq"`
	At   time.Time `json:"at"`
	Type string    `json:"type"`
	ID   string    `json:"id"`
	Name string    `json:"name"`
}

// stateSnapshot is the serialized state at one version, taken under s.mu and written outside it.
type stateSnapshot struct {
	version uint64
	data    []byte
	err     error
}

// commitLocked marks a mutation and, when state is persisted, captures it for writing.
func (s *Server) commitLocked() *stateSnapshot {
	s.version++
	if s.statePath == "" {
		return nil
	}
	return s.snapshot()
}

// snapshot serializes the state; the caller holds s.mu (or owns s exclusively, as New does).
func (s *Server) snapshot() *stateSnapshot {
	f := stateFile{Format: stateFormat, Dialect: s.dialect, Keys: make([]stateKey, 0, len(s.order)), Events: make([]stateEvent, 0, len(s.events))}
	for _, r := range s.order {
		f.Keys = append(f.Keys, stateKey{
			ID:         r.id,
			Name:       r.name,
			Prefix:     r.prefix,
			CreatedBy:  r.createdBy,
			CreatedAt:  r.createdAt,
			LastUsedAt: timePtr(r.lastUsedAt),
			RevokedAt:  timePtr(r.revokedAt),
			KeySHA256:  hex.EncodeToString(r.hash[:]),
			OrgID:      r.orgID,
			ExpiresAt:  timePtr(r.expiresAt),
		})
	}
	for _, e := range s.events {
		f.Events = append(f.Events, stateEvent(e))
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		err = fmt.Errorf("emulator: encoding state: %w", err)
	}
	return &stateSnapshot{version: s.version, data: data, err: err}
}

// persist writes snap unless a newer version is already on disk, so concurrent mutations that
// finish out of order never roll the file back.
func (s *Server) persist(snap *stateSnapshot) error {
	if snap == nil {
		return nil
	}
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	if snap.version < s.persisted {
		return nil
	}
	if err := s.writeState(snap); err != nil {
		return err
	}
	s.persisted = snap.version
	return nil
}

func (s *Server) writeState(snap *stateSnapshot) error {
	if snap.err != nil {
		return snap.err
	}
	// The state is private to the user: it holds key hashes and names.
	if err := atomicfile.Write(s.statePath, append(snap.data, '\n'), 0o600); err != nil {
		return fmt.Errorf("emulator: writing state: %w", err)
	}
	return nil
}

// load reads the state file; a missing file is an empty organization.
func (s *Server) load() error {
	data, err := os.ReadFile(s.statePath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("emulator: reading state: %w", err)
	}
	var f stateFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("emulator: state file %s is not valid: %w", s.statePath, err)
	}
	switch f.Format {
	case 1:
		f.Dialect = DialectGuide
	case stateFormat:
		if f.Dialect == "" {
			f.Dialect = DialectDeployed // as in Options
		}
	default:
		return fmt.Errorf("emulator: state file %s has format %d, want %d", s.statePath, f.Format, stateFormat)
	}
	if f.Dialect != s.dialect {
		return fmt.Errorf("emulator: state file %s holds a %s-dialect organization; serve it with that dialect or start a new file", s.statePath, f.Dialect)
	}
	for i, k := range f.Keys {
		r, err := k.record(s.apiTime)
		if err != nil {
			return fmt.Errorf("emulator: state file %s, key %d: %w", s.statePath, i, err)
		}
		if s.keys[r.id] != nil {
			return fmt.Errorf("emulator: state file %s: duplicate key id %s", s.statePath, r.id)
		}
		s.keys[r.id] = r
		s.order = append(s.order, r)
		if r.live() {
			s.byHash[r.hash] = r
		}
	}
	slices.SortFunc(s.order, func(a, b *record) int {
		switch {
		case a.less(b):
			return -1
		case b.less(a):
			return 1
		}
		return 0
	})
	for _, r := range s.order {
		if r.live() {
			s.live = append(s.live, r)
		}
	}
	for i, e := range f.Events {
		if e.Seq != i+1 {
			return fmt.Errorf("emulator: state file %s: event %d has seq %d", s.statePath, i, e.Seq)
		}
		s.events = append(s.events, Event{Seq: e.Seq, At: e.At.UTC(), Type: e.Type, ID: e.ID, Name: e.Name})
	}
	return nil
}

func (k stateKey) record(apiTime func(time.Time) time.Time) (*record, error) {
	if k.ID == "" || k.CreatedAt.IsZero() {
		return nil, errors.New("id and created_at are required")
	}
	sum, err := hex.DecodeString(k.KeySHA256)
	if err != nil || len(sum) != len(record{}.hash) {
		return nil, fmt.Errorf("key_sha256 of %s is not a hex SHA-256 digest", k.ID)
	}
	r := &record{id: k.ID, name: k.Name, prefix: k.Prefix, createdBy: k.CreatedBy, createdAt: apiTime(k.CreatedAt), orgID: k.OrgID}
	if k.ExpiresAt != nil {
		r.expiresAt = apiTime(*k.ExpiresAt)
	}
	copy(r.hash[:], sum)
	if k.LastUsedAt != nil {
		r.lastUsedAt = apiTime(*k.LastUsedAt)
	}
	if k.RevokedAt != nil {
		r.revokedAt = apiTime(*k.RevokedAt)
	}
	return r, nil
}
