package decision

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// machinePressure is Linux's account of the time tasks on the machine waited for a CPU
// (pressure stall information, kernel 4.20 on).
const machinePressure = "/proc/pressure/cpu"

// pressureFile returns the CPU pressure file the writer reads: its cgroup's own (cgroup v2), so
// that in a container the load of other containers does not count, or else the machine's; ""
// when neither can be read.
func pressureFile() string {
	cgroups, err1 := os.ReadFile("/proc/self/cgroup")
	mounts, err2 := os.ReadFile("/proc/self/mountinfo")
	if err1 == nil && err2 == nil {
		path, ok1 := cgroup2Path(cgroups)
		mount, ok2 := cgroup2Mount(mounts)
		if ok1 && ok2 {
			if f := filepath.Join(mount, path, "cpu.pressure"); stallsReadable(f) {
				return f
			}
		}
	}
	if stallsReadable(machinePressure) {
		return machinePressure
	}
	return ""
}

func stallsReadable(f string) bool {
	_, ok := cpuStalled(f)
	return ok
}

// cgroup2Path returns the process's cgroup v2 path from /proc/self/cgroup (its "0::" line).
func cgroup2Path(b []byte) (string, bool) {
	for line := range bytes.Lines(b) {
		if path, ok := bytes.CutPrefix(bytes.TrimSpace(line), []byte("0::")); ok && bytes.HasPrefix(path, []byte("/")) {
			return string(path), true
		}
	}
	return "", false
}

// cgroup2Mount returns where the cgroup v2 hierarchy's root is mounted, from
// /proc/self/mountinfo: the mount point of a cgroup2 file system mounted from its root.
func cgroup2Mount(b []byte) (string, bool) {
	for line := range bytes.Lines(b) {
		pre, post, ok := bytes.Cut(line, []byte(" - "))
		if !ok || !bytes.HasPrefix(post, []byte("cgroup2 ")) {
			continue
		}
		f := bytes.Fields(pre)
		if len(f) >= 5 && string(f[3]) == "/" {
			return string(f[4]), true
		}
	}
	return "", false
}

// cpuStalled returns how long, in all, some task has waited for a CPU that was busy (the "some"
// line of the pressure file f), and whether it could be read.
func cpuStalled(f string) (time.Duration, bool) {
	if f == "" {
		return 0, false
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return 0, false
	}
	return parseStalled(b)
}

// parseStalled reads the total of the "some" line of a pressure file, in microseconds.
func parseStalled(b []byte) (time.Duration, bool) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	if !bytes.HasPrefix(line, []byte("some ")) {
		return 0, false
	}
	_, total, ok := bytes.Cut(line, []byte(" total="))
	if !ok {
		return 0, false
	}
	us, err := strconv.ParseUint(string(bytes.TrimSpace(total)), 10, 63)
	if err != nil {
		return 0, false
	}
	return time.Duration(us) * time.Microsecond, true
}
