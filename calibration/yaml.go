package calibration

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// File is one calibration file in upstream's YAML format, of any
// calibration_type (simple_peristaltic_pump, od, stirring, ...): the fields
// every type has. Fields of a type (hz and dc of a pump, angle of an OD
// calibration) are in Extra.
type File struct {
	Type      string         `yaml:"calibration_type"`
	Name      string         `yaml:"calibration_name"`
	Unit      string         `yaml:"calibrated_on_pioreactor_unit"`
	CreatedAt string         `yaml:"created_at"`
	Curve     CurveData      `yaml:"curve_data_"`
	X         string         `yaml:"x"`
	Y         string         `yaml:"y"`
	Recorded  Recorded       `yaml:"recorded_data"`
	Extra     map[string]any `yaml:",inline"`
}

// CurveData is a file's curve_data_: its type (poly; upstream also fits
// spline and akima curves, which pio lists but does not evaluate) and, for
// a poly, its coefficients, highest power first.
type CurveData struct {
	Type         string    `yaml:"type"`
	Coefficients yaml.Node `yaml:"coefficients"`
}

// Recorded is a file's recorded_data: the measured points the curve was
// fitted to.
type Recorded struct {
	X []float64 `yaml:"x"`
	Y []float64 `yaml:"y"`
}

// Limits of what a calibration file may hold: they keep a damaged or
// hostile file from taking the memory or the time of the process that
// reads it.
const (
	MaxFileBytes = 1 << 20 // bytes of one YAML file
	MaxDegree    = 10      // of a poly curve
	MaxRecorded  = 10000   // recorded points
)

// PumpType is upstream's calibration_type of a pump calibration.
const PumpType = "simple_peristaltic_pump"

// ParseFile reads one upstream calibration file. It checks what every type
// has: a calibration_type, a calibration_name, recorded x and y of the same
// length with finite values, and a size within the limits above. path
// names the file in errors.
func ParseFile(path string, data []byte) (File, error) {
	var f File
	if len(data) > MaxFileBytes {
		return f, fmt.Errorf("calibration: %s: %d bytes, above the maximum %d of a calibration file", path, len(data), MaxFileBytes)
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("calibration: %s: not an upstream calibration file: %v", path, err)
	}
	switch {
	case f.Type == "":
		return f, fmt.Errorf("calibration: %s: no calibration_type", path)
	case f.Name == "":
		return f, fmt.Errorf("calibration: %s: no calibration_name", path)
	case len(f.Recorded.X) != len(f.Recorded.Y):
		return f, fmt.Errorf("calibration: %s: recorded_data has %d x values and %d y values; want as many of each", path, len(f.Recorded.X), len(f.Recorded.Y))
	case len(f.Recorded.X) > MaxRecorded:
		return f, fmt.Errorf("calibration: %s: recorded_data has %d points, above the maximum %d", path, len(f.Recorded.X), MaxRecorded)
	}
	for i := range f.Recorded.X {
		if !finite(f.Recorded.X[i]) || !finite(f.Recorded.Y[i]) {
			return f, fmt.Errorf("calibration: %s: recorded_data point %d is (%v, %v); want finite numbers", path, i, f.Recorded.X[i], f.Recorded.Y[i])
		}
	}
	return f, nil
}

// Poly returns the file's curve as a polynomial: an error names the curve
// type if it is not poly, and refuses coefficients that are not finite
// numbers or more than MaxDegree+1 of them.
func (f File) Poly() (Poly, error) {
	if f.Curve.Type != "poly" {
		return nil, fmt.Errorf("calibration %s: curve_data_ type is %q; pio evaluates only poly curves (refit it with --fit poly upstream)", f.Name, f.Curve.Type)
	}
	var p Poly
	if err := f.Curve.Coefficients.Decode(&p); err != nil {
		return nil, fmt.Errorf("calibration %s: curve_data_ coefficients: want a list of numbers: %v", f.Name, err)
	}
	if len(p) == 0 || len(p) > MaxDegree+1 {
		return nil, fmt.Errorf("calibration %s: curve_data_ has %d coefficients; want 1 to %d", f.Name, len(p), MaxDegree+1)
	}
	for _, c := range p {
		if !finite(c) {
			return nil, fmt.Errorf("calibration %s: curve_data_ coefficient %v is not a finite number", f.Name, c)
		}
	}
	return p, nil
}

// Created parses created_at as upstream writes it (ISO 8601, with or
// without a zone; without one it is UTC). An empty created_at is the zero
// time.
func (f File) Created() (time.Time, error) {
	if f.CreatedAt == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, f.CreatedAt); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("calibration %s: created_at %q is not an ISO 8601 time such as 2025-01-01T12:00:00+00:00", f.Name, f.CreatedAt)
}

