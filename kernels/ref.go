package kernels

// Reference implementations: for each correct kernel, the exact contents of
// its output buffers, written from the kernel's specification (the comment
// at the top of its .cu file), not from its code. Where the kernel splits
// work over lanes, warps and chunks, the reference computes each output
// directly.

import (
	"hash/crc32"
	"math"
	"math/bits"
)

// mix is the producer transform of lane_handoff and pingpong.
func mix(x uint32) uint32 { return x*0x9E3779B1 + 0x7F4A7C15 }

// LaneHandoff returns lane_handoff's out for in (n = len(in)). Words are
// paired within each aligned block of 32: word i (i%32 < 16) with word
// i+16. For such a pair, with t = in[i]*0x9E3779B1 + 0x7F4A7C15 and
// y = in[i+16] (0 if i+16 >= n):
//
//	out[i] = t + y,  out[i+16] = t ^ y (when i+16 < n)
func LaneHandoff(in []uint32) []uint32 {
	n := len(in)
	out := make([]uint32, n)
	for i := range n {
		if i%32 < 16 {
			var y uint32
			if i+16 < n {
				y = in[i+16]
			}
			out[i] = mix(in[i]) + y
		} else {
			out[i] = mix(in[i-16]) ^ in[i]
		}
	}
	return out
}

// Pingpong returns pingpong's out for in, which holds len(in)/16 items of
// 16 words (a partial item at the end is ignored). For item m and word j,
// with P(j) = in[16m+j]*0x9E3779B1 + 0x7F4A7C15:
//
//	out[16m+j] = P(j) + rotl(P((j+1)%16), 7)
func Pingpong(in []uint32) []uint32 {
	nitems := len(in) / 16
	out := make([]uint32, nitems*16)
	for m := range nitems {
		item := in[16*m : 16*m+16]
		for j := range 16 {
			out[16*m+j] = mix(item[j]) + bits.RotateLeft32(mix(item[(j+1)%16]), 7)
		}
	}
	return out
}

// Tile geometry of warp_specialized.
const (
	TileRows  = 8
	TileWords = TileRows * 32
)

// WarpSpecialized returns warp_specialized's out and row_sums for in, which
// holds len(in)/256 tiles (a partial tile at the end is ignored):
//
//	out[i] = (x ^ (x >> 16)) * 0x045D9F3B, x = in[i]
//	row_sums[r] = out[32r] + ... + out[32r+31]  (mod 2^32)
func WarpSpecialized(in []uint32) (out, rowSums []uint32) {
	ntiles := len(in) / TileWords
	out = make([]uint32, ntiles*TileWords)
	rowSums = make([]uint32, ntiles*TileRows)
	for i := range out {
		x := in[i]
		out[i] = (x ^ x>>16) * 0x045D9F3B
		rowSums[i/32] += out[i]
	}
	return out, rowSums
}

// BatchReduce returns batch_reduce's out: {sum mod 2^32, min, max} of each
// of nrec records of recWords words in in (len(in) >= nrec*recWords). An
// empty record gives {0, 0xffffffff, 0}.
func BatchReduce(in []uint32, nrec, recWords int) []uint32 {
	out := make([]uint32, 0, 3*nrec)
	for r := range nrec {
		sum, lo, hi := uint32(0), uint32(0xffffffff), uint32(0)
		for _, x := range in[r*recWords : (r+1)*recWords] {
			sum += x
			lo = min(lo, x)
			hi = max(hi, x)
		}
		out = append(out, sum, lo, hi)
	}
	return out
}

// BatchScan returns batch_scan's out: the inclusive prefix sums (mod 2^32)
// of each of nrec records of recWords words.
func BatchScan(in []uint32, nrec, recWords int) []uint32 {
	out := make([]uint32, nrec*recWords)
	for r := range nrec {
		var sum uint32
		for i := r * recWords; i < (r+1)*recWords; i++ {
			sum += in[i]
			out[i] = sum
		}
	}
	return out
}

// BatchHistogram returns what batch_histogram adds to hist: the number of
// bytes of each value among the first nrec*recBytes bytes of in.
func BatchHistogram(in []byte, nrec, recBytes int) [256]uint32 {
	var h [256]uint32
	for _, b := range in[:nrec*recBytes] {
		h[b]++
	}
	return h
}

// BatchChecksum returns batch_checksum's out: the CRC-32C of each of nrec
// records of recBytes bytes.
func BatchChecksum(in []byte, nrec, recBytes int) []uint32 {
	table := crc32.MakeTable(crc32.Castagnoli)
	out := make([]uint32, nrec)
	for r := range out {
		out[r] = crc32.Checksum(in[r*recBytes:(r+1)*recBytes], table)
	}
	return out
}

