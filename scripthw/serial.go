package scripthw

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// MaxLine bounds a line read from a serial port, in bytes.
const MaxLine = 4096

// ErrTimeout is wrapped by the error of a read that saw no line in time.
var ErrTimeout = errors.New("time-out")

// Serial is a serial port a script opened. One goroutine per port reads it
// and splits what it reads into lines, so that a read_line waits on a
// channel and returns at once when its context ends or its time-out passes,
// whatever the port's driver does. Time-outs are in real time: they time a
// physical link.
type Serial struct {
	port string
	baud int
	rw   io.ReadWriteCloser
	key  string
	s    *Session

	lines   chan string
	ended   chan struct{} // closed when the reader stops
	err     error         // why the reader stopped; set before ended closes
	wmu     sync.Mutex    // one write at a time
	closeCh chan struct{} // closed by Close
	once    sync.Once
	cerr    error
}

func newSerial(port string, baud int, rw io.ReadWriteCloser, key string, s *Session) *Serial {
	p := &Serial{port: port, baud: baud, rw: rw, key: key, s: s,
		lines: make(chan string, 64), ended: make(chan struct{}), closeCh: make(chan struct{})}
	go p.readLoop()
	return p
}

func (p *Serial) String() string { return "serial port " + p.port }

func (p *Serial) readLoop() {
	var line []byte
	buf := make([]byte, 256)
	stop := func(err error) {
		p.err = err
		close(p.ended)
	}
	for {
		n, err := p.rw.Read(buf)
		chunk := buf[:n]
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 {
				line = append(line, chunk...)
				break
			}
			line = append(line, chunk[:i]...)
			chunk = chunk[i+1:]
			s := strings.TrimSuffix(string(line), "\r")
			line = line[:0]
			select {
			case p.lines <- s:
			case <-p.closeCh:
				stop(io.ErrClosedPipe)
				return
			}
		}
		if len(line) > MaxLine {
			stop(fmt.Errorf("a line longer than %d bytes (no newline)", MaxLine))
			return
		}
		if err != nil {
			stop(err)
			return
		}
	}
}

// Write writes b whole.
func (p *Serial) Write(ctx context.Context, b []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	select {
	case <-p.closeCh:
		return fmt.Errorf("%s: closed", p)
	default:
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if _, err := p.rw.Write(b); err != nil {
		return fmt.Errorf("%s: write: %w", p, err)
	}
	return nil
}

// ReadLine returns the next line, without its "\n" (or "\r\n"). It fails
// with ErrTimeout when no line comes within timeout, with the context's
// error when ctx ends first, and with the reader's error when the port
// failed or closed.
func (p *Serial) ReadLine(ctx context.Context, timeout time.Duration) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	select { // a line read already comes first
	case l := <-p.lines:
		return l, nil
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case l := <-p.lines:
		return l, nil
	case <-p.ended:
		select {
		case l := <-p.lines:
			return l, nil
		default:
		}
		return "", fmt.Errorf("%s: the port stopped: %w", p, p.err)
	case <-ctx.Done():
		return "", fmt.Errorf("%s: %w", p, ctx.Err())
	case <-t.C:
		return "", fmt.Errorf("%s: no line within %v: %w", p, timeout, ErrTimeout)
	}
}

// Close closes the port (the script's .close()); the session forgets it.
func (p *Serial) Close() error {
	err := p.close()
	p.s.forget(p.key)
	return err
}

func (p *Serial) close() error {
	p.once.Do(func() {
		close(p.closeCh)
		p.cerr = p.rw.Close() // unblocks the reader and a blocked write
	})
	return p.cerr
}
