//go:build !unix

package tfcli

import "os/exec"

// ownProcessGroup leaves the command as it is: without process groups, cancelling it kills the
// CLI alone.
func ownProcessGroup(*exec.Cmd) {}
