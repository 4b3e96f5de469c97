// Package sim runs the particle simulation (kernel particles_step, whose
// Go reference is kernels.ParticlesStep) on a gpu.Device, the emulator or
// a GPU, and hands each step's positions to a render thread through a
// triple buffer (Triple).
//
// The simulation goroutine calls Step, or Run; the render thread calls
// Frames().Read whenever it draws, and gets the newest complete frame
// without waiting. The package imports no graphics library.
package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// Limits and defaults of Options.
const (
	MaxParticles = 1 << 20
	// DefaultDt is the time step when Options.Dt is 0: one 60 Hz frame.
	DefaultDt = float32(1.0 / 60)
	// MaxDt bounds the time step; the integrator is stable to about 1.6.
	MaxDt = float32(1)
)

// Kernel is the catalogued kernel the simulation runs.
const Kernel = "particles_step"

// BlockSize is the launch's blockDim.x (a multiple of 32, at most 1024).
const BlockSize = 256

// ErrClosed is returned by Step and Run after Close.
var ErrClosed = errors.New("sim: closed")

// Options configure a simulation.
type Options struct {
	Particles int     // 1 .. MaxParticles
	Seed      uint64  // the initial state (InitialState); any value
	Dt        float32 // the time step, in (0, MaxDt]; 0 means DefaultDt
}

func (o Options) validate() (Options, error) {
	if o.Particles < 1 || o.Particles > MaxParticles {
		return o, fmt.Errorf("sim: Options.Particles is %d; it must be from 1 to %d", o.Particles, MaxParticles)
	}
	if o.Dt == 0 {
		o.Dt = DefaultDt
	}
	if !(o.Dt > 0 && o.Dt <= MaxDt) { // NaN fails too
		return o, fmt.Errorf("sim: Options.Dt is %v; it must be in (0, %v], or 0 for %v", o.Dt, MaxDt, DefaultDt)
	}
	return o, nil
}

// InitialState returns the state of step 0 for n particles and a seed, as
// particles_step takes it: particle i is {x, y, vx, vy} at [4i .. 4i+4),
// positions in [0.1, 0.9), velocities in [-0.25, 0.25). The same n and
// seed always give the same state (math/rand/v2's PCG, whose output the
// standard library keeps stable).
func InitialState(n int, seed uint64) []float32 {
	g := rand.New(rand.NewPCG(seed, 0))
	next := g.Float32 // in [0, 1)
	st := make([]float32, kernels.ParticleFloats*n)
	for i := range n {
		// float32(...) rounds each product, so that no platform fuses it
		// into a multiply-add and the state is the same everywhere.
		st[4*i] = 0.1 + float32(0.8*next())
		st[4*i+1] = 0.1 + float32(0.8*next())
		st[4*i+2] = float32(0.5*next()) - 0.25
		st[4*i+3] = float32(0.5*next()) - 0.25
	}
	return st
}

// Sim is a particle simulation on a device. Step and Run are for one
// goroutine; Frames().Read for one other (the render thread); StepCount
// and Close for any.
type Sim struct {
	opts   Options
	frames *Triple
	steps  atomic.Uint64

	mu     sync.Mutex // held by Step and Close
	closed bool
	module gpu.Module
	kernel gpu.Kernel
	stream gpu.Stream
	bufs   [2]gpu.DeviceBuffer // ping-pong: bufs[cur] holds the current state
	cur    int
	launch gpu.LaunchConfig
	raw    []byte    // the state as copied back
	state  []float32 // the state, decoded
}

