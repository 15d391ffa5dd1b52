//go:build !noplot

package simulate

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPlotPNG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.png")
	if err := turbidostat(24*time.Hour, 5*time.Second).Plot(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 1400 {
		t.Errorf("PNG is %d×%d pixels, want 1200×1400", b.Dx(), b.Dy())
	}
	if dir := os.Getenv("PIO_PLOT_DIR"); dir != "" { // to look at it
		b, _ := os.ReadFile(path)
		_ = os.WriteFile(filepath.Join(dir, "turbidostat.png"), b, 0o644)
	}
}

// svgText is every text element of an SVG, after checking that it is
// well-formed XML.
func svgText(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	d := xml.NewDecoder(bytes.NewReader(b))
	inText := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", path, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
		case xml.EndElement:
			inText = false
		case xml.CharData:
			if inText {
				texts = append(texts, string(tok))
			}
		}
	}
	return texts
}

func TestPlotSVG(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.svg")
	s := turbidostat(12*time.Hour, time.Minute)
	s.Title = `chemostat <seed 1> & "friends"` + "\x01"
	if err := s.Plot(path); err != nil {
		t.Fatal(err)
	}
	texts := strings.Join(svgText(t, path), "\n")
	for _, want := range []string{
		"OD (raw)", "normalized OD", "growth rate (1/h)", "volume (mL)", "alt-media fraction",
		"temperature (°C)", "dose (mL)", "time (h)",
		`chemostat <seed 1> & "friends"`,
		"target biomass (1.8)",
		"add_media: ", "remove_waste (↓): ",
	} {
		if !strings.Contains(texts, want) {
			t.Errorf("SVG text lacks %q; has:\n%s", want, texts)
		}
	}
	if strings.Contains(texts, noDataMessage) {
		t.Errorf("a full series has a %q panel", noDataMessage)
	}
}

func TestPlotEmptyPanelsSayNoData(t *testing.T) {
	for _, tc := range []struct {
		name  string
		s     *Series
		empty int
	}{
		{"nil", nil, 7},
		{"empty", &Series{}, 7},
		{"OD only", &Series{OD: []Point{{0, 0.1}, {time.Hour, 0.2}}}, 6},
		{"NaN only", &Series{Temperature: []Point{{0, math.NaN()}}}, 7},
		// The target is drawn, and the panel still says it has no data.
		{"target without data", &Series{Targets: map[string][]Point{"target temperature": {{0, 30}}}}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "run.svg")
			if err := tc.s.Plot(path); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, txt := range svgText(t, path) {
				if txt == noDataMessage {
					n++
				}
			}
			if n != tc.empty {
				t.Errorf("%d panels say %q, want %d", n, noDataMessage, tc.empty)
			}
		})
	}
}

func TestPlotRefusesUnknownExtensions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ file, want string }{
		{"run.pdf", "extension .pdf is not supported; supported: .png, .svg"},
		{"run.JPEG", "extension .JPEG is not supported"},
		{"run", "no file extension; supported: .png, .svg"},
	} {
		path := filepath.Join(dir, tc.file)
		err := turbidostat(time.Hour, time.Minute).Plot(path)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("Plot(%q) = %v, want an error naming the file and %q", tc.file, err, tc.want)
		}
		if _, statErr := os.Stat(path); statErr == nil {
			t.Errorf("Plot(%q) wrote a file", tc.file)
		}
	}
	if err := turbidostat(time.Hour, time.Minute).Plot(filepath.Join(dir, "RUN.PNG")); err != nil {
		t.Errorf("upper-case .PNG: %v", err)
	}
}

func TestPlotUnwritablePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "run.png")
	if err := (&Series{}).Plot(path); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Plot(%q) = %v, want an error naming the path", path, err)
	}
}

