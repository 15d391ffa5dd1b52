//go:build !noplot

package simulate

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The figure: 12 × 14 in (1200 × 1400 pixels for a PNG at 100 dpi), a
// title, seven panels stacked on one time axis and a gutter on their right
// for the legends, so that no legend hides data.
const (
	figureWidth   = 12 * vg.Inch
	figureHeight  = 14 * vg.Inch
	figureDPI     = 100
	titleHeight   = 0.5 * vg.Inch
	legendGutter  = 2.8 * vg.Inch
	panelGap      = 0.12 * vg.Inch
	figureMargin  = 0.15 * vg.Inch
	plotBuckets   = 1000 // time buckets a line is decimated to (about one a pixel)
	noDataMessage = "no data"
)

// Colours from Okabe and Ito's palette, which readers with colour-vision
// deficiencies tell apart.
var (
	colBlue      = color.RGBA{0x00, 0x72, 0xB2, 0xFF}
	colVermilion = color.RGBA{0xD5, 0x5E, 0x00, 0xFF}
	colGreen     = color.RGBA{0x00, 0x9E, 0x73, 0xFF}
	colSky       = color.RGBA{0x56, 0xB4, 0xE9, 0xFF}
	colOrange    = color.RGBA{0xE6, 0x9F, 0x00, 0xFF}
	colPurple    = color.RGBA{0xCC, 0x79, 0xA7, 0xFF}
	colGrey      = color.RGBA{0x55, 0x55, 0x55, 0xFF}
	colBlack     = color.RGBA{0x00, 0x00, 0x00, 0xFF}
)

// doseColours fixes the colours of the three standard dosing events; any
// other event takes the next of otherDoseColours, in order of name.
var (
	doseColours = map[string]color.Color{
		"add_media":     colBlue,
		"add_alt_media": colVermilion,
		"remove_waste":  colGrey,
	}
	otherDoseColours = []color.Color{colGreen, colPurple, colOrange, colSky, colBlack}
	targetColours    = []color.Color{colBlack, colVermilion, colPurple}
)

// Plotting is true in a build with plots (every build but -tags noplot).
const Plotting = true

// Plot draws the series into one figure, a PNG or an SVG by the extension of
// path: OD, normalized OD, growth rate, volume, alt-media fraction,
// temperature and the doses, stacked on a shared time axis in hours, with the
// automation's targets as dashed lines. An empty series draws a panel that
// says "no data". Long series are decimated for drawing, keeping each time
// bucket's first, last, lowest and highest point, so spikes stay visible.
// The file is written only once the figure is drawn.
func (s *Series) Plot(path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".png" && ext != ".svg" {
		if ext == "" {
			return fmt.Errorf("simulate: plot %s: no file extension; supported: .png, .svg", path)
		}
		return fmt.Errorf("simulate: plot %s: extension %s is not supported; supported: .png, .svg", path, filepath.Ext(path))
	}
	var out bytes.Buffer
	if err := s.render(&out, ext); err != nil {
		return fmt.Errorf("simulate: plot %s: %w", path, err)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		return fmt.Errorf("simulate: plot: %w", err)
	}
	return nil
}

// render draws the figure and encodes it as ext (".png" or ".svg").
func (s *Series) render(out *bytes.Buffer, ext string) (err error) {
	// gonum/plot reports some impossible drawings by panicking; a figure
	// that cannot be drawn is an error of Plot, not a crash of pio simulate.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing the figure: %v", r)
		}
	}()
	if s == nil {
		s = &Series{}
	}
	switch ext {
	case ".png":
		c := vgimg.NewWith(vgimg.UseWH(figureWidth, figureHeight), vgimg.UseDPI(figureDPI))
		s.draw(draw.New(c))
		_, err = vgimg.PngCanvas{Canvas: c}.WriteTo(out)
	case ".svg":
		c := vgsvg.New(figureWidth, figureHeight)
		s.draw(draw.New(c))
		_, err = c.WriteTo(out)
	}
	return err
}

