package host

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gpubuf/gpubuf/gpu"
)

// PipelineOptions configure a Pipeline. Stages and RecordSize are
// required.
type PipelineOptions struct {
	// Stages are the kernels each batch runs through, in order: stage
	// k+1 reads stage k's output as records of its OutPerRecord bytes.
	// The batch's Result holds the last stage's output.
	Stages []KernelSpec
	// RecordSize is the size of one input record in bytes. Batches hold
	// whole records.
	RecordSize int
	// SlotSize is the size of a ring slot (default 1 MiB, or one record
	// when records are bigger); a batch is the whole records that fit.
	SlotSize int
	Slots    int // ring slots (default 4)
	Depth    int // batches on the device at once (default Slots)
	Streams  int // streams (default 2, at most Depth: RingOptions.Streams)
	// ZeroCopy lets the first kernel read the mapped slot directly
	// instead of a staged copy of it.
	ZeroCopy bool
	Order    Order
	OnError  ErrorPolicy
	// Results is the capacity of the Results channel (default Slots).
	Results int
	// Sink, when set, receives every result in place of the Results
	// channel, on the pipeline's goroutine; a slow sink holds the
	// pipeline back just as a slow reader of Results does.
	Sink func(Result)
}

// Result is the output of one batch.
type Result struct {
	Seq         uint64 // the batch's submission order, from 0
	FirstRecord uint64 // index of the batch's first record in the stream of pushed records
	Records     int    // records in the batch
	// Out is the last stage's output for these records: Records *
	// OutPerRecord + OutPerBatch bytes. Nil when Err is set.
	Out     []byte
	Err     error
	Latency time.Duration // from the batch's submission to its result
}

// Pipeline runs batch kernels over a stream of fixed-size records: Push
// packs records into ring slots, the ring stages them onto the device, the
// stages run on each batch, and results come back on Results.
type Pipeline struct {
	ring       *Ring
	opts       PipelineOptions
	perSlot    int // records per slot
	results    chan Result
	delivered  chan struct{} // closed when the last result is out
	mu         sync.Mutex    // orders Submits with record numbering
	nextRecord uint64
	stage      *kernelStage // its modules are closed with the pipeline
}

// NewPipeline loads the stages' kernels on dev and starts a ring for them.
func NewPipeline(dev gpu.Device, opts PipelineOptions) (*Pipeline, error) {
	if dev == nil {
		return nil, errors.New("host: NewPipeline: nil device")
	}
	stage, perSlot, opts, err := newKernelStage(dev, opts)
	if err != nil {
		return nil, fmt.Errorf("host: NewPipeline: %w", err)
	}
	ring, err := NewRing(dev, RingOptions{
		Slots: opts.Slots, SlotSize: opts.SlotSize, Depth: opts.Depth, Streams: opts.Streams,
		ZeroCopy: opts.ZeroCopy, Order: opts.Order, OnError: opts.OnError, Stage: stage,
	})
	if err != nil {
		stage.close()
		return nil, fmt.Errorf("host: NewPipeline: %w", err)
	}
	p := &Pipeline{
		ring: ring, opts: opts, perSlot: perSlot, stage: stage,
		delivered: make(chan struct{}),
	}
	if opts.Sink == nil {
		p.results = make(chan Result, opts.Results)
	}
	go p.deliver()
	return p, nil
}

// Ring is the pipeline's staging ring, for its Stats and SlotStates.
func (p *Pipeline) Ring() *Ring { return p.ring }

// Stats are the ring's statistics.
func (p *Pipeline) Stats() Stats { return p.ring.Stats() }

// RecordsPerBatch is the number of records a full slot holds.
func (p *Pipeline) RecordsPerBatch() int { return p.perSlot }

// Results delivers a Result per batch, in submission order unless the
// pipeline is Unordered, and is closed after the last one once the
// pipeline is closed (or aborted) and every result has been read. It is
// nil when the options give a Sink. A consumer that stops reading holds
// the pipeline back (the ring fills, then Push and Fill block), but not
// Close or Abort.
func (p *Pipeline) Results() <-chan Result { return p.results }

// Push packs records (a whole number of RecordSize-byte records) into
// slots and submits them, blocking while the ring is full. It returns
// when every record is submitted, or with the error that stopped it;
// records submitted before the error are processed.
func (p *Pipeline) Push(ctx context.Context, records []byte) error {
	rs := p.opts.RecordSize
	if len(records)%rs != 0 {
		return fmt.Errorf("host: Push: %d bytes is not a whole number of %d-byte records (%d left over)", len(records), rs, len(records)%rs)
	}
	chunk := p.perSlot * rs
	for len(records) > 0 {
		n := min(chunk, len(records))
		s, err := p.ring.Acquire(ctx)
		if err != nil {
			return fmt.Errorf("host: Push: %w", err)
		}
		copy(s.Bytes(), records[:n])
		if err := p.submit(s, n); err != nil {
			return fmt.Errorf("host: Push: %w", err)
		}
		records = records[n:]
	}
	return nil
}

