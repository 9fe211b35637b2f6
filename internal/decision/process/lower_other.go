//go:build !linux

package process

import "errors"

var errNotLinux = errors.New("the decision writer process's CPU priority is only set on Linux")

// Lower would move this process to the lowest CPU priority; it is only done on Linux.
func Lower() (string, error) { return "", errNotLinux }

// Behind would raise this process from the idle class; it is only done on Linux.
func Behind() error { return errNotLinux }
