package odreading

import (
	"context"
	"testing"
)

// BenchmarkReading is one reading of REF and one signal channel on the fake
// board, in virtual time: LEDs, two bursts of 40 samples, the two fits, the
// REF tracker and the published payloads (the in-memory broker).
func BenchmarkReading(b *testing.B) {
	h := newHarness(b)
	h.board.noise, h.board.refNoise = 0.001, 0.001
	ctx := context.Background()
	h.clk.Go("bench", func() {
		j, err := Start(h.env, Options{})
		if err != nil {
			b.Error(err)
			return
		}
		defer j.Close()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := j.read(ctx); err != nil {
				b.Error(err)
				return
			}
		}
		b.StopTimer()
	})
	h.clk.Run(ctx)
}