// New loads particles_step on dev, allocates two device buffers for the
// state (steps ping-pong between them), copies InitialState(opts.Particles,
// opts.Seed) in, and publishes it as frame 0. Close frees what New made;
// dev stays open.
func New(dev gpu.Device, opts Options) (_ *Sim, err error) {
	if dev == nil {
		return nil, errors.New("sim: nil device")
	}
	if opts, err = opts.validate(); err != nil {
		return nil, err
	}
	k, ok := kernels.Lookup(Kernel)
	if !ok {
		return nil, fmt.Errorf("sim: kernel %s is not in the catalogue", Kernel)
	}
	n := opts.Particles
	s := &Sim{
		opts:   opts,
		frames: NewTriple(n),
		launch: gpu.LaunchConfig{Grid: gpu.D1(uint32(min((n+BlockSize-1)/BlockSize, 1024))), Block: gpu.D1(BlockSize)},
		raw:    make([]byte, 4*kernels.ParticleFloats*n),
		state:  InitialState(n, opts.Seed),
	}
	defer func() {
		if err != nil {
			s.release() // err is the one to report
		}
	}()
	// Each resource goes into s only when it was made, so that release
	// never sees a backend's typed nil.
	m, err := dev.LoadModule(k.File, k.PTX())
	if err != nil {
		return nil, fmt.Errorf("sim: load %s: %w", k.File, err)
	}
	s.module = m
	if s.kernel, err = m.Kernel(Kernel); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	st, err := dev.NewStream()
	if err != nil {
		return nil, fmt.Errorf("sim: new stream: %w", err)
	}
	s.stream = st
	for i := range s.bufs {
		b, err := dev.Alloc(len(s.raw))
		if err != nil {
			return nil, fmt.Errorf("sim: alloc %d bytes: %w", len(s.raw), err)
		}
		s.bufs[i] = b
	}
	for i, v := range s.state {
		binary.LittleEndian.PutUint32(s.raw[4*i:], math.Float32bits(v))
	}
	if err = s.bufs[0].CopyFromHost(0, s.raw); err != nil {
		return nil, fmt.Errorf("sim: copy the initial state in: %w", err)
	}
	s.publish(0)
	return s, nil
}

// Frames is the triple buffer the simulation publishes its frames to:
// frame k holds the positions after k steps.
func (s *Sim) Frames() *Triple { return s.frames }

// StepCount is the number of steps done.
func (s *Sim) StepCount() uint64 { return s.steps.Load() }

// Options returns the options in use (Dt filled in).
func (s *Sim) Options() Options { return s.opts }

// State returns a copy of the full state after the last step, {x, y, vx,
// vy} per particle, as kernels.ParticlesStep takes it.
func (s *Sim) State() []float32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]float32(nil), s.state...)
}

// Step runs one step: a launch of particles_step from one state buffer
// into the other, a copy of the new state back to the host, and the
// publication of its positions as the next frame.
func (s *Sim) Step() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	step := s.steps.Load() + 1
	in, out := s.bufs[s.cur], s.bufs[1-s.cur]
	n := uint32(s.opts.Particles)
	err := s.stream.Launch(s.kernel, s.launch, in, out, n, math.Float32bits(s.opts.Dt))
	if err == nil {
		err = s.stream.Synchronize()
	}
	if err == nil {
		err = out.CopyToHost(s.raw, 0)
	}
	if err != nil {
		return fmt.Errorf("sim: step %d: %w", step, err)
	}
	s.cur = 1 - s.cur
	for i := range s.state {
		s.state[i] = math.Float32frombits(binary.LittleEndian.Uint32(s.raw[4*i:]))
	}
	s.steps.Store(step)
	s.publish(step)
	return nil
}

// publish writes the positions of s.state to the triple buffer as frame
// step.
func (s *Sim) publish(step uint64) {
	s.frames.Write(func(f *Frame) {
		if len(f.Pos) != 2*s.opts.Particles {
			f.Pos = make([]float32, 2*s.opts.Particles)
		}
		for i := range s.opts.Particles {
			f.Pos[2*i], f.Pos[2*i+1] = s.state[4*i], s.state[4*i+1]
		}
		f.Step = step
		f.Sum = Checksum(step, f.Pos)
	})
}

// Run steps the simulation: steps times, or with steps <= 0 until ctx is
// done. It returns nil after the last of steps, ctx's error when ctx ends
// first, or the first error of a step.
func (s *Sim) Run(ctx context.Context, steps int) error {
	for i := 0; steps <= 0 || i < steps; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.Step(); err != nil {
			return err
		}
	}
	return nil
}

// Close frees the simulation's device buffers, stream and module (the
// device stays open). It waits for a Step in progress; later Steps return
// ErrClosed. Close is idempotent; the frames stay readable.
func (s *Sim) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.release()
}

// release frees what New made, in reverse order, and returns the first
// error.
func (s *Sim) release() error {
	var errs []error
	for i := range s.bufs {
		if s.bufs[i] != nil {
			errs = append(errs, s.bufs[i].Free())
			s.bufs[i] = nil
		}
	}
	if s.stream != nil {
		errs = append(errs, s.stream.Close())
		s.stream = nil
	}
	if s.module != nil {
		errs = append(errs, s.module.Close())
		s.module = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sim: close: %w", err)
	}
	return nil
}
