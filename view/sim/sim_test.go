package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
	_ "github.com/gpubuf/gpubuf/gpu/emu"
	"github.com/gpubuf/gpubuf/kernels"
)

func openEmu(t *testing.T) gpu.Device {
	t.Helper()
	dev, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := dev.Close(); err != nil {
			t.Errorf("device Close: %v", err)
		}
	})
	return dev
}

func newSim(t *testing.T, dev gpu.Device, opts Options) *Sim {
	t.Helper()
	s, err := New(dev, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Sim Close: %v", err)
		}
	})
	return s
}

// sameBits compares float slices bit for bit and describes the first
// difference.
func sameBits(got, want []float32) (bool, string) {
	if len(got) != len(want) {
		return false, fmt.Sprintf("%d floats, want %d", len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return false, fmt.Sprintf("first at %d: %v (%#x), want %v (%#x)", i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
	return true, ""
}

// positions returns the x, y of each particle of a full state.
func positions(state []float32) []float32 {
	p := make([]float32, 0, len(state)/2)
	for i := 0; i+3 < len(state); i += 4 {
		p = append(p, state[i], state[i+1])
	}
	return p
}

// Ten steps of Sim on the emulator equal ten steps of the Go reference
// from the same initial state, bit for bit, in the full state and in the
// published frames.
func TestSimMatchesReference(t *testing.T) {
	dev := openEmu(t)
	opts := Options{Particles: 300, Seed: 7, Dt: 1.0 / 30}
	s := newSim(t, dev, opts)
	want := InitialState(opts.Particles, opts.Seed)
	f, fresh := s.Frames().Read()
	if f.Step != 0 || !fresh || !f.Consistent() {
		t.Fatalf("frame 0: step %d, fresh %v, consistent %v", f.Step, fresh, f.Consistent())
	}
	if ok, d := sameBits(f.Pos, positions(want)); !ok {
		t.Fatalf("frame 0 is not the initial state: %s", d)
	}
	for step := uint64(1); step <= 10; step++ {
		if err := s.Step(); err != nil {
			t.Fatal(err)
		}
		want = kernels.ParticlesStep(want, opts.Dt)
		if ok, d := sameBits(s.State(), want); !ok {
			t.Fatalf("step %d: state differs from kernels.ParticlesStep: %s", step, d)
		}
		f, fresh := s.Frames().Read()
		if f.Step != step || !fresh || !f.Consistent() || s.StepCount() != step {
			t.Fatalf("step %d: frame step %d, fresh %v, consistent %v, StepCount %d", step, f.Step, fresh, f.Consistent(), s.StepCount())
		}
		if ok, d := sameBits(f.Pos, positions(want)); !ok {
			t.Fatalf("step %d: frame positions: %s", step, d)
		}
		for _, p := range f.Pos {
			if !(p >= 0 && p < 1) {
				t.Fatalf("step %d: position %v outside [0,1)", step, p)
			}
		}
	}
}

// Run on the simulation goroutine while a render goroutine reads frames:
// every frame whole, steps in order, and the last frame the reference's.
func TestSimRunWithReader(t *testing.T) {
	dev := openEmu(t)
	opts := Options{Particles: 200, Seed: 99}
	s := newSim(t, dev, opts)
	const steps = 40
	done := make(chan struct{})
	var wg sync.WaitGroup
	var reads, torn, backwards int
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last uint64
		for {
			select {
			case <-done:
				return
			default:
			}
			f, _ := s.Frames().Read()
			reads++
			if !f.Consistent() {
				torn++
			}
			if f.Step < last {
				backwards++
			}
			last = f.Step
			time.Sleep(100 * time.Microsecond)
		}
	}()
	err := s.Run(context.Background(), steps)
	close(done)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if torn > 0 || backwards > 0 {
		t.Errorf("%d reads: %d torn, %d backwards", reads, torn, backwards)
	}
	want := InitialState(opts.Particles, opts.Seed)
	for range steps {
		want = kernels.ParticlesStep(want, DefaultDt)
	}
	f, _ := s.Frames().Read()
	if f.Step != steps || s.StepCount() != steps {
		t.Fatalf("after Run: frame %d, StepCount %d, want %d", f.Step, s.StepCount(), steps)
	}
	if ok, d := sameBits(f.Pos, positions(want)); !ok {
		t.Errorf("frame %d: %s", steps, d)
	}

	// A done context stops Run before its next step.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx, 0); !errors.Is(err, context.Canceled) || s.StepCount() != steps {
		t.Errorf("Run with a cancelled context: %v, StepCount %d", err, s.StepCount())
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := s.Run(ctx, 0); !errors.Is(err, context.DeadlineExceeded) || s.StepCount() <= steps {
		t.Errorf("Run until a deadline: %v, StepCount %d (was %d)", err, s.StepCount(), steps)
	}
}

func TestOptions(t *testing.T) {
	dev := openEmu(t)
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Particles: 0}, "Particles is 0"},
		{Options{Particles: -5}, "Particles is -5"},
		{Options{Particles: MaxParticles + 1}, "Particles is 1048577; it must be from 1 to 1048576"},
		{Options{Particles: 10, Dt: -0.1}, "Dt is -0.1"},
		{Options{Particles: 10, Dt: float32(math.NaN())}, "Dt is NaN"},
		{Options{Particles: 10, Dt: float32(math.Inf(1))}, "Dt is +Inf"},
		{Options{Particles: 10, Dt: 1.5}, "Dt is 1.5; it must be in (0, 1]"},
	} {
		s, err := New(dev, tc.opts)
		if err == nil || s != nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, %v; want an error with %q", tc.opts, s, err, tc.want)
		}
	}
	if _, err := New(nil, Options{Particles: 1}); err == nil {
		t.Error("New with a nil device: no error")
	}
	s := newSim(t, dev, Options{Particles: 1})
	if got := s.Options().Dt; got != DefaultDt {
		t.Errorf("Dt 0 became %v, want DefaultDt %v", got, DefaultDt)
	}
	if err := s.Step(); err != nil {
		t.Errorf("one particle: %v", err)
	}
	newSim(t, dev, Options{Particles: 1, Dt: MaxDt}) // the bounds themselves are valid
}

