//go:build cuda

package cuda

// The cost of a launch of an empty kernel, as this package makes it (the
// calling goroutine's own thread, with the context pushed for the call and
// popped after it: see Device) and as gorgonia.org/cu's Ctx makes it
// (every call sent over a channel to the one goroutine that holds the
// context). Run on a machine with a GPU:
//
//	go test -tags cuda -run '^$' -bench Launch ./gpu/cuda
//
// Each reports ns/launch. The queue is drained every launchBatch launches,
// so that what is measured is the cost of queueing a launch, not the GPU's
// rate of running them; the serial benchmarks stop the timer for it, the
// parallel ones (goroutines launching into streams of their own) cannot,
// and include it.

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/gpubuf/gpubuf/gpu"
	"gorgonia.org/cu"
)

const emptyPTX = `.version 7.0
.target sm_70
.address_size 64

.visible .entry empty()
{
	ret;
}
`

const launchBatch = 512

func reportPerLaunch(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/launch")
}

func BenchmarkLaunch(b *testing.B) {
	dev, err := Open(gpu.Options{Ordinal: 0})
	if err != nil {
		b.Fatal(err)
	}
	d := dev.(*Device)
	defer d.Close()
	m, err := d.LoadModule("empty.ptx", []byte(emptyPTX))
	if err != nil {
		b.Fatal(err)
	}
	k, err := m.Kernel("empty")
	if err != nil {
		b.Fatal(err)
	}
	cfg := gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(32)}

	// Through the gpu API: Stream.Launch with its checks.
	b.Run("gpu.Stream", func(b *testing.B) {
		st, err := d.NewStream()
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := st.Launch(k, cfg); err != nil {
				b.Fatal(err)
			}
			if i%launchBatch == launchBatch-1 {
				b.StopTimer()
				if err := st.Synchronize(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		}
		b.StopTimer()
		reportPerLaunch(b)
	})

	// The bare driver call on the caller's locked thread, as Device.do
	// makes every call: the threading cost alone, without the API's
	// checks.
	b.Run("locked-thread", func(b *testing.B) {
		st, err := d.NewStream()
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		s := st.(*Stream)
		fn := k.(*Kernel).fn.f
		launch := func() error { return fn.Launch(1, 1, 1, 32, 1, 1, 0, s.st, nil) }
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := d.do(launch); err != nil {
				b.Fatal(err)
			}
			if i%launchBatch == launchBatch-1 {
				b.StopTimer()
				if err := st.Synchronize(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		}
		b.StopTimer()
		reportPerLaunch(b)
	})

	// Many goroutines, each with a stream of its own.
	b.Run("gpu.Stream-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			st, err := d.NewStream()
			if err != nil {
				b.Error(err)
				return
			}
			defer st.Close()
			for i := 0; pb.Next(); i++ {
				if err := st.Launch(k, cfg); err != nil {
					b.Error(err)
					return
				}
				if i%launchBatch == launchBatch-1 {
					st.Synchronize()
				}
			}
		})
		reportPerLaunch(b)
	})

	// gorgonia.org/cu's Ctx: a channel round trip per call. It needs a
	// context of its own, which a GPU in exclusive-process mode refuses
	// while the device holds the primary one.
	if d.kind == primaryContext {
		b.Skipf("the GPU is in %s: no second context for cu.Ctx", computeModeName(d.mode))
	}
	ctx, fn, st := newCuCtx(b)
	defer func() {
		ctx.DestroyStream(&st)
		ctx.Close()
	}()
	b.Run("cu.Ctx", func(b *testing.B) {
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			ctx.LaunchKernel(fn, 1, 1, 1, 32, 1, 1, 0, st, nil)
			if err := ctx.Error(); err != nil {
				b.Fatal(err)
			}
			if i%launchBatch == launchBatch-1 {
				b.StopTimer()
				ctx.SynchronizeStream(st)
				if err := ctx.Error(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		}
		b.StopTimer()
		reportPerLaunch(b)
	})

	// cu.Ctx from many goroutines, each with a stream of its own: they all
	// queue on the context's one goroutine. (Ctx.LaunchKernel keeps its
	// error in a field of the Ctx, which goroutines would race on, so
	// each launch goes through Ctx.Do, the same channel round trip.)
	b.Run("cu.Ctx-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			var s cu.Stream
			if err := ctx.Do(func() error {
				var err error
				s, err = cu.MakeStream(cu.NonBlocking)
				return err
			}); err != nil {
				b.Error(err)
				return
			}
			defer ctx.Do(s.Destroy)
			launch := func() error { return fn.Launch(1, 1, 1, 32, 1, 1, 0, s, []unsafe.Pointer{}) }
			for i := 0; pb.Next(); i++ {
				if err := ctx.Do(launch); err != nil {
					b.Error(err)
					return
				}
				if i%launchBatch == launchBatch-1 {
					ctx.Do(s.Synchronize)
				}
			}
		})
		reportPerLaunch(b)
	})
}

// newCuCtx makes a cu.Ctx on GPU 0 with the empty kernel loaded and a
// non-blocking stream.
func newCuCtx(b *testing.B) (*cu.Ctx, cu.Function, cu.Stream) {
	dev, err := cu.GetDevice(0)
	if err != nil {
		b.Fatal(err)
	}
	// cu.NewContext creates the context on this thread (where it stays
	// current, pushed over whatever was) before its own goroutine makes
	// it current there: pop it here, on the same thread, so that this
	// goroutine's thread is left as it was.
	runtime.LockOSThread()
	ctx := cu.NewContext(dev, cu.SchedBlockingSync|cu.MapHost) // as Device makes its own
	_, err = cu.PopCurrentCtx()
	runtime.UnlockOSThread()
	if err != nil {
		b.Fatal(err)
	}
	var mod cu.Module
	if err := ctx.Do(func() error {
		var err error
		mod, err = cu.LoadData(emptyPTX)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	fn, err := ctx.ModuleFunction(mod, "empty")
	if err != nil {
		b.Fatal(err)
	}
	st, err := ctx.MakeStream(cu.NonBlocking)
	if err != nil {
		b.Fatal(err)
	}
	return ctx, fn, st
}