// The panels, top to bottom.
const (
	panelOD = iota
	panelNormalizedOD
	panelGrowthRate
	panelVolume
	panelAltMedia
	panelTemperature
	panelDoses
)

// panel is one of the figure's stacked plots and its legend.
type panel struct {
	plot   *plot.Plot
	legend plot.Legend
	hasKey bool // the legend is drawn
	empty  bool // the panel says "no data"
}

// draw lays the title, the panels and their legends out on c.
func (s *Series) draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())

	end := s.end()
	panels := []*panel{
		panelOD:           s.linePanel("OD (raw)", s.OD, colBlue, end, sampled),
		panelNormalizedOD: s.linePanel("normalized OD", s.NormalizedOD, colGreen, end, sampled),
		panelGrowthRate:   s.linePanel("growth rate (1/h)", s.GrowthRate, colVermilion, end, sampled),
		panelVolume:       s.linePanel("volume (mL)", s.Volume, colSky, end, held),
		panelAltMedia:     s.linePanel("alt-media fraction", s.AltMediaFraction, colPurple, end, held),
		panelTemperature:  s.linePanel("temperature (°C)", s.Temperature, colOrange, end, sampled),
		panelDoses:        s.dosePanel(end),
	}
	if alt := panels[panelAltMedia]; !alt.empty {
		// A fraction: show all of [0, 1], and more if the data go beyond it.
		alt.plot.Y.Min, alt.plot.Y.Max = min(0, alt.plot.Y.Min), max(1, alt.plot.Y.Max)
	}
	s.addTargets(panels, end)
	for i, p := range panels {
		p.plot.X.Min, p.plot.X.Max = 0, hours(end)
		if !p.empty {
			p.plot.Y.Tick.Marker = preciseTicks{}
		}
		if i < len(panels)-1 {
			p.plot.X.Tick.Marker = unlabelledTicks{preciseTicks{}}
		} else {
			p.plot.X.Tick.Marker = preciseTicks{}
			p.plot.X.Label.Text = "time (h)"
		}
	}

	title := text.Style{
		Color:   colBlack,
		Font:    font.From(plot.DefaultFont, 16),
		XAlign:  draw.XCenter,
		YAlign:  draw.YCenter,
		Handler: plot.DefaultTextHandler,
	}
	titleAt := vg.Point{X: c.Min.X + (c.Max.X-c.Min.X-legendGutter)/2, Y: c.Max.Y - titleHeight/2}
	c.FillText(title, titleAt, printable(s.Title))

	body := draw.Crop(c, figureMargin, -legendGutter, figureMargin, -titleHeight)
	plots := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		plots[i] = []*plot.Plot{p.plot}
	}
	cells := plot.Align(plots, draw.Tiles{Rows: len(panels), Cols: 1, PadY: panelGap}, body)
	for i, p := range panels {
		cell := cells[i][0]
		p.plot.Draw(cell)
		if p.hasKey {
			key := cell
			key.Min.X = body.Max.X + 0.1*vg.Inch
			key.Max.X = c.Max.X - figureMargin
			key.Max.Y -= 0.05 * vg.Inch
			p.legend.Draw(key)
		}
	}
}

// end is the figure's right edge: the last time any series has a value (an
// hour when there is none).
func (s *Series) end() time.Duration {
	var end time.Duration
	last := func(pts []Point) {
		for _, p := range pts {
			end = max(end, p.T)
		}
	}
	for _, pts := range [][]Point{s.OD, s.NormalizedOD, s.GrowthRate, s.Volume, s.AltMediaFraction, s.Temperature} {
		last(pts)
	}
	for _, pts := range s.Targets {
		last(pts)
	}
	for _, d := range s.Doses {
		end = max(end, d.T)
	}
	if end <= 0 {
		end = time.Hour
	}
	return end
}

