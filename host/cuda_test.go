//go:build cuda

package host

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
	_ "github.com/gpubuf/gpubuf/gpu/cuda"
)

// These run only in a cuda-tagged build, which starts only where a GPU
// answers (gorgonia.org/cu exits in its init otherwise): test.sh runs them
// there.

func openCUDA(tb testing.TB) gpu.Device {
	tb.Helper()
	dev, err := gpu.Open(gpu.Options{Backend: gpu.BackendCUDA})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { dev.Close() })
	return dev
}

// TestPipelineOnCUDA runs every batch kernel through the ring on the GPU,
// staged and zero-copy, against the Go references.
func TestPipelineOnCUDA(t *testing.T) {
	dev := openCUDA(t)
	for _, k := range BatchKernels() {
		for _, zc := range []bool{false, true} {
			const recSize, nrec = 256, 4096
			in := records(5, nrec, recSize)
			p, err := NewPipeline(dev, PipelineOptions{Stages: []KernelSpec{k.Spec}, RecordSize: recSize, SlotSize: 64 << 10, ZeroCopy: zc, Slots: 4, Streams: 2})
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				if err := p.Push(context.Background(), in); err != nil {
					t.Error(err)
				}
				p.Close()
			}()
			per := (64 << 10) / recSize
			n := 0
			for r := range p.Results() {
				if r.Err != nil {
					t.Fatalf("%s zero-copy=%v: %v", k.Spec.Name, zc, r.Err)
				}
				lo := int(r.FirstRecord) * recSize
				if want := k.Reference(in[lo:lo+r.Records*recSize], recSize); !bytes.Equal(r.Out, want) {
					t.Fatalf("%s zero-copy=%v: batch %d differs from the Go reference", k.Spec.Name, zc, r.Seq)
				}
				n++
			}
			if n != nrec/per {
				t.Fatalf("%s: %d results, want %d", k.Spec.Name, n, nrec/per)
			}
		}
	}
}

// BenchmarkRingH2DvsMemcpyCUDA compares host-to-device bandwidth through
// the ring (copy only, nothing filled, a consumer that discards) with a
// plain synchronous cuMemcpyHtoD from page-locked memory, in one run:
// ring-GB/s, memcpy-GB/s and their ratio (the goal is >= 0.9).
func BenchmarkRingH2DvsMemcpyCUDA(b *testing.B) {
	dev := openCUDA(b)
	for _, slot := range []int{1 << 20, 4 << 20} {
		b.Run(fmt.Sprintf("%dMiB", slot>>20), func(b *testing.B) {
			const batches = 256
			src, err := dev.AllocHost(slot, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer src.Free()
			dst, err := dev.Alloc(slot)
			if err != nil {
				b.Fatal(err)
			}
			defer dst.Free()
			var memcpyNs, ringNs int64
			for range b.N {
				memcpyNs += elapsedNs(func() {
					for range batches {
						if err := dst.CopyFromHost(0, src.Bytes()); err != nil {
							b.Fatal(err)
						}
					}
				})
				r, err := NewRing(dev, RingOptions{Slots: 4, SlotSize: slot, Streams: 2})
				if err != nil {
					b.Fatal(err)
				}
				ringNs += elapsedNs(func() {
					go func() {
						for i := range batches {
							s, err := r.Acquire(context.Background())
							if err != nil {
								b.Error(err)
								return
							}
							r.Submit(s, slot, uint64(i))
						}
						r.Close()
					}()
					for {
						if _, err := r.Next(context.Background()); err != nil {
							break
						}
					}
				})
			}
			bytes := float64(b.N) * batches * float64(slot)
			ring, memcpy := bytes/float64(ringNs), bytes/float64(memcpyNs)
			b.ReportMetric(ring, "ring-GB/s")
			b.ReportMetric(memcpy, "memcpy-GB/s")
			b.ReportMetric(ring/memcpy, "ring/memcpy")
		})
	}
}

func elapsedNs(f func()) int64 {
	start := time.Now()
	f()
	return time.Since(start).Nanoseconds()
}