// BMin is the least ring capacity at which the fused producer/consumer
// schedule with rates rp and rc (items per firing) never stalls:
// rp + rc - gcd(rp, rc). Both rates must be positive.
func BMin(rp, rc int) int { return rp + rc - gcd(rp, rc) }

// RingPeriod is the number of items in one period of the schedule, after
// which the ring is back where it started: lcm(rp, rc).
func RingPeriod(rp, rc int) int { return rp / gcd(rp, rc) * rc }

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Limits of warp_ring's parameters.
const (
	RingMaxCapacity = 64
	RingMaxRate     = 16
)

// RingResult is status word 0 of warp_ring.
type RingResult uint32

const (
	RingDone      RingResult = 0 // consumed total items
	RingStalled   RingResult = 1 // neither side could fire
	RingBadParams RingResult = 2 // capacity, rp or rc out of range
)

// RingOutcome is how one warp's run of warp_ring ends: its four status words.
type RingOutcome struct {
	Result   RingResult
	Steps    uint32 // firings, producer and consumer
	Consumed uint32 // items consumed (a multiple of rc; may pass total by less than rc)
	Count    uint32 // items left in the ring
}

// Words returns o as warp_ring writes it to status[4w .. 4w+4).
func (o RingOutcome) Words() [4]uint32 {
	return [4]uint32{uint32(o.Result), o.Steps, o.Consumed, o.Count}
}

// WarpRing runs warp_ring's schedule for one warp, counting items only:
// while fewer than total items are consumed, the consumer fires (takes rc)
// if the ring holds rc, else the producer fires (adds rp) if it has room
// for rp, else the run stalls.
func WarpRing(capacity, rp, rc, total int) RingOutcome {
	if capacity < 1 || capacity > RingMaxCapacity || rp < 1 || rp > RingMaxRate || rc < 1 || rc > RingMaxRate {
		return RingOutcome{Result: RingBadParams}
	}
	var steps, consumed, count int
	result := RingDone
schedule:
	for consumed < total {
		switch {
		case count >= rc:
			count -= rc
			consumed += rc
		case capacity-count >= rp:
			count += rp
		default:
			result = RingStalled
			break schedule
		}
		steps++
	}
	return RingOutcome{result, uint32(steps), uint32(consumed), uint32(count)}
}

// WarpRingBuffers returns warp_ring's out and status after a launch with
// the given number of warps, when out was filled with fill beforehand:
// warp w stores items w*total, w*total+1, ... at out[w*total ..], as many
// as it consumed (at most total); the rest of out keeps fill.
func WarpRingBuffers(capacity, rp, rc, total, warps int, fill uint32) (out, status []uint32) {
	o := WarpRing(capacity, rp, rc, total)
	stored := min(int(o.Consumed), total)
	if o.Result == RingBadParams {
		stored = 0
	}
	out = make([]uint32, warps*total)
	status = make([]uint32, 0, 4*warps)
	for w := range warps {
		for i := range total {
			out[w*total+i] = fill
			if i < stored {
				out[w*total+i] = uint32(w*total + i)
			}
		}
		words := o.Words()
		status = append(status, words[:]...)
	}
	return out, status
}

// Geometry and constants of particles_step.
const (
	ParticleFloats = 4  // x, y, vx, vy
	ParticleGroup  = 32 // particles 32g .. 32g+31 pull toward their centroid

	particleCentre = float32(1)   // spring toward the box's centre
	particlePull   = float32(0.5) // spring toward the group's centroid
)

// belowOne is the largest float32 below 1: where particles_step clamps a
// particle that overshoots the wall at 1.
var belowOne = math.Float32frombits(0x3f7fffff)

