//go:build !linux

package process

import "errors"

// Lower would move this process to the lowest CPU priority; it is only done on Linux.
func Lower() (string, error) {
	return "", errors.New("lowering the priority of the decision writer process is only done on Linux")
}