// number reads a numeric field of Extra (hz, dc, voltage): ok is false when
// it is absent, err set when it is not a number.
func (f File) number(key string) (v float64, ok bool, err error) {
	raw, ok := f.Extra[key]
	if !ok {
		return 0, false, nil
	}
	switch n := raw.(type) {
	case int:
		return float64(n), true, nil
	case int64:
		return float64(n), true, nil
	case uint64:
		return float64(n), true, nil
	case float64:
		return n, true, nil
	}
	return 0, true, fmt.Errorf("calibration %s: %s is %v; want a number", f.Name, key, raw)
}

// Pump turns a simple_peristaltic_pump file into the calibration of device,
// and checks it with Validate. A curve of degree 0 or 1 becomes the line
// Slope·t + Intercept; a higher one is kept as Curve, with Slope and
// Intercept derived from it (see Pump).
func (f File) Pump(device string) (Pump, error) {
	where := device + "/" + f.Name
	if f.Type != PumpType {
		return Pump{}, fmt.Errorf("calibration %s: calibration_type is %q; a pump needs %s", where, f.Type, PumpType)
	}
	if f.X != "" && f.X != "Duration" || f.Y != "" && f.Y != "Volume" {
		return Pump{}, fmt.Errorf("calibration %s: x is %q and y is %q; a pump calibration maps Duration to Volume", where, f.X, f.Y)
	}
	poly, err := f.Poly()
	if err != nil {
		return Pump{}, err
	}
	created, err := f.Created()
	if err != nil {
		return Pump{}, err
	}
	p := Pump{Name: f.Name, Device: device, Unit: f.Unit, CreatedAt: created, Voltage: -1}
	for _, field := range []struct {
		key      string
		to       *float64
		required bool
	}{{"hz", &p.Hz, true}, {"dc", &p.DC, true}, {"voltage", &p.Voltage, false}} {
		v, ok, err := f.number(field.key)
		switch {
		case err != nil:
			return Pump{}, err
		case !ok && field.required:
			return Pump{}, fmt.Errorf("calibration %s: no %s; a pump calibration has the PWM frequency (hz) and duty cycle (dc) it was made at", where, field.key)
		case ok:
			*field.to = v
		}
	}
	if len(f.Recorded.X) > 0 {
		p.RecordedX, p.RecordedY = f.Recorded.X, f.Recorded.Y
	}
	for len(poly) > 2 && poly[0] == 0 {
		poly = poly[1:]
	}
	switch len(poly) {
	case 1:
		p.Intercept = poly[0]
	case 2:
		p.Slope, p.Intercept = poly[0], poly[1]
	default:
		p.Curve = poly
		p.Slope, p.Intercept = p.curveLine()
	}
	if err := p.Validate(); err != nil {
		return Pump{}, err
	}
	return p, nil
}

// Marshal writes p as an upstream simple_peristaltic_pump file, keys in
// upstream's order. Numbers are written so that upstream's YAML reader
// reads them as floats (always with a decimal point).
func (p Pump) Marshal() ([]byte, error) {
	coeffs := p.Curve
	if coeffs == nil {
		coeffs = Poly{p.Slope, p.Intercept}
	}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	num := func(v float64) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: formatFloat(v)}
	}
	list := func(vs []float64) *yaml.Node {
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, v := range vs {
			n.Content = append(n.Content, num(v))
		}
		return n
	}
	mapping := func(kv ...any) *yaml.Node {
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for i := 0; i < len(kv); i += 2 {
			n.Content = append(n.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
		}
		return n
	}
	doc := mapping(
		"calibration_type", str(PumpType),
		"calibration_name", str(p.Name),
		"calibrated_on_pioreactor_unit", str(p.Unit),
		"created_at", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!timestamp", Value: p.CreatedAt.Format(time.RFC3339Nano)},
		"hz", num(p.Hz),
		"dc", num(p.DC),
		"voltage", num(p.Voltage),
		"x", str("Duration"),
		"y", str("Volume"),
		"curve_data_", mapping("type", str("poly"), "coefficients", list(coeffs)),
		"recorded_data", mapping("x", list(p.RecordedX), "y", list(p.RecordedY)),
	)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("calibration %s/%s: %w", p.Device, p.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("calibration %s/%s: %w", p.Device, p.Name, err)
	}
	return b.Bytes(), nil
}

// formatFloat writes v exactly (the shortest form that reads back as v)
// and with a decimal point, as YAML 1.1 readers need to read a float:
// 0 → 0.0, 1e-05 → 1.0e-05.
func formatFloat(v float64) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if strings.ContainsAny(s, ".nN") {
		return s
	}
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		return s[:i] + ".0" + s[i:]
	}
	return s + ".0"
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
