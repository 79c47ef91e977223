package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"postdeck/backend/fsguard"
)

// procStat is what postdeck needs from /proc/<pid>/stat.
type procStat struct {
	comm   string // executable name, at most 15 bytes; changes on exec
	state  byte   // 'R', 'S', 'Z' (zombie: exited, not yet reaped), ...
	pgrp   int    // field 5: process group id
	sid    int    // field 6: session id
	start  uint64 // field 22: start time in clock ticks after boot
	zombie bool
}

// is reports whether this is the process that started at start ticks and
// has not ended (a zombie has ended).
func (st procStat) is(start uint64) bool { return st.start == start && !st.zombie }

// readProcStat reads /proc/<pid>/stat under procRoot. buf is scratch space
// (may be nil); the result does not refer to it.
func readProcStat(procRoot string, pid int, buf []byte) (procStat, error) {
	b, err := fsguard.ReadSmallFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"), buf)
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

// parseProcStat parses "pid (comm) S ppid ...". comm may hold spaces and
// parentheses, so the fields are counted from the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	lp, rp := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if lp < 0 || rp < lp {
		return procStat{}, errors.New("malformed stat")
	}
	st := procStat{comm: string(b[lp+1 : rp])}
	// Fields after ')' start with field 3 (state); field 22 is the 20th.
	rest := b[rp+1:]
	for field := 3; field <= 22; field++ {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		f := rest[:end]
		switch field {
		case 3:
			if len(f) > 0 {
				st.state = f[0]
			}
		case 5, 6:
			n, err := strconv.Atoi(string(f))
			if err != nil {
				return procStat{}, fmt.Errorf("malformed field %d %q", field, f)
			}
			if field == 5 {
				st.pgrp = n
			} else {
				st.sid = n
			}
		case 22:
			n, err := strconv.ParseUint(string(bytes.TrimSpace(f)), 10, 64)
			if err != nil {
				return procStat{}, fmt.Errorf("malformed start time %q", f)
			}
			st.start = n
		}
		rest = rest[end:]
	}
	st.zombie = st.state == 'Z' || st.state == 'X'
	return st, nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times. It is 100 on
// every Linux architecture Go supports (reading it properly needs sysconf,
// that is cgo).
const clockTicks = 100

var bootTime = sync.OnceValue(func() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			if s, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64); err == nil {
				return time.Unix(s, 0)
			}
		}
	}
	return time.Time{}
})

// startTime turns a process's start ticks into wall-clock time (to about a
// second: the boot time is in whole seconds); zero when unknown.
func startTime(ticks uint64) time.Time {
	bt := bootTime()
	if bt.IsZero() || ticks == 0 {
		return time.Time{}
	}
	return bt.Add(time.Duration(ticks) * time.Second / clockTicks)
}
