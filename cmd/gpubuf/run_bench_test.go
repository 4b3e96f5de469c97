package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/host"
)

// BenchmarkRunVsDirect measures gpubuf run's cost per 32-bit word of
// input through batch_reduce, against direct launches of the same kernel
// on the same bytes, in the same run, and reports both and their ratio,
// run/direct.
//
// The run path is the command itself (runCmd, its defaults: 1 MiB slots,
// 4 slots, 2 streams; synthetic records), timed by its own elapsed time
// (the ring's, from its start to its close: the device and the modules are
// opened before). The direct launches queue one launch per slot's worth of
// whole records, back to back on one stream, over one device buffer, and
// wait for the last: the kernel's work alone, with no copies, no ring and
// no records to make. Their shape is the one gpubuf bench gives the
// kernels it measures on the emulator: 256 threads a block, a warp a
// record, at most 8 blocks.
// The two take turns, each round 25.6 MB of records (100000 of 256 bytes,
// run's default).
func BenchmarkRunVsDirect(b *testing.B) {
	const total = 25_600_000
	for _, rec := range []int{256, 4096} {
		b.Run(fmt.Sprintf("batch_reduce/record=%d", rec), func(b *testing.B) {
			b.StopTimer()
			records := total / rec
			words := float64(records * rec / 4)
			args := []string{"--kernel", "batch_reduce", "--records", strconv.Itoa(records), "--record-size", strconv.Itoa(rec), "--progress", "never", "--json"}
			var runTime, directTime time.Duration
			for range b.N {
				var out strings.Builder
				b.StartTimer()
				code := runCmd(args, nil, &out, io.Discard)
				b.StopTimer()
				if code != exitOK {
					b.Fatalf("gpubuf run %s: exit %d", strings.Join(args, " "), code)
				}
				var s runSummary
				if err := json.Unmarshal([]byte(out.String()), &s); err != nil {
					b.Fatal(err)
				}
				if s.Records != uint64(records) || s.Failed != 0 {
					b.Fatalf("gpubuf run: %d records, %d failed batches", s.Records, s.Failed)
				}
				runTime += time.Duration(s.ElapsedSec * float64(time.Second))
				directTime += directReduce(b, records, rec)
			}
			runNs := float64(runTime.Nanoseconds()) / float64(b.N) / words
			directNs := float64(directTime.Nanoseconds()) / float64(b.N) / words
			b.ReportMetric(runNs, "run-ns/word")
			b.ReportMetric(directNs, "direct-ns/word")
			b.ReportMetric(runNs/directNs, "run/direct")
		})
	}
}

// directReduce launches batch_reduce over records records of rec bytes,
// a 1 MiB slot's worth of whole records a launch, and returns the time
// from the first launch to the end of the last.
func directReduce(b *testing.B, records, rec int) time.Duration {
	dev, err := openDevice("", gpu.EmuOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Close()
	spec, err := host.BatchKernel("batch_reduce")
	if err != nil {
		b.Fatal(err)
	}
	m, err := dev.LoadModule(spec.Spec.Name, spec.Spec.PTX)
	if err != nil {
		b.Fatal(err)
	}
	k, err := m.Kernel(spec.Spec.Name)
	if err != nil {
		b.Fatal(err)
	}
	perLaunch := (1 << 20) / rec
	in, err := dev.Alloc(perLaunch * rec)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, perLaunch*rec)
	for i := range perLaunch {
		synthRecord(buf[i*rec:(i+1)*rec], 1, uint64(i))
	}
	if err := in.CopyFromHost(0, buf); err != nil {
		b.Fatal(err)
	}
	out, err := dev.Alloc(12 * perLaunch)
	if err != nil {
		b.Fatal(err)
	}
	st, err := dev.NewStream()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for left := records; left > 0; left -= perLaunch {
		n := min(left, perLaunch)
		grid := max(1, min((n+7)/8, 8)) // 8 warps (records) a block
		cfg := gpu.LaunchConfig{Grid: gpu.D1(uint32(grid)), Block: gpu.D1(256)}
		if err := st.Launch(k, cfg, in, out, uint32(n), uint32(rec/4)); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Synchronize(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}
