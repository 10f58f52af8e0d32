// Package emulatortest starts the emulator for tests in other packages. It is the one place that
// ties the emulator to package testing, so that the emulator itself, and the standalone binary
// built from it, carry no test code.
package emulatortest

import (
	"testing"

	"github.com/molecule-ai/terraform-provider-molecule/internal/emulator"
)

// New starts a fresh emulator on a random loopback port and closes it when the test ends,
// failing the test if its state could not be persisted.
func New(tb testing.TB, opts emulator.Options) *emulator.Server {
	tb.Helper()
	return emulator.StartFor(tb, opts)
}
