package main

// gpubuf bench: the staging ring's throughput by slot size and depth, the
// transfer modes by message size with their crossover x*, and the batch
// kernels' throughput; tables on stdout, a plot with --plot.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpubuf/gpubuf/bench"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/host/kafka"
)

const benchSynopsis = `usage: gpubuf bench [flags]

Measures gpubuf on the device (the emulator unless --backend or
GPUBUF_BACKEND says otherwise), section by section:

  ring      host.Ring, copy only, one producer and one consumer: GB/s and
            batches/s for every --slot-sizes and --depths, and the ring's
            own work per batch: the same ring on streams that do no work
  transfer  a message of each --sizes moved to the device as a pageable copy,
            a page-locked staged copy, or read in place (zero-copy mapped),
            then read by batch_reduce: µs per message and GB/s, and the
            crossover x* from which the staged copy beats zero-copy. On the
            emulator all three are the same memory copy: not applicable
  kernels   the batch kernels, and the producer/consumer pipelines on
            mbarriers (async_pipeline, warp_specialized_barrier), on
            --kernel-bytes of input: lane-instr/s on the emulator, GB/s of
            input on a GPU
  kafka     (only when named) --kafka-records records of 256 bytes from a
            12-partition topic of an in-process three-broker kfake cluster
            through batch_checksum to an output topic, at least once and
            exactly once: records/s end to end, and the ratio to the same
            records through the ring alone, measured in the same run

Sizes take binary suffixes: 4K = 4096, 1M, 1G. Each case runs for
--duration, or exactly --batches repetitions.

exit status: 0 measured; 1 a measurement failed; 2 bad usage or input

flags:
`

// Bench sections, in the order they run.
var benchSections = []string{"ring", "transfer", "kernels"}

// benchOptional are the sections that run only when --section names them.
var benchOptional = []string{"kafka"}

// Defaults: on the emulator on two cores the whole run takes some ten
// seconds.
const (
	benchDefaultSlotSizes = "64K,1M,4M"
	benchDefaultDepths    = "2,4,8"
	benchDefaultSizes     = "4K,16K,64K,256K,1M,4M,16M,64M"
	benchDefaultDuration  = 700 * time.Millisecond
	// kernel input per launch when --kernel-bytes is not given
	benchEmuKernelBytes = 1 << 20
	benchGPUKernelBytes = 64 << 20
	// the largest size any list takes
	benchMaxSize = 1 << 30
)

// benchOpts is a parsed bench command line.
type benchOpts struct {
	sections    map[string]bool
	kafkaRecs   int
	slotSizes   []int
	depths      []int
	streams     int
	sizes       []int
	kernelBytes int // 0: by backend
	budget      bench.Budget
	plotPath    string
	plotFormat  string
	json        bool
	backendName string
}

func benchCmd(args []string, stdout, stderr io.Writer) int {
	o, code := parseBenchFlags(args, stderr)
	if o == nil {
		return code
	}
	var plotFile *os.File // a temporary file beside --plot, renamed onto it at the end
	if o.plotPath != "" {
		// Made before anything is measured, so that a path that cannot be
		// written fails at once; an existing file is replaced only by a
		// finished plot.
		if fi, err := os.Stat(o.plotPath); err == nil && fi.IsDir() {
			return usageFail(stderr, "bench", "--plot %s: is a directory", o.plotPath)
		}
		dir, base := filepath.Split(o.plotPath)
		f, err := os.CreateTemp(dir, "."+base+".*")
		if err != nil {
			return usageFail(stderr, "bench", "--plot %s: cannot write there: %v", o.plotPath, err)
		}
		plotFile = f
		defer func() {
			plotFile.Close()
			os.Remove(plotFile.Name()) // fails harmlessly after the rename
		}()
	}
	// Kernel printf goes to stderr, never into the tables or the JSON.
	dev, err := openDevice(o.backendName, gpu.EmuOptions{Stdout: stderr})
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf bench: %v\n", err)
		return exitUsage
	}
	defer dev.Close()
	if msg := o.checkRingMemory(dev.Info()); msg != "" {
		return usageFail(stderr, "bench", "%s", msg)
	}
	res, err := runBench(dev, o, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf bench: %v\n", err)
		return exitFail
	}
	if plotFile != nil {
		err := bench.Plot(plotFile, o.plotFormat, res)
		if cerr := plotFile.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(plotFile.Name(), 0o644) // CreateTemp makes it 0600
		}
		if err == nil {
			err = os.Rename(plotFile.Name(), o.plotPath)
		}
		if err != nil {
			fmt.Fprintf(stderr, "gpubuf bench: --plot %s: %v\n", o.plotPath, err)
			return exitFail
		}
		if !o.json {
			fmt.Fprintf(stdout, "\nplot: %s (%d panels)\n", o.plotPath, bench.Panels(res))
		}
	}
	if o.json {
		return writeJSON(stdout, stderr, "bench", res)
	}
	return exitOK
}