// Fill acquires a slot and lets fill write up to max records into it (max
// is RecordsPerBatch when 0 or larger); fill returns how many it wrote.
// It is Push without the copy, for producers that generate records in
// place. When fill fails, panics or writes none, nothing is submitted.
func (p *Pipeline) Fill(ctx context.Context, max int, fill func(buf []byte) (nrec int, err error)) error {
	if max <= 0 || max > p.perSlot {
		max = p.perSlot
	}
	rs := p.opts.RecordSize
	s, err := p.ring.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("host: Fill: %w", err)
	}
	buf := s.Bytes()[:max*rs]
	nrec, err := callFill(fill, buf)
	switch {
	case err != nil:
		p.ring.giveBack(s)
		return fmt.Errorf("host: Fill: %w", err)
	case nrec < 0 || nrec > max:
		p.ring.giveBack(s)
		return fmt.Errorf("host: Fill: fill reported %d records; want 0..%d", nrec, max)
	case nrec == 0:
		p.ring.giveBack(s)
		return nil
	}
	if err := p.submit(s, nrec*rs); err != nil {
		return fmt.Errorf("host: Fill: %w", err)
	}
	return nil
}

func (p *Pipeline) submit(s *Slot, n int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ring.Submit(s, n, p.nextRecord); err != nil {
		return err
	}
	p.nextRecord += uint64(n / p.opts.RecordSize)
	return nil
}

// deliver turns the ring's completions into results.
func (p *Pipeline) deliver() {
	defer close(p.delivered)
	if p.results != nil {
		defer close(p.results)
	}
	for {
		c, err := p.ring.Next(context.Background())
		if err != nil {
			return // io.EOF: the ring is closed and drained
		}
		res := Result{
			Seq: c.Seq, FirstRecord: c.Tag, Records: c.N / p.opts.RecordSize,
			Out: c.Result, Err: c.Err, Latency: c.Latency,
		}
		if p.opts.Sink != nil {
			p.opts.Sink(res)
		} else {
			p.results <- res
		}
	}
}

// Close waits until every pushed record has been processed (each batch
// has run, or failed, and its result is on the host), then frees the
// pipeline's device memory and modules. It never waits for a consumer of
// Results: results not yet read stay in host memory and come out of
// Results in order, as it is read, after which it is closed; none is
// dropped. A consumer that has stopped reading for good must read Results
// to its end (for range p.Results() {}) to let them and the goroutine that
// hands them over go. With a Sink, Close returns once the sink has been
// given every result. Close is idempotent.
func (p *Pipeline) Close() error {
	err := p.ring.Close()
	p.waitSink()
	return errors.Join(err, p.closeModules())
}

// Abort cancels the batches that have not reached the device (their
// results carry ErrAborted), waits for the rest to run, and frees the
// pipeline. It returns the cancelled batches. Like Close, it never waits
// for a consumer of Results: every result, a cancelled batch's included,
// stays readable there, in order, until it is read.
func (p *Pipeline) Abort() ([]Batch, error) {
	aborted, err := p.ring.Abort()
	p.waitSink()
	return aborted, errors.Join(err, p.closeModules())
}

// waitSink waits, with a Sink, until it has been given the last result.
// Results needs no wait: the ring keeps every completion for Next once it
// is closed, and deliver hands them to Results as the consumer reads.
func (p *Pipeline) waitSink() {
	if p.opts.Sink != nil {
		<-p.delivered
	}
}

func (p *Pipeline) closeModules() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stage.close()
}

// kernelStage runs a pipeline's stages on each batch.
type kernelStage struct {
	opts    PipelineOptions
	specs   []KernelSpec
	kernels []gpu.Kernel
	modules []gpu.Module
	inRec   []int // input record size of each stage
	maxRecs int   // records per slot
}

