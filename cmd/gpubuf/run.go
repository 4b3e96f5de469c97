package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/host"
)

// runOpts are gpubuf run's settings.
type runOpts struct {
	kernels    []string // the stages, by name (embedded batch kernels, or the entry of --ptx)
	ptx        string   // a user PTX file holding the one stage
	unit       int      // --ptx: 1 or 4
	outPerRec  int      // --ptx
	outPerBat  int      // --ptx
	zeroOut    bool     // --ptx
	records    int      // synthetic records; with --input, the most to read
	recordsSet bool     // --records was given
	recordSize int
	seed       uint64
	input      string // a file of records, or "-" for stdin
	slotSize   int
	slots      int
	depth      int
	streams    int
	zeroCopy   bool
	unordered  bool
	onError    host.ErrorPolicy
	verify     bool
	progress   string // auto, always, never
	backend    string
	asJSON     bool
}

const runUsage = `usage: gpubuf run [flags]

Runs a batch pipeline: fixed-size records, generated (--records, --seed) or
read from --input FILE or - (stdin), go through the staging ring into the
batch kernels --kernel names (or the entry of a --ptx file), and the ring's
stats are printed. --verify checks every result against the kernels' Go
references.

With --kafka BROKERS --topic IN --out-topic OUT [--group G] it is a
worker of a Kafka consumer group instead: the records are the topic's
(a value of another size than --record-size goes to --dlq-topic), the
results go to OUT, and it runs until SIGINT or SIGTERM (drain, commit,
leave the group) or --exit-when-idle. --kafka embedded starts an
in-process cluster with a generated input topic.

exit status: 0 every batch ran (and matched, with --verify); 1 a batch
failed or differs from its reference; 2 bad usage or input
`

func runCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("run", stderr)
	var o runOpts
	kernelList := fs.String("kernel", "batch_checksum", "the batch kernels each batch runs through, comma-separated, in order ("+strings.Join(host.BatchKernelNames(), ", ")+"); with --ptx, the entry to run")
	fs.StringVar(&o.ptx, "ptx", "", "a PTX file whose entry --kernel is a batch kernel (in, out, nrec, rec); needs --unit and --out-per-record or --out-per-batch")
	fs.IntVar(&o.unit, "unit", 0, "--ptx: the unit of the kernel's rec parameter in bytes: 1 or 4")
	fs.IntVar(&o.outPerRec, "out-per-record", 0, "--ptx: output bytes per record")
	fs.IntVar(&o.outPerBat, "out-per-batch", 0, "--ptx: output bytes per batch")
	fs.BoolVar(&o.zeroOut, "zero-out", false, "--ptx: zero the output before each launch (accumulating kernels)")
	fs.IntVar(&o.records, "records", 100000, "number of records: those the generator makes, or with --input the most to read (default: the whole input)")
	recSize := &sizeFlag{256}
	fs.Var(recSize, "record-size", "bytes per record (K, M suffixes allowed)")
	fs.Uint64Var(&o.seed, "seed", 1, "synthetic source: seed of the record generator")
	fs.StringVar(&o.input, "input", "", "read fixed-size records from this file, or - for stdin, instead of generating them")
	slotSize := &sizeFlag{1 << 20}
	fs.Var(slotSize, "slot-size", "bytes per ring slot; a batch is the whole records that fit")
	fs.IntVar(&o.slots, "slots", 4, "ring slots (page-locked host buffers)")
	fs.IntVar(&o.depth, "depth", 0, "batches on the device at once (default: --slots)")
	fs.IntVar(&o.streams, "streams", 0, "streams `N` the batches are spread over, at most one per batch on the device (default: host's, 2 or the depth when it is smaller)")
	fs.BoolVar(&o.zeroCopy, "zero-copy", false, "kernels read the mapped slots directly instead of staged copies")
	fs.BoolVar(&o.unordered, "unordered", false, "take results as they finish, not in submission order")
	onError := fs.String("on-error", "continue", "after a failed batch: continue (serve the rest) or stop")
	fs.BoolVar(&o.verify, "verify", false, "check every result against the kernels' Go references")
	fs.StringVar(&o.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
	fs.StringVar(&o.backend, "backend", "", backendFlagHelp)
	fs.BoolVar(&o.asJSON, "json", false, "print the stats as a JSON object")
	kafkaFlags := addKafkaFlags(fs)
	setUsage(fs, runUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	o.recordSize, o.slotSize = recSize.n, slotSize.n
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "gpubuf run: "+format+"\n", a...)
		return exitUsage
	}
	if strayArg(fs, "run", stderr) {
		return exitUsage
	}
	for _, k := range strings.Split(*kernelList, ",") {
		if k = strings.TrimSpace(k); k != "" {
			o.kernels = append(o.kernels, k)
		}
	}
	switch *onError {
	case "continue":
		o.onError = host.Continue
	case "stop":
		o.onError = host.Stop
	default:
		return fail("--on-error %q: want continue or stop", *onError)
	}
	switch o.progress {
	case "auto", "always", "never":
	default:
		return fail("--progress %q: want auto, always or never", o.progress)
	}
	// The batches on the device at once, and the streams for them. Without
	// --streams the ring picks them as the API does (host.RingOptions:
	// two, fewer for a smaller depth); more than the depth, asked for, is
	// an error that names the flag.
	depth := o.depth
	if depth == 0 {
		depth = o.slots
	}
	streamsSet := false
	fs.Visit(func(f *flag.Flag) {
		streamsSet = streamsSet || f.Name == "streams"
		o.recordsSet = o.recordsSet || f.Name == "records"
	})
	switch {
	case len(o.kernels) == 0:
		return fail("--kernel: name at least one kernel")
	case o.recordSize <= 0:
		return fail("--record-size %d: must be positive", o.recordSize)
	case o.slotSize <= 0:
		return fail("--slot-size %d: must be positive", o.slotSize)
	case o.slotSize < o.recordSize:
		return fail("--slot-size %d is smaller than one %d-byte record (--record-size)", o.slotSize, o.recordSize)
	case (o.input == "" || o.recordsSet) && o.records <= 0:
		return fail("--records %d: must be positive", o.records)
	case o.slots <= 0 || o.slots > host.MaxSlots:
		return fail("--slots %d: want 1..%d", o.slots, host.MaxSlots)
	case o.depth < 0 || o.depth > host.MaxSlots:
		return fail("--depth %d: want 1..%d", o.depth, host.MaxSlots)
	case streamsSet && o.streams <= 0:
		return fail("--streams %d: must be positive", o.streams)
	case o.streams > depth:
		return fail("--streams %d: at most one stream per batch on the device (--depth, default --slots: %d)", o.streams, depth)
	case o.ptx != "" && len(o.kernels) != 1:
		return fail("--ptx runs one kernel: --kernel names its entry")
	case o.ptx != "" && o.verify:
		return fail("--verify needs the Go references of the embedded kernels; a --ptx kernel has none")
	}
	stages, refs, err := o.stages()
	if err != nil {
		return fail("%v", err)
	}
	if kafkaFlags.metrics != "" && kafkaFlags.brokers == "" {
		return fail("--metrics %s: it serves a Kafka worker's metrics; give --kafka", kafkaFlags.metrics)
	}
	if kafkaFlags.brokers != "" {
		return runKafka(o, kafkaFlags, fs, stages, refs, stdout, stderr)
	}
	src, err := openSource(o, stdin)
	if err != nil {
		return fail("%v", err)
	}
	defer src.close()

	// The kernels' printf goes to stderr, never into the stats (or the
	// JSON) on stdout. The emulator writes it once per launch, and one
	// device's launches never write at once.
	dev, err := runDevice(o.backend, gpu.EmuOptions{Stdout: stderr})
	if err != nil {
		return fail("%v", err)
	}
	defer dev.Close()
	// A ring that cannot fit is refused before anything is allocated.
	if msg := o.checkMemory(stages, dev.Info()); msg != "" {
		return fail("%s", msg)
	}
	order := host.Ordered
	if o.unordered {
		order = host.Unordered
	}
	p, err := host.NewPipeline(dev, host.PipelineOptions{
		Stages: stages, RecordSize: o.recordSize, SlotSize: o.slotSize,
		Slots: o.slots, Depth: o.depth, Streams: o.streams,
		ZeroCopy: o.zeroCopy, Order: order, OnError: o.onError,
	})
	var ge *gpu.Error
	if errors.As(err, &ge) && strings.HasPrefix(ge.Op, "alloc") {
		return fail("%s: the ring does not fit: %v", o.ringFlags(), err)
	}
	if err != nil {
		return fail("%v", err)
	}
	bar := newProgress(o, src.total, "records", stderr)

	// The producer: fill slots straight from the source. With --verify it
	// keeps each batch's input until its result has been checked.
	var (
		inputsMu sync.Mutex
		inputs   = map[uint64][]byte{}
	)
	prodErr := make(chan error, 1)
	go func() {
		var next uint64
		var err error
		for err == nil {
			var nrec int
			err = p.Fill(context.Background(), 0, func(buf []byte) (int, error) {
				n, err := src.read(buf, o.recordSize)
				if n > 0 && o.verify {
					inputsMu.Lock()
					inputs[next] = bytes.Clone(buf[:n*o.recordSize])
					inputsMu.Unlock()
				}
				nrec = n
				return n, err
			})
			next += uint64(nrec)
			if nrec == 0 && err == nil {
				break // the source is done
			}
		}
		prodErr <- errors.Join(err, p.Close())
	}()

	var sum runSummary
	sum.Kernels = o.kernels
	for res := range p.Results() {
		sum.Batches++
		sum.Records += uint64(res.Records)
		if res.Err != nil {
			sum.Failed++
			if sum.FirstError == "" {
				sum.FirstError = res.Err.Error()
			}
		} else if o.verify {
			inputsMu.Lock()
			in := inputs[res.FirstRecord]
			delete(inputs, res.FirstRecord)
			inputsMu.Unlock()
			if want := refs(in); !bytes.Equal(res.Out, want) {
				sum.Mismatches++
				if sum.FirstMismatch == "" {
					sum.FirstMismatch = fmt.Sprintf("batch %d (records %d..%d): %s", res.Seq, res.FirstRecord, res.FirstRecord+uint64(res.Records)-1, firstDiff(res.Out, want))
				}
			} else {
				sum.Verified++
			}
		}
		bar.add(res.Records)
	}
	perr := <-prodErr
	bar.finish()
	var inputErr *sourceError
	if errors.As(perr, &inputErr) {
		fmt.Fprintf(stderr, "gpubuf run: %v\n", inputErr)
		return exitUsage
	}
	st := p.Stats()
	sum.fill(st, dev.Info(), o)
	if o.asJSON {
		if code := writeJSON(stdout, stderr, "run", sum); code != exitOK {
			return code
		}
	} else {
		sum.write(stdout)
	}
	switch {
	case perr != nil:
		fmt.Fprintf(stderr, "gpubuf run: %v\n", perr)
		return exitFail
	case sum.Failed > 0:
		fmt.Fprintf(stderr, "gpubuf run: %d batch(es) failed; the first: %s\n", sum.Failed, sum.FirstError)
		return exitFail
	case sum.Mismatches > 0:
		fmt.Fprintf(stderr, "gpubuf run: %d batch(es) differ from the Go reference; the first: %s\n", sum.Mismatches, sum.FirstMismatch)
		return exitFail
	}
	return exitOK
}