func parseBenchFlags(args []string, stderr io.Writer) (*benchOpts, int) {
	o := &benchOpts{sections: map[string]bool{}}
	fs := newFlags("bench", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchSynopsis)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.backendName, "backend", "", backendFlagHelp)
	section := fs.String("section", strings.Join(benchSections, ","), "sections to run, comma-separated: ring, transfer, kernels, kafka")
	slotSizes := fs.String("slot-sizes", benchDefaultSlotSizes, "ring: slot sizes, comma-separated `LIST` of byte counts")
	depths := fs.String("depths", benchDefaultDepths, "ring: depths (batches on the device at once), comma-separated `LIST`")
	fs.IntVar(&o.streams, "streams", 2, "ring: streams `N` (at most the depth)")
	sizes := fs.String("sizes", benchDefaultSizes, "transfer: message sizes, comma-separated `LIST` of byte counts (multiples of 4)")
	kernelBytes := fs.String("kernel-bytes", "", "kernels: input `BYTES` per launch, a multiple of 4K (default 1M on the emulator, 64M on a GPU)")
	duration := fs.Duration("duration", benchDefaultDuration, "time `D` per case (ring size and depth, transfer mode and size, kernel)")
	batches := fs.Int("batches", 0, "run exactly `N` repetitions per case (ring batches, messages, launches) instead of --duration")
	fs.IntVar(&o.kafkaRecs, "kafka-records", 100_000, "kafka: records per case")
	fs.StringVar(&o.plotPath, "plot", "", "write a plot of the results to `FILE` (.png or .svg)")
	fs.BoolVar(&o.json, "json", false, "print the results as a JSON object instead of tables")
	bad := func(format string, a ...any) (*benchOpts, int) {
		return nil, usageFail(stderr, "bench", format, a...)
	}
	// A bad flag is one line naming it, not the whole usage; -h prints
	// the usage.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.Usage()
			return nil, exitOK
		}
		return bad("%v", err)
	}
	if fs.NArg() > 0 {
		return bad("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	for _, s := range strings.Split(*section, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(benchSections, s) && !slices.Contains(benchOptional, s) {
			return bad("--section: unknown section %q (want ring, transfer, kernels or kafka)", s)
		}
		o.sections[s] = true
	}
	var err error
	if o.slotSizes, err = parseSizeList(*slotSizes, 1); err != nil {
		return bad("--slot-sizes: %v", err)
	}
	if o.depths, err = parseCountList(*depths); err != nil {
		return bad("--depths: %v", err)
	}
	if o.streams < 1 {
		return bad("--streams %d: must be positive", o.streams)
	}
	if o.sizes, err = parseSizeList(*sizes, 4); err != nil {
		return bad("--sizes: %v", err)
	}
	if *kernelBytes != "" {
		n, err := parseBenchSize(*kernelBytes)
		if err == nil && n%bench.KernelRecordBytes != 0 {
			err = fmt.Errorf("%q: want a multiple of 4K (the records are %d bytes)", *kernelBytes, bench.KernelRecordBytes)
		}
		if err != nil {
			return bad("--kernel-bytes: %v", err)
		}
		o.kernelBytes = n
	}
	if o.kafkaRecs <= 0 || o.kafkaRecs > bench.MaxKafkaRecords {
		return bad("--kafka-records %d: want 1..%d", o.kafkaRecs, bench.MaxKafkaRecords)
	}
	switch {
	case set["batches"] && set["duration"]:
		return bad("--batches and --duration: give one of them")
	case *batches < 0 || set["batches"] && *batches == 0:
		return bad("--batches %d: must be positive", *batches)
	case *duration <= 0:
		return bad("--duration %v: must be positive", *duration)
	case *batches > 0:
		o.budget = bench.Budget{N: *batches}
	default:
		o.budget = bench.Budget{Duration: *duration}
	}
	if o.plotPath != "" {
		if o.plotFormat, err = bench.PlotFormat(o.plotPath); err != nil {
			return bad("--plot: %v", err)
		}
	}
	return o, exitOK
}