// newPanel is an empty panel labelled label, with a grid.
func newPanel(label string) *panel {
	p := plot.New()
	p.Y.Label.Text = label
	p.Add(plotter.NewGrid())
	l := plot.NewLegend()
	l.Top, l.Left = true, true
	l.TextStyle.Font.Size = 9
	return &panel{plot: p, legend: l}
}

// How a line joins its points: a sampled reading (OD, temperature) changes
// between samples; a held value (the volume, the alt-media fraction, which
// the monitor publishes when a dose changes them) holds until the next one,
// and the last one until the end.
const (
	sampled = false
	held    = true
)

// linePanel draws pts as a line, or says "no data".
func (s *Series) linePanel(label string, pts []Point, col color.Color, end time.Duration, hold bool) *panel {
	p := newPanel(label)
	xys := decimate(pts, end, plotBuckets)
	if len(xys) == 0 {
		p.markEmpty()
		return p
	}
	if last := xys[len(xys)-1]; hold && last.X < hours(end) {
		xys = append(xys, plotter.XY{X: hours(end), Y: last.Y})
	}
	line, err := plotter.NewLine(xys)
	if err != nil { // decimate keeps finite values only
		panic(err)
	}
	if hold {
		line.StepStyle = plotter.PostStep
	}
	line.Color, line.Width = col, vg.Points(1.2)
	p.plot.Add(chunkedLine{line})
	p.legend.Add(label, line)
	return p
}

// markEmpty makes p a panel that says "no data", with no scale.
func (p *panel) markEmpty() {
	p.empty = true
	p.plot.Y.Min, p.plot.Y.Max = 0, 1
	p.plot.Y.Tick.Marker = plot.ConstantTicks(nil)
	p.plot.Add(noData{})
}

// addTargets draws each target as a dashed step line on the panel of the
// quantity it is a target for.
func (s *Series) addTargets(panels []*panel, end time.Duration) {
	names := make([]string, 0, len(s.Targets))
	for name := range s.Targets {
		names = append(names, name)
	}
	sort.Strings(names)
	used := make(map[int]int)
	for _, name := range names {
		xys, last := steps(s.Targets[name], end)
		if len(xys) == 0 {
			continue
		}
		i := targetPanel(name)
		p := panels[i]
		line, err := plotter.NewLine(xys)
		if err != nil {
			panic(err)
		}
		line.Color = targetColours[used[i]%len(targetColours)]
		used[i]++
		line.Width = vg.Points(1.5)
		line.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		if p.empty {
			// A target on a panel with no data still gets a scale.
			p.empty = false
			p.plot.Y.Min, p.plot.Y.Max = math.Inf(1), math.Inf(-1)
			p.plot.Y.Tick.Marker = plot.DefaultTicks{}
		}
		p.plot.Add(line)
		p.legend.Add(fmt.Sprintf("%s (%.4g)", name, last), line)
		p.hasKey = true
	}
}

// targetPanel is the index of the panel a target is drawn on, read from its
// name: temperature, growth rate, normalized OD or OD. A biomass target goes
// with normalized OD, which is what a turbidostat's "auto" biomass signal
// resolves to on the simulated reactor (no OD calibration, no fusion).
func targetPanel(name string) int {
	n := strings.ToLower(strings.ReplaceAll(name, "_", " "))
	switch {
	case strings.Contains(n, "temperature"):
		return panelTemperature
	case strings.Contains(n, "growth rate"):
		return panelGrowthRate
	case strings.Contains(n, "normalized"), strings.Contains(n, "biomass"):
		return panelNormalizedOD
	default:
		return panelOD
	}
}

// steps turns a setting's changes into a step line that holds each value
// until the next change and the last until end; last is the last value.
func steps(pts []Point, end time.Duration) (xys plotter.XYs, last float64) {
	pts = sortedByTime(pts)
	for _, p := range pts {
		if !finite(p.V) {
			continue
		}
		x := hours(p.T)
		if n := len(xys); n > 0 {
			xys = append(xys, plotter.XY{X: x, Y: xys[n-1].Y})
		}
		xys = append(xys, plotter.XY{X: x, Y: p.V})
		last = p.V
	}
	if n := len(xys); n > 0 {
		xys = append(xys, plotter.XY{X: max(hours(end), xys[n-1].X), Y: last})
	}
	return xys, last
}

