package scripthw

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Host is how the hw module reaches the job that runs a script, through
// the Starlark thread.
type Host struct {
	// Session returns the job's session (an error at load time, or for a
	// job without hardware access).
	Session func(th *starlark.Thread) (*Session, error)
	// Context is the thread's context: reads and writes stop when it ends.
	Context func(th *starlark.Thread) context.Context
}

// MaxSerialTimeout bounds a serial port's time-out, in seconds.
const MaxSerialTimeout = 3600.0

// Module returns the Starlark module hw:
//
//	hw.pwm(channel, hz=250.0)            -> .set(duty), .off(), .duty()
//	hw.gpio(pin, mode="out")             -> .write(bool), .read()
//	hw.i2c(address, bus=1)               -> .write(bytes), .read(n), .write_read(bytes, n)
//	hw.serial(port, baud=9600, timeout=1.0) -> .write(str|bytes), .read_line(), .close()
//
// bytes are a Starlark bytes value or a list of ints 0 to 255; reads return
// bytes.
func Module(h Host) *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "hw", Members: starlark.StringDict{
		"pwm":    starlark.NewBuiltin("hw.pwm", h.pwm),
		"gpio":   starlark.NewBuiltin("hw.gpio", h.gpio),
		"i2c":    starlark.NewBuiltin("hw.i2c", h.i2c),
		"serial": starlark.NewBuiltin("hw.serial", h.serial),
	}}
}

// device is the Starlark value of an open device: a name and its methods.
type device struct {
	typ, name string
	methods   map[string]*starlark.Builtin
}

var _ starlark.HasAttrs = (*device)(nil)

func (d *device) String() string        { return d.typ + "(" + d.name + ")" }
func (d *device) Type() string          { return d.typ }
func (d *device) Freeze()               {}
func (d *device) Truth() starlark.Bool  { return true }
func (d *device) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: %s", d.typ) }
func (d *device) Attr(name string) (starlark.Value, error) {
	if m, ok := d.methods[name]; ok {
		return m, nil
	}
	return nil, nil // starlark reports "has no .x field or method"
}
func (d *device) AttrNames() []string {
	out := make([]string, 0, len(d.methods))
	for k := range d.methods {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type method func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

func (h Host) newDevice(typ, name string, ms map[string]method) *device {
	d := &device{typ: typ, name: name, methods: map[string]*starlark.Builtin{}}
	for n, m := range ms {
		full := name + "." + n
		d.methods[n] = starlark.NewBuiltin(full, func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			v, err := m(h.Context(th), args, kwargs)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", b.Name(), err)
			}
			return v, nil
		})
	}
	return d
}

func (h Host) pwm(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var channel int
	hz := number(250)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "channel", &channel, "hz?", &hz); err != nil {
		return nil, err
	}
	s, err := h.Session(th)
	if err != nil {
		return nil, err
	}
	p, err := s.PWM(channel, float64(hz))
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("hw.pwm(%d)", channel)
	return h.newDevice("hw.pwm", name, map[string]method{
		"set": func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var duty number
			if err := starlark.UnpackArgs("set", args, kwargs, "duty", &duty); err != nil {
				return nil, err
			}
			return starlark.None, p.Set(ctx, float64(duty))
		},
		"off": func(_ context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs("off", args, kwargs, 0); err != nil {
				return nil, err
			}
			return starlark.None, p.Off()
		},
		"duty": func(_ context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs("duty", args, kwargs, 0); err != nil {
				return nil, err
			}
			return starlark.Float(p.Duty()), nil
		},
	}), nil
}

func (h Host) gpio(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var pin int
	mode := "out"
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pin", &pin, "mode?", &mode); err != nil {
		return nil, err
	}
	if mode != "out" && mode != "in" {
		return nil, fmt.Errorf("%s(%d): mode %q: want \"out\" or \"in\"", b.Name(), pin, mode)
	}
	s, err := h.Session(th)
	if err != nil {
		return nil, err
	}
	l, err := s.GPIO(pin, mode == "out")
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("hw.gpio(%d)", pin)
	return h.newDevice("hw.gpio", name, map[string]method{
		"write": func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var v starlark.Value
			if err := starlark.UnpackArgs("write", args, kwargs, "value", &v); err != nil {
				return nil, err
			}
			high, ok := v.(starlark.Bool)
			if !ok {
				return nil, fmt.Errorf("got %s, want True or False", v.Type())
			}
			return starlark.None, l.Write(ctx, bool(high))
		},
		"read": func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs("read", args, kwargs, 0); err != nil {
				return nil, err
			}
			v, err := l.Read(ctx)
			return starlark.Bool(v), err
		},
	}), nil
}

