//go:build !linux

package decision

import "time"

// threadCPU returns false: a thread's CPU time is read on Linux only. The writer then judges
// contention by how long a yield takes (see Log.giveWay).
func threadCPU() (time.Duration, bool) { return 0, false }
