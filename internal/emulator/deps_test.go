package emulator

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The emulator and the standalone binary built from it carry no test code: package testing
// (and its flags) must not be linked into them. Tests in other packages start it through
// emulatortest.
func TestNonTestCodeDoesNotImportTesting(t *testing.T) {
	for _, pkg := range []string{".", "./cmd/molecule-emulator"} {
		out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		deps := strings.Fields(string(out))
		if slices.Contains(deps, "testing") {
			t.Errorf("%s depends on package testing; keep test helpers in emulatortest", pkg)
		}
	}
}