// batchKernel looks up an embedded batch kernel; tests replace it to
// break a reference on purpose.
var batchKernel = host.BatchKernel

// runDevice opens run's device; tests replace it.
var runDevice = openDevice

// ringFlags names the flags that size the ring, with their values.
func (o runOpts) ringFlags() string {
	depth := fmt.Sprint(o.depth)
	if o.depth == 0 {
		depth = fmt.Sprintf("%d (--slots)", o.slots)
	}
	return fmt.Sprintf("--slots %d, --slot-size %s, --depth %s", o.slots, formatSize(o.slotSize), depth)
}

// checkMemory says, when they cannot fit, how many bytes of the device's
// memory the ring's slots and frames need; "" when they can. A frame is
// a batch on the device: its staging buffer (none in zero-copy mode) and
// every stage's output, and the last output's host copy. The emulator
// counts host memory as device memory (gpu/emu), so there the slots and
// the host copies count too.
func (o runOpts) checkMemory(stages []host.KernelSpec, in gpu.Info) string {
	hostCounts := in.Backend == gpu.BackendEmu
	depth := int64(o.depth)
	if depth == 0 {
		depth = int64(o.slots)
	}
	slotSize := int64(o.slotSize)
	perSlot := slotSize / int64(o.recordSize)
	var frame int64
	if !o.zeroCopy {
		frame = slotSize
	}
	rec := int64(o.recordSize)
	for i, s := range stages {
		outPerRec := int64(s.OutPerRecord)
		if outPerRec < 0 { // as big as its input records (host.KernelSpec)
			outPerRec = rec
		}
		out := max(1, addSat(mulSat(perSlot, outPerRec), int64(s.OutPerBatch)))
		frame = addSat(frame, out)
		if i == len(stages)-1 && hostCounts {
			frame = addSat(frame, out)
		}
		rec = outPerRec
	}
	need := mulSat(depth, frame)
	var slots int64
	if hostCounts {
		slots = mulSat(int64(o.slots), slotSize)
		need = addSat(need, slots)
	}
	if need <= in.TotalMemory {
		return ""
	}
	what := fmt.Sprintf("%d frames of %s (per batch on the device: a staging buffer and the kernels' outputs)", depth, approxBytes(frame))
	if hostCounts {
		what = fmt.Sprintf("%s of slots (the emulator counts host memory as device memory) and %s", approxBytes(slots), what)
	}
	return fmt.Sprintf("%s: the ring needs %s, more than the %s of the %s: %s; lower --slots, --slot-size or --depth",
		o.ringFlags(), approxBytes(need), approxBytes(in.TotalMemory), in.Name, what)
}