func TestClose(t *testing.T) {
	dev := openEmu(t)
	s, err := New(dev, Options{Particles: 64})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Step(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("Close %d: %v", i+1, err)
		}
	}
	if err := s.Step(); !errors.Is(err, ErrClosed) {
		t.Errorf("Step after Close: %v, want ErrClosed", err)
	}
	if err := s.Run(context.Background(), 3); !errors.Is(err, ErrClosed) {
		t.Errorf("Run after Close: %v, want ErrClosed", err)
	}
	if f, _ := s.Frames().Read(); f.Step != 1 || !f.Consistent() || s.StepCount() != 1 {
		t.Errorf("after Close: frame %d, StepCount %d; want the frames kept", f.Step, s.StepCount())
	}

	// A closed device: New fails and leaves nothing behind.
	dev2, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu})
	if err != nil {
		t.Fatal(err)
	}
	if err := dev2.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := New(dev2, Options{Particles: 8}); err == nil || s != nil {
		t.Errorf("New on a closed device: %v, %v", s, err)
	}
}

// InitialState is a pure function of n and the seed, inside the box.
func TestInitialState(t *testing.T) {
	a, b := InitialState(100, 5), InitialState(100, 5)
	if ok, d := sameBits(a, b); !ok {
		t.Fatalf("two calls differ: %s", d)
	}
	if ok, _ := sameBits(a, InitialState(100, 6)); ok {
		t.Error("seeds 5 and 6 give the same state")
	}
	for i := 0; i < len(a); i += 4 {
		x, y, vx, vy := a[i], a[i+1], a[i+2], a[i+3]
		if x < 0.1 || x >= 0.9 || y < 0.1 || y >= 0.9 || vx < -0.25 || vx >= 0.25 || vy < -0.25 || vy >= 0.25 {
			t.Fatalf("particle %d: %v", i/4, a[i:i+4])
		}
	}
}