func newKernelStage(dev gpu.Device, opts PipelineOptions) (*kernelStage, int, PipelineOptions, error) {
	if len(opts.Stages) == 0 {
		return nil, 0, opts, errors.New("no Stages: give at least one kernel")
	}
	if opts.RecordSize <= 0 {
		return nil, 0, opts, fmt.Errorf("RecordSize %d: must be positive", opts.RecordSize)
	}
	if opts.SlotSize == 0 {
		opts.SlotSize = max(1<<20, opts.RecordSize)
	}
	if opts.SlotSize < 0 {
		return nil, 0, opts, fmt.Errorf("SlotSize %d: must be positive", opts.SlotSize)
	}
	if opts.SlotSize < opts.RecordSize {
		return nil, 0, opts, fmt.Errorf("SlotSize %d is smaller than one %d-byte record", opts.SlotSize, opts.RecordSize)
	}
	if opts.Slots == 0 {
		opts.Slots = 4
	}
	if opts.Slots < 0 || opts.Slots > MaxSlots {
		return nil, 0, opts, fmt.Errorf("Slots %d: want 1..%d", opts.Slots, MaxSlots)
	}
	if opts.Results == 0 {
		opts.Results = max(opts.Slots, 1)
	}
	if opts.Results < 0 || opts.Results > 2*MaxSlots {
		return nil, 0, opts, fmt.Errorf("Results %d: want 1..%d", opts.Results, 2*MaxSlots)
	}
	perSlot := opts.SlotSize / opts.RecordSize
	if perSlot > 1<<31-1 {
		return nil, 0, opts, fmt.Errorf("SlotSize %d holds more than 2^31-1 records", opts.SlotSize)
	}
	st := &kernelStage{opts: opts, maxRecs: perSlot}
	rec := opts.RecordSize
	for i, s := range opts.Stages {
		s, err := s.withDefaults(rec, blockProcessors(dev.Info()))
		if err != nil {
			return nil, 0, opts, fmt.Errorf("stage %d: %w", i, err)
		}
		if i+1 < len(opts.Stages) && (s.OutPerBatch != 0 || s.OutPerRecord == 0) {
			return nil, 0, opts, fmt.Errorf("stage %d (%s) writes %d bytes per batch, not records: only the last stage may", i, s.Name, s.OutPerBatch)
		}
		if rec/s.Unit > 1<<32-1 {
			return nil, 0, opts, fmt.Errorf("stage %d (%s): records of %d bytes overflow its 32-bit rec parameter", i, s.Name, rec)
		}
		m, err := dev.LoadModule(s.Name, s.PTX)
		if err != nil {
			st.close()
			return nil, 0, opts, fmt.Errorf("stage %d: %w", i, err)
		}
		st.modules = append(st.modules, m)
		k, err := m.Kernel(s.Name)
		if err != nil {
			st.close()
			return nil, 0, opts, fmt.Errorf("stage %d: %w", i, err)
		}
		if ps := k.Params(); len(ps) != 4 {
			st.close()
			return nil, 0, opts, fmt.Errorf("stage %d: kernel %s has %d parameters; a batch kernel has 4: (in, out, nrec, rec)", i, s.Name, len(ps))
		}
		st.specs = append(st.specs, s)
		st.kernels = append(st.kernels, k)
		st.inRec = append(st.inRec, rec)
		rec = s.OutPerRecord
	}
	return st, perSlot, opts, nil
}

// close closes the stages' modules (once; later calls do nothing).
func (st *kernelStage) close() error {
	var errs []error
	for _, m := range st.modules {
		errs = append(errs, m.Close())
	}
	st.modules = nil
	return errors.Join(errs...)
}

// outBytes is the size of stage i's output for nrec records.
func (st *kernelStage) outBytes(i, nrec int) int {
	return nrec*st.specs[i].OutPerRecord + st.specs[i].OutPerBatch
}

func (st *kernelStage) NewFrame(dev gpu.Device) (StageFrame, error) {
	f := &kernelFrame{st: st}
	for i := range st.specs {
		b, err := dev.Alloc(max(1, st.outBytes(i, st.maxRecs)))
		if err != nil {
			f.Free()
			return nil, err
		}
		f.outs = append(f.outs, b)
	}
	h, err := dev.AllocHost(max(1, st.outBytes(len(st.specs)-1, st.maxRecs)), 0)
	if err != nil {
		f.Free()
		return nil, err
	}
	f.host = h
	return f, nil
}

type kernelFrame struct {
	st   *kernelStage
	outs []gpu.DeviceBuffer
	host gpu.HostBuffer
	n    int // bytes of the last output
}

func (f *kernelFrame) Enqueue(s gpu.Stream, in any, b Batch) error {
	st := f.st
	rs := st.opts.RecordSize
	if b.N%rs != 0 {
		return fmt.Errorf("%d bytes is not a whole number of %d-byte records", b.N, rs)
	}
	nrec := b.N / rs
	for i, spec := range st.specs {
		out := f.outs[i]
		n := st.outBytes(i, nrec)
		if spec.ZeroOut {
			if err := s.Memset(out, 0, n, 0); err != nil {
				return err
			}
		}
		cfg := gpu.LaunchConfig{Grid: gpu.D1(spec.blocks(nrec, st.inRec[i])), Block: gpu.D1(uint32(spec.Block))}
		if err := s.Launch(st.kernels[i], cfg, in, out, uint32(nrec), uint32(st.inRec[i]/spec.Unit)); err != nil {
			return fmt.Errorf("stage %d: %w", i, err)
		}
		in = out
	}
	f.n = st.outBytes(len(st.specs)-1, nrec)
	return s.CopyDtoH(f.host, 0, f.outs[len(f.outs)-1], 0, f.n)
}

func (f *kernelFrame) Collect(Batch) ([]byte, error) {
	return append([]byte(nil), f.host.Bytes()[:f.n]...), nil
}

func (f *kernelFrame) Free() error {
	var errs []error
	for _, b := range f.outs {
		errs = append(errs, b.Free())
	}
	if f.host != nil {
		errs = append(errs, f.host.Free())
	}
	return errors.Join(errs...)
}