// approxBytes writes a byte count for people: "512 bytes", "1.5 MiB",
// "9.9 GiB".
func approxBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// mulSat and addSat are a*b and a+b for non-negative a and b, or
// math.MaxInt64 when that overflows.
func mulSat(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// stages resolves the --kernel list (or --ptx) into pipeline stages, and,
// for embedded kernels, the composed Go reference of a batch.
func (o runOpts) stages() ([]host.KernelSpec, func([]byte) []byte, error) {
	if o.ptx != "" {
		b, err := readFileLimit(o.ptx, maxPTXFileBytes)
		if err != nil {
			return nil, nil, fmt.Errorf("--ptx: %v", err)
		}
		if o.unit != 1 && o.unit != 4 {
			return nil, nil, fmt.Errorf("--unit %d: want 1 (the kernel counts bytes) or 4 (32-bit words)", o.unit)
		}
		if o.outPerRec < 0 || o.outPerBat < 0 || o.outPerRec+o.outPerBat == 0 {
			return nil, nil, fmt.Errorf("--out-per-record %d, --out-per-batch %d: give the kernel's output size (non-negative, not both 0)", o.outPerRec, o.outPerBat)
		}
		for _, f := range []struct {
			name string
			n    int
		}{{"--out-per-record", o.outPerRec}, {"--out-per-batch", o.outPerBat}} {
			if f.n > maxBufBytes {
				return nil, nil, fmt.Errorf("%s %d: want at most %d bytes", f.name, f.n, int64(maxBufBytes))
			}
		}
		spec := host.KernelSpec{Name: o.kernels[0], PTX: b, Unit: o.unit, OutPerRecord: o.outPerRec, OutPerBatch: o.outPerBat, ZeroOut: o.zeroOut}
		return []host.KernelSpec{spec}, nil, nil
	}
	var specs []host.KernelSpec
	var infos []host.BatchKernelInfo
	rec := o.recordSize
	recs := []int{}
	for i, name := range o.kernels {
		k, err := batchKernel(name)
		if err != nil {
			return nil, nil, fmt.Errorf("--kernel: %v", err)
		}
		if k.Spec.Unit == 4 && rec%4 != 0 {
			return nil, nil, fmt.Errorf("--kernel %s counts 32-bit words: its records of %d bytes are not a multiple of 4", name, rec)
		}
		if i+1 < len(o.kernels) && k.Spec.OutPerBatch != 0 {
			return nil, nil, fmt.Errorf("--kernel %s writes one output per batch, not records: only the last kernel may", name)
		}
		specs = append(specs, k.Spec)
		infos = append(infos, k)
		recs = append(recs, rec)
		if k.Spec.OutPerRecord > 0 {
			rec = k.Spec.OutPerRecord
		}
	}
	ref := func(in []byte) []byte {
		for i, k := range infos {
			in = k.Reference(in, recs[i])
		}
		return in
	}
	return specs, ref, nil
}

// firstDiff describes where got first differs from want.
func firstDiff(got, want []byte) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d bytes of output, want %d", len(got), len(want))
	}
	for i := 0; i+4 <= len(got); i += 4 {
		g, w := binary.LittleEndian.Uint32(got[i:]), binary.LittleEndian.Uint32(want[i:])
		if g != w {
			return fmt.Sprintf("word %d is %#x, want %#x", i/4, g, w)
		}
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Sprintf("byte %d is %#x, want %#x", i, got[i], want[i])
		}
	}
	return "no difference"
}

