package fsguard

import (
	"fmt"
	"io/fs"
	"syscall"
)

// maxSmallFile caps ReadSmallFile: key and metadata files are a few hundred
// bytes; anything this big is not one.
const maxSmallFile = 1 << 20

// ReadSmallFile reads a small file (a key, a metadata file, a /proc file)
// with plain system calls: open, read until end of file, close, into buf
// when it is large enough. os.ReadFile also offers the file to the network
// poller (which refuses regular files) and stats it (procfs says size 0
// anyway): two calls more for each of the thousand key and metadata files a
// cold poll reads, a fifth of what `postdeck status` spent. Errors read like
// os.ReadFile's.
func ReadSmallFile(path string, buf []byte) ([]byte, error) {
	fd, err := openRetry(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	if cap(buf) < 512 {
		buf = make([]byte, 0, 512)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxSmallFile {
				return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("larger than %d bytes", maxSmallFile)}
			}
			buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

func openRetry(path string) (int, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}