// ParticlesStep returns particles_step's out for in, which holds
// len(in)/4 particles {x, y, vx, vy} (a partial particle at the end is
// ignored), and the time step dt (the kernel's dt_bits is
// math.Float32bits(dt)). With c the centroid of the particle's group of 32
// (the last group may be short), summed in particle order from 0 and
// divided by the group's count:
//
//	a  = (0.5 - p) + 0.5*(c - p)       for each axis
//	v' = v + a*dt
//	p' = p + v'*dt
//
// then the walls reflect: p' < 0 gives -p' and -v'; p' >= 1 gives 2-p' and
// -v'; a position still outside [0,1) is clamped to 0 or to the float
// below 1. Every operation is rounded to float32 on its own: the explicit
// float32 conversions keep the Go compiler from fusing a multiply and an
// add (as it may on arm64), which the kernel does not do either.
func ParticlesStep(in []float32, dt float32) []float32 {
	n := len(in) / ParticleFloats
	out := make([]float32, n*ParticleFloats)
	for g := 0; g < n; g += ParticleGroup {
		end := min(g+ParticleGroup, n)
		var sx, sy float32
		for j := g; j < end; j++ {
			sx = float32(sx + in[4*j])
			sy = float32(sy + in[4*j+1])
		}
		cnt := float32(end - g)
		cx, cy := float32(sx/cnt), float32(sy/cnt)
		for i := g; i < end; i++ {
			x, y, vx, vy := in[4*i], in[4*i+1], in[4*i+2], in[4*i+3]
			ax := float32(float32(particleCentre*float32(0.5-x)) + float32(particlePull*float32(cx-x)))
			ay := float32(float32(particleCentre*float32(0.5-y)) + float32(particlePull*float32(cy-y)))
			vx = float32(vx + float32(ax*dt))
			vy = float32(vy + float32(ay*dt))
			x = float32(x + float32(vx*dt))
			y = float32(y + float32(vy*dt))
			x, vx = reflectWall(x, vx)
			y, vy = reflectWall(y, vy)
			out[4*i], out[4*i+1], out[4*i+2], out[4*i+3] = x, y, vx, vy
		}
	}
	return out
}

// reflectWall mirrors p in the wall of the unit interval it crossed,
// flipping v, and clamps p into [0, 1).
func reflectWall(p, v float32) (float32, float32) {
	if p < 0 {
		p, v = -p, -v
	} else if p >= 1 {
		p, v = float32(2-p), -v
	}
	if p < 0 {
		p = 0
	}
	if p >= 1 {
		p = belowOne
	}
	return p, v
}

// Limits of async_pipeline's parameters.
const (
	PipelineMaxStages    = 8
	PipelineMaxTileWords = 1024
)

// AsyncPipelineTimeline returns async_pipeline's timeline for ntiles tiles
// on grid blocks: {ready, start} of each tile on the pipeline's logical
// clock. Tile t is the i-th of its block, i = t / grid, and each block's
// clock starts at 0, so the times depend on i alone. With S stages, copy
// latency L and per-tile work T (uint32 arithmetic, as the kernel's):
//
//	issue(i) = max(issue(i-1), done(i-S))   (0 for an index below 0)
//	ready(i) = issue(i) + L
//	start(i) = max(done(i-1), ready(i))
//	done(i)  = start(i) + T
//
// done(i) is when the consumers release the tile's stage: the producer
// refills it for tile i+S no earlier.
func AsyncPipelineTimeline(ntiles, grid, stages int, latency, work uint32) []uint32 {
	perBlock := (ntiles + grid - 1) / grid
	ready, start := pipelineClock(perBlock, stages, latency, work)
	out := make([]uint32, 2*ntiles)
	for t := range ntiles {
		out[2*t], out[2*t+1] = ready[t/grid], start[t/grid]
	}
	return out
}

// pipelineClock runs AsyncPipelineTimeline's recurrence for one block's n
// tiles.
func pipelineClock(n, stages int, latency, work uint32) (ready, start []uint32) {
	ready, start = make([]uint32, n), make([]uint32, n)
	done := make([]uint32, n)
	var issue, prevDone uint32
	for i := range n {
		if i >= stages {
			issue = max(issue, done[i-stages])
		}
		ready[i] = issue + latency
		start[i] = max(prevDone, ready[i])
		done[i] = start[i] + work
		prevDone = done[i]
	}
	return ready, start
}

// PipelineWaits counts the tiles after the first at which async_pipeline's
// consumer waits, from a block's {ready, start} pairs (timeline words of
// tiles 0, grid, 2*grid, ...): tile i waits when it starts later than the
// previous tile was done, start(i) > start(i-1) + work. The first tile
// always waits for its copy (latency > 0): that is the pipeline filling.
func PipelineWaits(timeline []uint32, work uint32) (waits, first int) {
	first = -1
	for i := 1; 2*i+1 < len(timeline); i++ {
		if timeline[2*i+1] > timeline[2*i-1]+work {
			waits++
			if first < 0 {
				first = i
			}
		}
	}
	return waits, first
}

// PipelineSMin is the least stage count at which async_pipeline's consumer
// never waits after the first tile, for copy latency L and per-tile work
// T >= 1: 1 + ceil(L/T). In steady state the consumer finishes a tile
// every T ticks; tile i+S's copy is issued when tile i's stage is released
// and lands L later, while the consumer wants it (S-1)*T after that
// release, so it never waits iff L <= (S-1)*T (RATIONALE: "The stage bound
// of an asynchronous pipeline").
func PipelineSMin(latency, work uint32) int {
	return 1 + int((uint64(latency)+uint64(work)-1)/uint64(work))
}