func TestDecimateKeepsExtremes(t *testing.T) {
	// A week of 5 s readings with one spike up and one down.
	const n = 7 * 24 * 720
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{time.Duration(i) * 5 * time.Second, 1}
	}
	pts[50_000].V, pts[90_001].V = 9, -3
	pts[70_000].V = math.NaN()
	end := pts[n-1].T
	xys := decimate(pts, end, 1000)
	if len(xys) > 4000 {
		t.Errorf("decimated to %d points, want at most 4000", len(xys))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, p := range xys {
		if math.IsNaN(p.Y) {
			t.Fatalf("point %d is NaN", i)
		}
		if i > 0 && p.X < xys[i-1].X {
			t.Fatalf("point %d at %v h is before point %d at %v h", i, p.X, i-1, xys[i-1].X)
		}
		lo, hi = min(lo, p.Y), max(hi, p.Y)
	}
	if lo != -3 || hi != 9 {
		t.Errorf("decimated range [%v, %v], want the spikes [-3, 9]", lo, hi)
	}
	if xys[0].X != 0 || xys[len(xys)-1].X != end.Hours() {
		t.Errorf("decimated from %v h to %v h, want 0 to %v h", xys[0].X, xys[len(xys)-1].X, end.Hours())
	}
}

func TestDecimateShortSeriesUnchanged(t *testing.T) {
	pts := []Point{{2 * time.Hour, 3}, {0, 1}, {time.Hour, math.Inf(1)}, {time.Hour, 2}}
	xys := decimate(pts, 2*time.Hour, 1000)
	want := []float64{0, 1, 1, 2, 2, 3}
	if len(xys) != 3 {
		t.Fatalf("decimate = %v, want 3 points", xys)
	}
	for i, p := range xys {
		if p.X != want[2*i] || p.Y != want[2*i+1] {
			t.Errorf("point %d = (%v, %v), want (%v, %v)", i, p.X, p.Y, want[2*i], want[2*i+1])
		}
	}
}

func TestTargetPanel(t *testing.T) {
	for name, want := range map[string]int{
		"target temperature":   panelTemperature,
		"target growth rate":   panelGrowthRate,
		"target_growth_rate":   panelGrowthRate,
		"target normalized OD": panelNormalizedOD,
		"target biomass":       panelNormalizedOD,
		"target OD":            panelOD,
		"something else":       panelOD,
	} {
		if got := targetPanel(name); got != want {
			t.Errorf("targetPanel(%q) = %d, want %d", name, got, want)
		}
	}
}

func TestSteps(t *testing.T) {
	xys, last := steps([]Point{{0, 1.5}, {2 * time.Hour, 1.8}}, 5*time.Hour)
	want := [][2]float64{{0, 1.5}, {2, 1.5}, {2, 1.8}, {5, 1.8}}
	if len(xys) != len(want) || last != 1.8 {
		t.Fatalf("steps = %v, %v; want %v, 1.8", xys, last, want)
	}
	for i, w := range want {
		if xys[i].X != w[0] || xys[i].Y != w[1] {
			t.Errorf("step point %d = %v, want %v", i, xys[i], w)
		}
	}
}

func TestDoseEventsOrder(t *testing.T) {
	got := strings.Join(doseEvents([]Dose{
		{Event: "add_salt"}, {Event: "remove_waste"}, {Event: "add_media"}, {Event: "add_acid"}, {Event: "add_media"},
	}), ",")
	if want := "add_media,remove_waste,add_acid,add_salt"; got != want {
		t.Errorf("doseEvents = %s, want %s", got, want)
	}
}

// BenchmarkPlotWeek draws a 7-day series of 5 s readings (about 121,000
// points a reading) as a PNG and as an SVG.
func BenchmarkPlotWeek(b *testing.B) {
	s := turbidostat(7*24*time.Hour, 5*time.Second)
	for _, ext := range []string{"png", "svg"} {
		b.Run(ext, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "week."+ext)
			for b.Loop() {
				if err := s.Plot(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