// sourceError is a problem with the input, not with the pipeline: exit 2.
type sourceError struct{ msg string }

func (e *sourceError) Error() string { return e.msg }

// source yields records: generated, or read from a file or stdin.
type source struct {
	name   string
	r      io.Reader
	f      *os.File
	total  int64 // records, or -1 when unknown (stdin)
	left   int64 // records still to make or read; -1: read to the end
	next   uint64
	seed   uint64
	rs     int
	nbytes int64 // read so far
}

func openSource(o runOpts, stdin io.Reader) (*source, error) {
	s := &source{rs: o.recordSize, seed: o.seed, left: -1}
	if o.input == "" || o.recordsSet {
		s.left = int64(o.records)
	}
	switch o.input {
	case "":
		s.name, s.total = "synthetic", int64(o.records)
		return s, nil
	case "-":
		s.name, s.r, s.total = "stdin", stdin, -1
		return s, nil
	}
	f, err := os.Open(o.input)
	if err != nil {
		return nil, fmt.Errorf("--input: %v", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("--input: %v", err)
	}
	s.name, s.r, s.f, s.total = o.input, f, f, -1
	if fi.Mode().IsRegular() {
		size, rs := fi.Size(), int64(o.recordSize)
		if size == 0 {
			f.Close()
			return nil, fmt.Errorf("--input %s is empty: no records", o.input)
		}
		s.total = size / rs
		// A part record at the end is an error only if it would be read.
		if size%rs != 0 && (s.left < 0 || s.left > s.total) {
			f.Close()
			return nil, fmt.Errorf("--input %s: %d bytes is not a whole number of %d-byte records (%d bytes left over)", o.input, size, o.recordSize, size%rs)
		}
		if s.left >= 0 {
			s.total = min(s.total, s.left)
		}
	}
	return s, nil
}

func (s *source) close() {
	if s.f != nil {
		s.f.Close()
	}
}

// read fills buf with whole records and says how many; 0 and no error at
// the end: the end of the input, or the --records limit, past which
// nothing is read (/dev/zero never ends).
func (s *source) read(buf []byte, rs int) (int, error) {
	max := len(buf) / rs
	if s.left >= 0 {
		max = int(min(int64(max), s.left))
	}
	if s.r == nil {
		for i := range max {
			synthRecord(buf[i*rs:(i+1)*rs], s.seed, s.next)
			s.next++
		}
		s.left -= int64(max)
		return max, nil
	}
	if max == 0 {
		return 0, nil
	}
	n, err := io.ReadFull(s.r, buf[:max*rs])
	s.nbytes += int64(n)
	switch {
	case err == nil, errors.Is(err, io.EOF):
	case errors.Is(err, io.ErrUnexpectedEOF):
		if n%rs != 0 {
			return 0, &sourceError{fmt.Sprintf("%s: %d bytes is not a whole number of %d-byte records (%d bytes left over)", s.name, s.nbytes, rs, s.nbytes%int64(rs))}
		}
	default:
		return 0, &sourceError{fmt.Sprintf("%s: %v", s.name, err)}
	}
	if s.nbytes == 0 && n == 0 {
		return 0, &sourceError{fmt.Sprintf("%s is empty: no records", s.name)}
	}
	if s.left >= 0 {
		s.left -= int64(n / rs)
	}
	return n / rs, nil
}

// synthRecord fills rec with record i of the synthetic stream: math/rand/v2's
// PCG seeded with (seed, i), so any record can be made again on its own.
func synthRecord(rec []byte, seed, i uint64) {
	g := rand.NewPCG(seed, i)
	var w [8]byte
	for off := 0; off < len(rec); off += 8 {
		binary.LittleEndian.PutUint64(w[:], g.Uint64())
		copy(rec[off:], w[:])
	}
}

// progress is a bar of records on stderr, shown when stderr is a terminal
// (or always, on request): the records run, or with --kafka the results
// out (progress.update).
type progress struct{ bar *progressbar.ProgressBar }

// newProgress makes the bar of total records (-1: unknown), described as
// what.
func newProgress(o runOpts, total int64, what string, stderr io.Writer) progress {
	show := o.progress == "always"
	if o.progress == "auto" {
		show = isTerminal(stderr)
	}
	if !show {
		return progress{}
	}
	return progress{progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rec"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(stderr) }),
	)}
}

