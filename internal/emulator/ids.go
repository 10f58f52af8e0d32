package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"time"
)

const (
	// crockford is Crockford's base32 alphabet (no I, L, O, U), as used by ULIDs.
	crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

	idPrefix    = "tok_"
	idTimeChars = 10 // 48-bit millisecond timestamp
	idRandChars = 10 // 50 random bits

	keyPrefix   = "mola_"
	keyAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	keyChars    = 26

	// deployedKeyBytes is the service's tokenPayloadBytes: 256 random bits, base64url-encoded
	// without padding into 43 characters.
	deployedKeyBytes = 32
	// keyPrefixLen is how much of a plaintext the service keeps as its prefix and shows in
	// created_by ("org-token:UyJhAK6q").
	keyPrefixLen = 8
)

// idGenerator makes ULID-like ids: a time part, then a random part that is incremented rather
// than redrawn within one millisecond, so ids minted in a burst sort in mint order.
type idGenerator struct {
	lastMs   uint64
	lastRand uint64
	used     bool
}

func (g *idGenerator) next(t time.Time) string {
	ms := uint64(max(t.UnixMilli(), 0)) & (1<<(5*idTimeChars) - 1)
	var rnd uint64
	if g.used && ms == g.lastMs && g.lastRand+1 < 1<<(5*idRandChars) {
		rnd = g.lastRand + 1
	} else {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it aborts the program instead
		rnd = binary.BigEndian.Uint64(b[:]) & (1<<(5*idRandChars) - 1)
	}
	g.lastMs, g.lastRand, g.used = ms, rnd, true

	buf := make([]byte, len(idPrefix)+idTimeChars+idRandChars)
	copy(buf, idPrefix)
	encodeCrockford(buf[len(idPrefix):len(idPrefix)+idTimeChars], ms)
	encodeCrockford(buf[len(idPrefix)+idTimeChars:], rnd)
	return string(buf)
}

// encodeCrockford writes v big-endian into dst, five bits per character.
func encodeCrockford(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = crockford[v&31]
		v >>= 5
	}
}

// newPlaintextKey draws a key from crypto/rand. Bytes at or above 252 are rejected so that every
// character of the 36-letter alphabet is equally likely.
func newPlaintextKey() string {
	const limit = 256 - 256%len(keyAlphabet)
	out := make([]byte, 0, len(keyPrefix)+keyChars)
	out = append(out, keyPrefix...)
	var b [keyChars * 2]byte
	for len(out) < cap(out) {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it aborts the program instead
		for _, c := range b {
			if int(c) < limit && len(out) < cap(out) {
				out = append(out, keyAlphabet[int(c)%len(keyAlphabet)])
			}
		}
	}
	return string(out)
}

// newDeployedKey draws a key the way the service does: 32 bytes from crypto/rand, base64url.
func newDeployedKey() string {
	var b [deployedKeyBytes]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it aborts the program instead
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// newUUID returns a random (version 4) UUID in canonical form, as Postgres's gen_random_uuid.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails; it aborts the program instead
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return formatUUID(b)
}

func formatUUID(b [16]byte) string {
	var buf [36]byte
	hex.Encode(buf[0:8], b[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], b[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], b[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], b[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], b[10:])
	return string(buf[:])
}

// canonicalUUID parses s as Postgres's uuid type does (any hex case, optional braces, a hyphen
// allowed after any group of four digits) and returns its canonical form. The service passes a
// revoke's {id} straight to a uuid column, so whatever Postgres accepts names a key.
func canonicalUUID(s string) (string, bool) {
	if len(s) > 0 && s[0] == '{' {
		if s[len(s)-1] != '}' {
			return "", false
		}
		s = s[1 : len(s)-1]
	}
	var b [16]byte
	for i := range b {
		if len(s) < 2 {
			return "", false
		}
		hi, ok1 := fromHex(s[0])
		lo, ok2 := fromHex(s[1])
		if !ok1 || !ok2 {
			return "", false
		}
		b[i] = hi<<4 | lo
		s = s[2:]
		if i%2 == 1 && i < len(b)-1 && len(s) > 0 && s[0] == '-' {
			s = s[1:]
		}
	}
	if s != "" {
		return "", false
	}
	return formatUUID(b), true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