// checkRingMemory says which ring case cannot fit the device's memory, or
// "" when every one can. A case of depth D has D slots and D staging
// buffers; the emulator counts its host slots as device memory too.
func (o *benchOpts) checkRingMemory(in gpu.Info) string {
	if !o.sections["ring"] {
		return ""
	}
	perSlot := int64(1)
	if in.Backend == gpu.BackendEmu {
		perSlot = 2
	}
	for _, size := range o.slotSizes {
		for _, depth := range o.depths {
			if need := perSlot * int64(depth) * int64(size); need > in.TotalMemory {
				return fmt.Sprintf("--slot-sizes %s with --depths %d: a ring of %d slots of %s and as many staging buffers needs %s of device memory, more than the %s of the %s; lower --slot-sizes or --depths",
					formatSize(size), depth, depth, formatSize(size), approxBytes(need), approxBytes(in.TotalMemory), in.Name)
			}
		}
	}
	return ""
}

// parseBenchSize reads a positive byte count of at most 1G, written as
// parseSize takes it (4096, 4K, 1M, 1G).
func parseBenchSize(s string) (int, error) {
	n, err := parseSize(s)
	switch {
	case err != nil:
		return 0, err
	case n <= 0:
		return 0, fmt.Errorf("%q: a size must be positive", s)
	case n > benchMaxSize:
		return 0, fmt.Errorf("%q is too large: at most 1G", s)
	}
	return n, nil
}

