//go:build unix

package process

import "syscall"

// procAttr puts the process in a process group of its own, so that a terminal's ^C, sent to
// the server's group, does not reach it: the server stops it once it has sent the last batch.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