// dosePanel draws every dose as a stem from 0 to its volume, one colour per
// event, with the count and total of each event in the legend. What goes out
// (remove_waste) is drawn below 0, marked ↓ in the legend, so it does not hide the media that went
// in at the same time.
func (s *Series) dosePanel(end time.Duration) *panel {
	p := newPanel("dose (mL)")
	if len(s.Doses) == 0 {
		p.markEmpty()
		return p
	}
	byEvent := make(map[string][]Point)
	for _, d := range s.Doses {
		byEvent[d.Event] = append(byEvent[d.Event], Point{T: d.T, V: d.ML})
	}
	events := doseEvents(s.Doses)
	other := 0
	for _, ev := range events {
		col, ok := doseColours[ev]
		if !ok {
			col = otherDoseColours[other%len(otherDoseColours)]
			other++
		}
		pts := byEvent[ev]
		total := 0.0
		for _, pt := range pts {
			if finite(pt.V) {
				total += pt.V
			}
		}
		out := strings.HasPrefix(ev, "remove_")
		if out {
			pts = slices.Clone(pts)
			for i := range pts {
				pts[i].V = -pts[i].V
			}
		}
		st := &stems{xys: decimate(pts, end, plotBuckets), col: col}
		if len(st.xys) == 0 {
			continue
		}
		p.plot.Add(st)
		noun := "doses"
		if len(pts) == 1 {
			noun = "dose"
		}
		name := ev
		if out {
			name += " (↓)"
		}
		p.legend.Add(fmt.Sprintf("%s: %d %s, %.4g mL", name, len(pts), noun, total), st)
	}
	p.hasKey = true
	return p
}

// stems draws each point as a vertical line from 0 to its value, topped by a
// dot.
type stems struct {
	xys plotter.XYs
	col color.Color
}

var (
	_ plot.Plotter     = (*stems)(nil)
	_ plot.DataRanger  = (*stems)(nil)
	_ plot.Thumbnailer = (*stems)(nil)
)

func (st *stems) glyph() draw.GlyphStyle {
	return draw.GlyphStyle{Color: st.col, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
}

// Plot draws the stems, a path for each chunkPoints of them, then their
// dots.
func (st *stems) Plot(c draw.Canvas, p *plot.Plot) {
	x, y := p.Transforms(&c)
	c.SetLineStyle(draw.LineStyle{Color: st.col, Width: vg.Points(1)})
	for i := 0; i < len(st.xys); i += chunkPoints {
		var path vg.Path
		for _, pt := range st.xys[i:min(i+chunkPoints, len(st.xys))] {
			path.Move(vg.Point{X: x(pt.X), Y: y(0)})
			path.Line(vg.Point{X: x(pt.X), Y: y(pt.Y)})
		}
		c.Stroke(path)
	}
	g := st.glyph()
	for _, pt := range st.xys {
		c.DrawGlyphNoClip(g, vg.Point{X: x(pt.X), Y: y(pt.Y)})
	}
}

// DataRange spans the doses' times and volumes, and 0.
func (st *stems) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, pt := range st.xys {
		xmin, xmax = min(xmin, pt.X), max(xmax, pt.X)
		ymin, ymax = min(ymin, pt.Y), max(ymax, pt.Y)
	}
	return xmin, xmax, ymin, ymax
}

// Thumbnail draws the legend's dot.
func (st *stems) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(st.glyph(), c.Center())
}

// chunkedLine strokes a line in pieces of chunkPoints points: the PNG
// rasterizer's time grows faster than linearly with the length of one
// stroke, and a decimated week of noisy readings is thousands of points.
type chunkedLine struct{ *plotter.Line }

const chunkPoints = 64

