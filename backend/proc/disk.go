package proc

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
)

// Disk is the service's proving group: its configured disk, else its data
// dir's device (named by where the device is mounted), "" when unknown.
func (s *Supervisor) Disk(name string) string {
	s.mu.Lock()
	sv := s.svcs[name]
	if sv == nil {
		s.mu.Unlock()
		return ""
	}
	if sv.conf.Disk != "" || sv.diskKnown {
		defer s.mu.Unlock()
		if sv.conf.Disk != "" {
			return sv.conf.Disk
		}
		return sv.disk
	}
	dir := sv.dir
	s.mu.Unlock()
	d := deviceName(dir)
	if d != "" {
		s.mu.Lock()
		sv.disk, sv.diskKnown = d, true
		s.mu.Unlock()
	}
	return d
}

// deviceName names the device holding dir: the first mount point of that
// device in /proc/self/mountinfo (so bind mounts of one disk share a name),
// else "dev:MAJ:MIN"; "" when dir cannot be stat'ed.
func deviceName(dir string) string {
	var st syscall.Stat_t
	if dir == "" || syscall.Stat(dir, &st) != nil {
		return ""
	}
	dev := uint64(st.Dev)
	major := (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff)
	minor := dev&0xff | (dev>>12)&^uint64(0xff)
	return mountNames.name(fmt.Sprintf("%d:%d", major, minor))
}

// mountNames remembers each device's name: a thousand services on a few
// disks read mountinfo once per disk, not once per service.
var mountNames = &mountCache{names: map[string]string{}}

type mountCache struct {
	mu    sync.Mutex
	names map[string]string // MAJ:MIN → mount point or "dev:MAJ:MIN"
}

func (c *mountCache) name(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.names[id]; ok {
		return n
	}
	n := "dev:" + id
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			// id parent MAJ:MIN root mountpoint ...
			if f := strings.Fields(line); len(f) > 4 && f[2] == id {
				// A copy: a substring would keep all of mountinfo alive.
				n = strings.Clone(f[4])
				break
			}
		}
	}
	c.names[id] = n
	return n
}
