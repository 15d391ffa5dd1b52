package sim

import "math/rand/v2"

// Noise streams: each sensor draws from its own generator, seeded from the
// reactor's seed and the sensor, so a sensor's samples are the same for a
// seed however reads of other sensors interleave with its own.
const (
	streamFlows       = 0x9e3779b97f4a7c15
	streamThermometer = 0x7f4a7c159e3779b9
	streamPhotodiode  = 0x3c6ef372fe94f82b // + channel
)

// stream returns the generator of id, made on first use. Call it with r.mu.
func (r *Reactor) stream(id uint64) *rand.Rand {
	g, ok := r.streams[id]
	if !ok {
		g = rand.New(rand.NewPCG(uint64(r.opts.Seed), id))
		r.streams[id] = g
	}
	return g
}
