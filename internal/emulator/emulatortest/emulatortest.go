// Package emulatortest starts the emulator for tests in other packages. It is the only place
// that ties the emulator to package testing, so that the emulator itself, and the standalone
// binary built from it, carry no test code.
package emulatortest

import (
	"testing"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// New starts a fresh emulator on a random loopback port and closes it when the test ends,
// failing the test if its state could not be persisted.
func New(tb testing.TB, opts emulator.Options) *emulator.Server {
	tb.Helper()
	s, err := emulator.New(opts)
	if err != nil {
		tb.Fatalf("emulator: %v", err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		tb.Fatalf("emulator: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("emulator: %v", err)
		}
	})
	return s
}
