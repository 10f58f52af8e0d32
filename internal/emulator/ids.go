package emulator

import (
	"crypto/rand"
	"encoding/binary"
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
