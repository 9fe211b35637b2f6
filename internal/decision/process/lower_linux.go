package process

import (
	"errors"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// Linux's scheduling policies: SCHED_OTHER, the default, and SCHED_IDLE, where a thread runs
// only on a CPU that no thread of another class wants.
const (
	schedOther = 0
	schedIdle  = 5
)

// Lower moves every thread of this process into the idle scheduling class, or, where that is
// refused, to the lowest nice value (19); threads started later inherit it from the thread that
// starts them. It names the class it got, and returns an error when neither could be set.
func Lower() (string, error) {
	if err := eachThread(func(tid int) error { return setPolicy(tid, schedIdle) }); err == nil {
		return "SCHED_IDLE", nil
	}
	if err := eachThread(niceThread); err != nil {
		return "", err
	}
	return "nice 19", nil
}

// Behind moves every thread of this process out of the idle class to the normal one at the
// lowest nice value (19), which the kernel still gives a small share of a busy CPU: for a writer
// that has fallen behind, so that it catches up instead of its queue dropping decisions. Lower
// moves it back.
func Behind() error {
	return eachThread(func(tid int) error {
		if err := setPolicy(tid, schedOther); err != nil {
			return err
		}
		return niceThread(tid)
	})
}

func niceThread(tid int) error { return syscall.Setpriority(syscall.PRIO_PROCESS, tid, 19) }

func setPolicy(tid, policy int) error {
	var param struct{ priority int32 }
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), uintptr(policy), uintptr(unsafe.Pointer(&param))); e != 0 {
		return e
	}
	return nil
}

// eachThread calls set for every thread of this process, and again for threads started
// meanwhile (they may have been started by a thread not set yet) until a pass finds none new.
// A thread that has ended is passed over.
func eachThread(set func(tid int) error) error {
	done := map[int]bool{}
	for {
		tids, err := threads()
		if err != nil {
			return err
		}
		moved := false
		for _, tid := range tids {
			if done[tid] {
				continue
			}
			if err := set(tid); err != nil && !errors.Is(err, syscall.ESRCH) {
				return err
			}
			done[tid], moved = true, true
		}
		if !moved {
			return nil
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
