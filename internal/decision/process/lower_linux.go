package process

import (
	"errors"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// schedIdle is Linux's SCHED_IDLE scheduling policy: a thread runs only on a CPU that no
// thread of another class wants.
const schedIdle = 5

// Lower moves every thread of this process into the idle scheduling class, or, where that is
// refused, to the lowest nice value (19); threads started later inherit it from the thread that
// starts them. It names the class it got, and returns an error when neither could be set.
func Lower() (string, error) {
	policy := "SCHED_IDLE"
	set := func(tid int) error {
		var param struct{ priority int32 }
		if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), schedIdle, uintptr(unsafe.Pointer(&param))); e != 0 {
			return e
		}
		return nil
	}
	done := map[int]bool{}
	for {
		// A thread started while the others were being moved may have been started by one not
		// moved yet: list them again until a pass finds none new.
		tids, err := threads()
		if err != nil {
			return "", err
		}
		moved := false
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			err := set(tid)
			if err != nil && policy == "SCHED_IDLE" && len(done) == 0 {
				policy = "nice 19"
				set = func(tid int) error { return syscall.Setpriority(syscall.PRIO_PROCESS, tid, 19) }
				err = set(tid)
			}
			if err != nil && !errors.Is(err, syscall.ESRCH) { // ESRCH: the thread has ended
				return "", err
			}
			done[tid], moved = true, true
		}
		if !moved {
			return policy, nil
		}
	}
}

// threads lists the IDs of this process's threads.
func threads() ([]int, error) {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, err
	}
	tids := make([]int, 0, len(entries))
	for _, e := range entries {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
