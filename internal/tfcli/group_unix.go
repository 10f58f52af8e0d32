//go:build unix

package tfcli

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts the CLI in a process group of its own and makes cancelling the command
// kill that whole group: the provider plugins the CLI started die with it rather than outlive
// the run.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