// toBytes reads a bytes value or a list or tuple of ints 0 to 255.
func toBytes(v starlark.Value) ([]byte, error) {
	switch x := v.(type) {
	case starlark.Bytes:
		return []byte(x), nil
	case starlark.String:
		return nil, fmt.Errorf("got string, want bytes (b\"...\") or a list of ints 0 to 255")
	case starlark.Indexable:
		out := make([]byte, x.Len())
		for i := range out {
			n, err := starlark.AsInt32(x.Index(i))
			if err != nil || n < 0 || n > 255 {
				return nil, fmt.Errorf("item %d is %s, want an int from 0 to 255", i, x.Index(i))
			}
			out[i] = byte(n)
		}
		return out, nil
	}
	return nil, fmt.Errorf("got %s, want bytes (b\"...\") or a list of ints 0 to 255", v.Type())
}

func (h Host) i2c(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var addr int
	bus := 1
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "address", &addr, "bus?", &bus); err != nil {
		return nil, err
	}
	if addr < MinI2CAddr || addr > MaxI2CAddr {
		return nil, fmt.Errorf("%s(%d): address: want 0x%02X to 0x%02X", b.Name(), addr, MinI2CAddr, MaxI2CAddr)
	}
	if bus < 0 || bus > MaxI2CBus {
		return nil, fmt.Errorf("%s(0x%02X): bus %d: want 0 to %d", b.Name(), addr, bus, MaxI2CBus)
	}
	s, err := h.Session(th)
	if err != nil {
		return nil, err
	}
	d, err := s.I2C(bus, uint16(addr))
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("hw.i2c(0x%02X, bus=%d)", addr, bus)
	return h.newDevice("hw.i2c", name, map[string]method{
		"write": func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var v starlark.Value
			if err := starlark.UnpackArgs("write", args, kwargs, "data", &v); err != nil {
				return nil, err
			}
			w, err := toBytes(v)
			if err != nil {
				return nil, err
			}
			_, err = d.Tx(ctx, w, 0)
			return starlark.None, err
		},
		"read": func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var n int
			if err := starlark.UnpackArgs("read", args, kwargs, "n", &n); err != nil {
				return nil, err
			}
			r, err := d.Tx(ctx, nil, n)
			if err != nil {
				return nil, err
			}
			return starlark.Bytes(r), nil
		},
		"write_read": func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var v starlark.Value
			var n int
			if err := starlark.UnpackArgs("write_read", args, kwargs, "data", &v, "n", &n); err != nil {
				return nil, err
			}
			w, err := toBytes(v)
			if err != nil {
				return nil, err
			}
			r, err := d.Tx(ctx, w, n)
			if err != nil {
				return nil, err
			}
			return starlark.Bytes(r), nil
		},
	}), nil
}

// number is an Unpacker of an int or a float.
type number float64

func (n *number) Unpack(v starlark.Value) error {
	f, ok := starlark.AsFloat(v)
	if !ok {
		return fmt.Errorf("got %s, want a number", v.Type())
	}
	*n = number(f)
	return nil
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

func checkTimeout(f float64) error {
	if math.IsNaN(f) || f <= 0 || f > MaxSerialTimeout {
		return fmt.Errorf("timeout %v: want more than 0, at most %v seconds", f, MaxSerialTimeout)
	}
	return nil
}

func (h Host) serial(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var port string
	baud := 9600
	timeout := number(1)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "port", &port, "baud?", &baud, "timeout?", &timeout); err != nil {
		return nil, err
	}
	if err := checkTimeout(float64(timeout)); err != nil {
		return nil, fmt.Errorf("%s(%q): %w", b.Name(), port, err)
	}
	s, err := h.Session(th)
	if err != nil {
		return nil, err
	}
	p, err := s.Serial(port, baud)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("hw.serial(%q)", port)
	return h.newDevice("hw.serial", name, map[string]method{
		"write": func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var v starlark.Value
			if err := starlark.UnpackArgs("write", args, kwargs, "data", &v); err != nil {
				return nil, err
			}
			var w []byte
			if str, ok := v.(starlark.String); ok {
				w = []byte(string(str))
			} else if w, err = toBytes(v); err != nil {
				return nil, fmt.Errorf("got %s, want a string or bytes", v.Type())
			}
			return starlark.None, p.Write(ctx, w)
		},
		"read_line": func(ctx context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			t := timeout
			if err := starlark.UnpackArgs("read_line", args, kwargs, "timeout?", &t); err != nil {
				return nil, err
			}
			if err := checkTimeout(float64(t)); err != nil {
				return nil, err
			}
			l, err := p.ReadLine(ctx, seconds(float64(t)))
			if err != nil {
				return nil, err
			}
			return starlark.String(l), nil
		},
		"close": func(_ context.Context, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs("close", args, kwargs, 0); err != nil {
				return nil, err
			}
			return starlark.None, p.Close()
		},
	}), nil
}