func (p progress) add(n int) {
	if p.bar != nil {
		p.bar.Add(n)
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

// runSummary is what gpubuf run reports (--json prints it as is).
type runSummary struct {
	Backend         string   `json:"backend"`
	Device          string   `json:"device"`
	Kernels         []string `json:"kernels"`
	Mode            string   `json:"mode"`
	Batches         uint64   `json:"batches"`
	Records         uint64   `json:"records"`
	Bytes           uint64   `json:"bytes"`
	Failed          uint64   `json:"failed"`
	FirstError      string   `json:"first_error,omitempty"`
	Verified        uint64   `json:"verified"`
	Mismatches      uint64   `json:"mismatches"`
	FirstMismatch   string   `json:"first_mismatch,omitempty"`
	ElapsedSec      float64  `json:"elapsed_s"`
	MBPerSec        float64  `json:"mb_per_s"`
	RecordsPerSec   float64  `json:"records_per_s"`
	ProducerBlocked float64  `json:"producer_blocked_s"`
	BlockedAcquires uint64   `json:"blocked_acquires"`
	ConsumerStarved float64  `json:"consumer_starved_s"`
	MeanInFlight    float64  `json:"mean_in_flight"`
	MaxInFlight     int      `json:"max_in_flight"`
	MeanSlotsBusy   float64  `json:"mean_slots_busy"`
	Slots           int      `json:"slots"`
	MeanLatencyMs   float64  `json:"mean_latency_ms"`
	MaxLatencyMs    float64  `json:"max_latency_ms"`
	verify          bool
}

func (s *runSummary) fill(st host.Stats, in gpu.Info, o runOpts) {
	s.Backend, s.Device = in.Backend, in.Name
	s.Mode = "staged copies"
	if o.zeroCopy {
		s.Mode = "zero-copy"
	}
	s.Bytes = st.Bytes
	s.ElapsedSec = st.Elapsed.Seconds()
	if s.ElapsedSec > 0 {
		s.MBPerSec = float64(st.Bytes) / 1e6 / s.ElapsedSec
		s.RecordsPerSec = float64(s.Records) / s.ElapsedSec
	}
	s.ProducerBlocked, s.BlockedAcquires = st.ProducerBlocked.Seconds(), st.BlockedAcquires
	s.ConsumerStarved = st.ConsumerStarved.Seconds()
	s.MeanInFlight, s.MaxInFlight = st.MeanInFlight, st.MaxInFlight
	s.MeanSlotsBusy, s.Slots = st.MeanSlotsBusy, o.slots
	s.MeanLatencyMs = float64(st.MeanLatency) / 1e6
	s.MaxLatencyMs = float64(st.MaxLatency) / 1e6
	s.verify = o.verify
}

func (s *runSummary) write(w io.Writer) {
	pct := func(x float64) string {
		if s.ElapsedSec <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f%%", 100*x/s.ElapsedSec)
	}
	fmt.Fprintf(w, "gpubuf run: %s on %s (%s backend), %s\n\n", strings.Join(s.Kernels, " -> "), s.Device, s.Backend, s.Mode)
	t := newTable("measure", "value")
	t.add("batches", s.Batches)
	t.add("records", s.Records)
	t.add("bytes", s.Bytes)
	t.add("elapsed", fmt.Sprintf("%.3f s", s.ElapsedSec))
	t.add("throughput", fmt.Sprintf("%.1f MB/s", s.MBPerSec))
	t.add("records/s", humanRate(s.RecordsPerSec))
	t.add("producer blocked", fmt.Sprintf("%.3f s (%s, %d waits)", s.ProducerBlocked, pct(s.ProducerBlocked), s.BlockedAcquires))
	t.add("consumer starved", fmt.Sprintf("%.3f s (%s)", s.ConsumerStarved, pct(s.ConsumerStarved)))
	t.add("in flight", fmt.Sprintf("mean %.2f, max %d", s.MeanInFlight, s.MaxInFlight))
	t.add("slots busy", fmt.Sprintf("mean %.2f of %d", s.MeanSlotsBusy, s.Slots))
	t.add("latency", fmt.Sprintf("mean %.2f ms, max %.2f ms", s.MeanLatencyMs, s.MaxLatencyMs))
	t.add("failed batches", s.Failed)
	if s.verify {
		t.add("verified", fmt.Sprintf("%d of %d batches match the Go reference", s.Verified, s.Batches))
	}
	t.write(w)
}
