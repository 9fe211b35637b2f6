//go:build !unix

package process

import "syscall"

// procAttr is the process's attributes; process groups are a Unix matter.
func procAttr() *syscall.SysProcAttr { return nil }