func (l chunkedLine) Plot(c draw.Canvas, p *plot.Plot) {
	all := l.XYs
	for i := 0; i < len(all)-1; i += chunkPoints - 1 {
		piece := *l.Line
		piece.XYs = all[i:min(i+chunkPoints, len(all))]
		piece.Plot(c, p)
	}
	if len(all) == 1 {
		l.Line.Plot(c, p)
	}
}

// noData writes "no data" in the middle of a panel.
type noData struct{}

func (noData) Plot(c draw.Canvas, p *plot.Plot) {
	sty := text.Style{
		Color:   colGrey,
		Font:    font.From(plot.DefaultFont, 14),
		XAlign:  draw.XCenter,
		YAlign:  draw.YCenter,
		Handler: p.TextHandler,
	}
	c.FillText(sty, c.Center(), noDataMessage)
}

// preciseTicks are gonum/plot's default ticks, labelled with as many
// decimals as the spacing of the labelled ticks needs, so that a narrow range
// (a thermostat holding 30.00 ± 0.05 °C) does not read "30, 30, 30".
type preciseTicks struct{}

func (preciseTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	var labelled []float64
	for _, t := range ticks {
		if t.Label != "" {
			labelled = append(labelled, t.Value)
		}
	}
	if len(labelled) < 2 {
		return ticks
	}
	spacing := labelled[1] - labelled[0]
	decimals := max(0, int(math.Ceil(-math.Log10(spacing)-1e-9)))
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', decimals, 64)
		}
	}
	return ticks
}

// unlabelledTicks are the ticks of an axis without their labels: the panels
// above the bottom one share its time labels.
type unlabelledTicks struct{ plot.Ticker }

func (u unlabelledTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := u.Ticker.Ticks(lo, hi)
	for i := range ticks {
		ticks[i].Label = ""
	}
	return ticks
}

// decimate turns pts into plot coordinates (hours) with at most four points
// (the first, last, lowest and highest, in time order) in each of buckets
// equal slices of [0, end], so a long series draws as fast as a short one
// and looks the same. Non-finite values are left out.
func decimate(pts []Point, end time.Duration, buckets int) plotter.XYs {
	pts = sortedByTime(pts)
	if len(pts) <= 4*buckets {
		xys := make(plotter.XYs, 0, len(pts))
		for _, p := range pts {
			if finite(p.V) {
				xys = append(xys, plotter.XY{X: hours(p.T), Y: p.V})
			}
		}
		return xys
	}
	span := float64(max(end, pts[len(pts)-1].T))
	if span <= 0 {
		span = 1
	}
	xys := make(plotter.XYs, 0, 4*buckets)
	var b bucket
	for _, p := range pts {
		if !finite(p.V) {
			continue
		}
		k := min(int(float64(p.T)/span*float64(buckets)), buckets-1)
		if b.n > 0 && k != b.k {
			xys = b.flush(xys)
		}
		b.add(k, p)
	}
	if b.n > 0 {
		xys = b.flush(xys)
	}
	return xys
}

// bucket gathers the first, last, lowest and highest point of one time
// bucket.
type bucket struct {
	k                      int
	n                      int
	first, last, low, high Point
}

func (b *bucket) add(k int, p Point) {
	if b.n == 0 {
		*b = bucket{k: k, n: 1, first: p, last: p, low: p, high: p}
		return
	}
	b.n++
	b.last = p
	if p.V < b.low.V {
		b.low = p
	}
	if p.V > b.high.V {
		b.high = p
	}
}

// flush appends the bucket's points in time order, each once, and empties
// the bucket.
func (b *bucket) flush(xys plotter.XYs) plotter.XYs {
	keep := []Point{b.first, b.low, b.high, b.last}
	slices.SortStableFunc(keep, func(a, c Point) int { return cmpDuration(a.T, c.T) })
	prev := -1
	for i, p := range keep {
		if prev >= 0 && keep[prev] == p {
			continue
		}
		prev = i
		xys = append(xys, plotter.XY{X: hours(p.T), Y: p.V})
	}
	b.n = 0
	return xys
}