// parseSizeList reads a comma-separated list of sizes, each a multiple of
// align.
func parseSizeList(s string, align int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := parseBenchSize(f)
		if err != nil {
			return nil, err
		}
		if n%align != 0 {
			return nil, fmt.Errorf("%q: want a multiple of %d bytes", f, align)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseCountList reads a comma-separated list of positive whole numbers.
func parseCountList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		switch {
		case err != nil:
			return nil, fmt.Errorf("%q is not a whole number", f)
		case n <= 0:
			return nil, fmt.Errorf("%q: must be positive", f)
		case n > 1024:
			return nil, fmt.Errorf("%q: at most 1024", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// runBench measures the sections o asks for on dev and, unless o.json,
// prints each section's table as it finishes.
func runBench(dev gpu.Device, o *benchOpts, stdout io.Writer) (bench.Results, error) {
	in := dev.Info()
	res := bench.Results{Device: in.Name, Backend: in.Backend}
	w := stdout
	if o.json {
		w = io.Discard
	}
	fmt.Fprintf(w, "gpubuf bench on the %s (%s backend), %s\n", in.Name, in.Backend, o.budget)
	emu := in.Backend == gpu.BackendEmu

	if o.sections["ring"] {
		fmt.Fprintf(w, "\nring: host.Ring, copy only; one producer, one consumer; slots = depth; up to %d streams\n", o.streams)
		fmt.Fprintf(w, "ring's own: time per batch of the same ring on streams that do no work (the device taken out)\n\n")
		t := newTable("slot size", "depth", "streams", "batches", "bytes", "time", "GB/s", "batches/s", "mean latency", "producer blocked", "per batch", "ring's own").alignRight(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
		for _, size := range o.slotSizes {
			for _, depth := range o.depths {
				r, err := bench.Ring(dev, bench.RingCase{SlotSize: size, Depth: depth, Streams: o.streams, Budget: o.budget})
				if err != nil {
					t.write(w)
					return res, err
				}
				res.Ring = append(res.Ring, r)
				t.add(formatSize(size), depth, r.Streams, r.Batches, r.Bytes, shortDuration(r.Elapsed),
					sig3(r.GBps), fmt.Sprintf("%.0f", r.BatchesPerSec),
					shortDuration(r.MeanLatency), shortDuration(r.ProducerBlocked),
					shortDuration(r.PerBatch), shortDuration(r.OwnPerBatch))
			}
		}
		t.write(w)
	}

	if o.sections["transfer"] {
		fmt.Fprintf(w, "\ntransfer: each message moved to the device, then read by %s (%d-word records)\n\n", bench.ReaderKernel, bench.ReaderRecordWords)
		rep, err := bench.TransferSweep(dev, o.sizes, o.budget)
		res.Transfer = &rep
		if err != nil {
			return res, err
		}
		writeTransfer(w, rep)
	}

	if o.sections["kernels"] {
		size := o.kernelBytes
		if size == 0 {
			size = benchGPUKernelBytes
			if emu {
				size = benchEmuKernelBytes
			}
		}
		how := "GB/s of input, each launch timed by events"
		if emu {
			how = "lane-instructions per second, in the emulator (lockstep)"
		}
		fmt.Fprintf(w, "\nkernels: %s input per launch; %s\n\n", formatSize(size), how)
		ks, err := bench.Kernels(dev, bench.KernelCase{Bytes: size, Budget: o.budget})
		res.Kernels = ks
		if err != nil {
			return res, err
		}
		var t *table
		if emu {
			t = newTable("kernel", "input", "launches", "time/launch", "lane-instr/launch", "lane-instr/s").alignRight(1, 2, 3, 4, 5)
		} else {
			t = newTable("kernel", "input", "launches", "time/launch", "GB/s").alignRight(1, 2, 3, 4)
		}
		for _, k := range ks {
			if emu {
				t.add(k.Kernel, formatSize(k.InputBytes), k.Launches, shortDuration(k.PerLaunch), k.LaneInstr, humanRate(k.LaneInstrPerSec))
			} else {
				t.add(k.Kernel, formatSize(k.InputBytes), k.Launches, shortDuration(k.PerLaunch), sig3(k.GBps))
			}
		}
		t.write(w)
	}

	if o.sections["kafka"] {
		fmt.Fprintf(w, "\nkafka: batch_checksum on 256-byte records, kfake (3 brokers, loopback, in process), 12 partitions, one worker; ring alone: the same records and kernel through host.Pipeline\n\n")
		t := newTable("delivery", "records", "time", "records/s", "ring alone", "ratio", "commits").alignRight(1, 2, 3, 4, 5, 6)
		for _, d := range []kafka.Delivery{kafka.AtLeastOnce, kafka.ExactlyOnce} {
			r, err := bench.Kafka(dev, bench.KafkaCase{Records: o.kafkaRecs, Delivery: d})
			if err != nil {
				t.write(w)
				return res, err
			}
			res.Kafka = append(res.Kafka, r)
			t.add(r.Delivery, r.Records, fmt.Sprintf("%.3f s", r.Seconds), humanRate(r.RecordsPerSec), humanRate(r.RingRecordsPerSec), fmt.Sprintf("%.2f", r.Ratio), r.Commits)
		}
		t.write(w)
	}
	return res, nil
}

// writeTransfer prints the transfer table and x*, or that the modes do
// not apply.
func writeTransfer(w io.Writer, rep bench.TransferReport) {
	if rep.NA != "" {
		t := newTable("mode", "result")
		for _, m := range bench.Modes() {
			t.add(m, rep.NA)
		}
		t.write(w)
		fmt.Fprintf(w, "\nx*: not measured (%s)\n", rep.NA)
		return
	}
	header := []string{"message"}
	for _, m := range bench.Modes() {
		header = append(header, m.String()+" µs", m.String()+" GB/s")
	}
	t := newTable(header...).alignRight(0, 1, 2, 3, 4, 5, 6)
	var skipped []string
	for _, size := range rep.Sizes {
		row := []any{formatSize(size)}
		for _, m := range bench.Modes() {
			r, ok := rep.Result(m, size)
			switch {
			case !ok:
				row = append(row, "-", "-")
			case r.Skipped:
				row = append(row, "skipped", "-")
				if len(skipped) == 0 {
					skipped = append(skipped, fmt.Sprintf("%s skipped: %s", m, r.Reason))
				}
			default:
				row = append(row, sig3(r.Micros()), sig3(r.GBps))
			}
		}
		t.add(row...)
	}
	t.write(w)
	fmt.Fprintln(w)
	for _, s := range skipped {
		fmt.Fprintln(w, s)
	}
	c := rep.Crossover
	switch {
	case c.Found && c.AtSmallest:
		fmt.Fprintf(w, "x* <= %s: the staged copy beats zero-copy at every size measured\n", bench.SizeString(c.Size))
	case c.Found:
		fmt.Fprintf(w, "x* = %s: the staged copy beats zero-copy from %s up\n", bench.SizeString(c.Size), bench.SizeString(c.Size))
	default:
		fmt.Fprintf(w, "x*: %s\n", c.Why)
	}
}

// sig3 writes x with three significant digits, or as a whole number from
// 100 up.
func sig3(x float64) string {
	if math.Abs(x) >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	return strconv.FormatFloat(x, 'g', 3, 64)
}

// shortDuration rounds d to about four significant digits.
func shortDuration(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	unit := time.Duration(math.Pow(10, math.Floor(math.Log10(float64(d)))-3))
	return d.Round(max(unit, 1)).String()
}
