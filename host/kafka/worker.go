package kafka

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubuf/gpubuf/host"
)

// Errors of New that name what a user gave. Test for them with errors.Is;
// *TopicError says which topic.
var (
	// ErrUnreachable: no seed broker answered within ConnectTimeout.
	ErrUnreachable = errors.New("kafka: brokers unreachable")
	// ErrMissingTopic: a topic does not exist.
	ErrMissingTopic = errors.New("kafka: topic does not exist")
)

// TopicError is a topic New could not use.
type TopicError struct {
	Topic string
	Role  string // "input", "output" or "dead-letter"
	Err   error
}

func (e *TopicError) Error() string {
	return fmt.Sprintf("kafka: %s topic %q: %v", e.Role, e.Topic, e.Err)
}

func (e *TopicError) Unwrap() error { return e.Err }

// Worker is one member of a consumer group running batch kernels over its
// partitions' records. Make one with New, run it with Run, free it with
// Close.
type Worker struct {
	o       Options
	perSlot int
	batched bool // the last stage writes one output per batch

	cl   *kgo.Client
	sess *kgo.GroupTransactSession // ExactlyOnce
	adm  *kadm.Client
	devs []*device
	tr   *tracker

	ctx    context.Context // the worker's life: cancelled by Close, or at once by a crash
	cancel context.CancelFunc

	commitMu sync.Mutex // orders commits: a revoke's after the periodic one it may overlap
	crashed  atomic.Bool

	errMu sync.Mutex
	err   error // the first fatal error
	stop  chan struct{}
	once  sync.Once

	pausedMu  sync.Mutex
	pausedAt  map[int]time.Time // device -> when its partitions were paused
	pausedFor time.Duration
	// pausedParts are the partitions paused and not resumed yet.
	pausedParts []map[string][]int32

	// txnErr is a produce error of the open transaction (ExactlyOnce).
	txnErr atomic.Pointer[error]
	txnOut atomic.Uint64 // results produced in the open transaction

	stats counters

	runOnce   sync.Once
	runDone   chan struct{}
	closeOnce sync.Once
	closeErr  error
	start     time.Time
}

// device is one device's pipeline and the runs on their way to it.
type device struct {
	idx  int
	p    *host.Pipeline // nil once closed
	ring *host.Ring     // its ring, for Stats after Close
	runs chan *run      // the feeder's queue: one run
	// acks bounds the batches whose results wait for acknowledgement.
	acks chan struct{}
	// stopAfter, once a batch failed under policy Stop, is its first
	// record: later results of the device are not committed.
	stopAfter atomic.Int64

	mu      sync.Mutex
	batches map[uint64]*run // by the batch's first record number
	next    uint64          // the pipeline's next record number
	fed     chan struct{}   // closed when the feeder ends
	feeding bool            // the feeder was started (by Run)
}

// run is a run of one partition's records on its way to a device.
type run struct {
	it   *item
	recs []*kgo.Record
	txn  *sync.WaitGroup // ExactlyOnce: done once its results are produced (or it is dropped)
}

// New checks the options, opens a pipeline on every device, connects to
// the brokers (waiting at most ConnectTimeout) and checks the topics. The
// worker joins the group when Run polls.
func New(opts Options) (*Worker, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &Worker{
		o: o, perSlot: o.Pipeline.SlotSize / o.Pipeline.RecordSize,
		tr: newTracker(), stop: make(chan struct{}), runDone: make(chan struct{}),
		pausedAt: map[int]time.Time{}, start: time.Now(),
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	if err := w.openDevices(); err != nil {
		w.closeDevices()
		w.cancel()
		return nil, err
	}
	if err := w.connect(); err != nil {
		w.closeClient()
		w.closeDevices()
		w.cancel()
		return nil, err
	}
	return w, nil
}

func (w *Worker) openDevices() error {
	last := w.o.Pipeline.Stages[len(w.o.Pipeline.Stages)-1]
	for i, dev := range w.o.Devices {
		d := &device{idx: i, runs: make(chan *run, 1), acks: make(chan struct{}, w.o.Pipeline.Slots), batches: map[uint64]*run{}, fed: make(chan struct{})}
		d.stopAfter.Store(-1)
		po := w.o.Pipeline
		po.Sink = func(res host.Result) { w.onResult(d, res) }
		p, err := host.NewPipeline(dev, po)
		if err != nil {
			return fmt.Errorf("kafka: device %d: %w", i, err)
		}
		d.p, d.ring = p, p.Ring()
		w.devs = append(w.devs, d)
		w.batched = last.OutPerBatch != 0
	}
	return nil
}

// connect makes the client and checks the brokers and topics.
func (w *Worker) connect() error {
	o := w.o
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ConsumerGroup(o.Group),
		kgo.ConsumeTopics(o.Topics...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(w.onAssigned),
		kgo.OnPartitionsRevoked(w.onRevoked),
		kgo.OnPartitionsLost(w.onLost),
		// A produce that cannot be delivered fails the batch (and stops the
		// worker) rather than retrying for ever.
		kgo.RecordDeliveryTimeout(30 * time.Second),
	}
	if o.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(o.InstanceID))
	}
	if o.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(o.SessionTimeout), kgo.HeartbeatInterval(max(o.SessionTimeout/10, 10*time.Millisecond)))
	}
	if o.Delivery == ExactlyOnce {
		id := o.TransactionalID
		if id == "" {
			id = o.Group + "-gpubuf-" + o.InstanceID
			if o.InstanceID == "" {
				id += strconv.FormatInt(time.Now().UnixNano(), 36)
			}
		}
		opts = append(opts, kgo.TransactionalID(id), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	opts = append(opts, o.ClientOptions...)
	var err error
	if o.Delivery == ExactlyOnce {
		w.sess, err = kgo.NewGroupTransactSession(opts...)
		if err == nil {
			w.cl = w.sess.Client()
		}
	} else {
		w.cl, err = kgo.NewClient(opts...)
	}
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	w.adm = kadm.NewClient(w.cl)
	ctx, cancel := context.WithTimeout(w.ctx, o.ConnectTimeout)
	defer cancel()
	if err := w.cl.Ping(ctx); err != nil {
		return fmt.Errorf("%w: %s: none answered within %v (%v)", ErrUnreachable, strings.Join(o.Brokers, ","), o.ConnectTimeout, err)
	}
	check := []struct{ topic, role string }{}
	for _, t := range o.Topics {
		check = append(check, struct{ topic, role string }{t, "input"})
	}
	if o.OutTopic != "" {
		check = append(check, struct{ topic, role string }{o.OutTopic, "output"})
	}
	names := []string{}
	for _, c := range check {
		names = append(names, c.topic)
	}
	if o.DLQTopic != "" {
		names = append(names, o.DLQTopic)
	}
	td, err := w.adm.ListTopics(ctx, names...)
	if err != nil {
		return fmt.Errorf("%w: %s: listing topics: %v", ErrUnreachable, strings.Join(o.Brokers, ","), err)
	}
	for _, c := range check {
		if t, ok := td[c.topic]; !ok || t.Err != nil {
			return &TopicError{Topic: c.topic, Role: c.role, Err: ErrMissingTopic}
		}
	}
	// The dead-letter topic is made when missing, with one partition: its
	// records are rare, and the gpubuf-partition header keeps where each
	// came from.
	if o.DLQTopic != "" {
		if t, ok := td[o.DLQTopic]; !ok || t.Err != nil {
			// Another worker of the group may make it at the same time:
			// that it exists is what matters.
			if _, err := w.adm.CreateTopic(ctx, 1, -1, nil, o.DLQTopic); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				return &TopicError{Topic: o.DLQTopic, Role: "dead-letter", Err: fmt.Errorf("%w, and creating it failed: %v", ErrMissingTopic, err)}
			}
		}
	}
	return nil
}

// deviceOf is the device a partition's records run on: always the same
// one, so that its batches stay in order.
func (w *Worker) deviceOf(p tp) int {
	if len(w.devs) == 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(p.topic))
	return int((h.Sum32() + uint32(p.part)) % uint32(len(w.devs)))
}

func tps(m map[string][]int32) []tp {
	var out []tp
	for t, ps := range m {
		for _, p := range ps {
			out = append(out, tp{t, p})
		}
	}
	return out
}

func (w *Worker) onAssigned(_ context.Context, cl *kgo.Client, m map[string][]int32) {
	w.stats.rebalances.Add(1)
	w.tr.assign(tps(m))
	cl.ResumeFetchPartitions(m) // a partition paused when it was ours before is fetched again
}

// onRevoked lets the revoked partitions' batches on the devices finish,
// commits them, and drops the rest.
func (w *Worker) onRevoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	if w.crashed.Load() {
		return
	}
	w.stats.rebalances.Add(1)
	ps := tps(m)
	if w.o.Delivery == ExactlyOnce {
		// The session aborts the open transaction: nothing to wait for.
		w.tr.revoke(ps, time.Now())
		return
	}
	w.commitMu.Lock()
	defer w.commitMu.Unlock()
	commit, abandoned := w.tr.revoke(ps, time.Now().Add(w.o.RevokeTimeout))
	w.stats.abandoned.Add(uint64(abandoned))
	w.commitLocked(ctx, commit)
}

func (w *Worker) onLost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	if w.crashed.Load() {
		return
	}
	w.stats.rebalances.Add(1)
	_, abandoned := w.tr.revoke(tps(m), time.Now())
	w.stats.abandoned.Add(uint64(abandoned))
}

// fail records the first fatal error and stops the worker.
func (w *Worker) fail(err error) {
	w.errMu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.errMu.Unlock()
	w.once.Do(func() { close(w.stop) })
}

// Err is the error that stopped the worker, or nil.
func (w *Worker) Err() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

// Run consumes until ctx is done, the worker fails, or (ExitWhenIdle) its
// partitions have had no lag for that long; then it drains: the batches on
// the devices finish and are committed, the rest are dropped uncommitted,
// and the worker leaves the group. It returns the error that stopped it,
// or nil. Run may be called once.
func (w *Worker) Run(ctx context.Context, exitWhenIdle time.Duration) error {
	ran := false
	w.runOnce.Do(func() { ran = true })
	if !ran {
		return errors.New("kafka: Run called twice")
	}
	defer close(w.runDone)
	for _, d := range w.devs {
		d.feeding = true
		go w.feed(d)
	}
	var bg sync.WaitGroup
	bgCtx, bgCancel := context.WithCancel(w.ctx)
	bg.Add(1)
	go func() { defer bg.Done(); w.watchEnds(bgCtx) }()
	if w.o.Delivery == AtLeastOnce {
		bg.Add(1)
		go func() { defer bg.Done(); w.commitLoop(bgCtx) }()
	}
	pctx, pcancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-w.stop:
		case <-w.ctx.Done():
		case <-pctx.Done():
		}
		pcancel()
	}()
	if w.o.Delivery == ExactlyOnce {
		w.pollTransactions(pctx, exitWhenIdle)
	} else {
		w.pollLoop(pctx, exitWhenIdle)
	}
	pcancel()
	bgCancel()
	bg.Wait()
	return w.drain()
}

// drain finishes the batches on the devices, commits them and leaves the
// group: the client's Close revokes every partition (onRevoked).
func (w *Worker) drain() error {
	if w.crashed.Load() {
		return w.Err()
	}
	if w.sess != nil {
		w.sess.Close()
	} else {
		w.cl.Close() // revokes (and commits) before it leaves
	}
	w.closeDevices()
	return w.Err()
}

// Done is closed when Run has returned.
func (w *Worker) Done() <-chan struct{} { return w.runDone }

// Close stops the worker as Run's ctx would, waits for Run to drain, and
// frees the pipelines and the client. It is idempotent.
func (w *Worker) Close() error {
	w.closeOnce.Do(func() {
		ran := true
		w.runOnce.Do(func() { ran = false })
		if ran {
			w.fail(nil)
			<-w.runDone
		}
		w.closeClient()
		w.closeErr = w.closeDevices()
		w.cancel()
	})
	return w.closeErr
}

// crash stops the worker as a killed process would: nothing more is
// committed, the group is not left (with static membership), and the
// devices' work is abandoned. For tests of worker loss.
func (w *Worker) crash() {
	w.crashed.Store(true)
	w.cancel()
	w.fail(errors.New("kafka: worker crashed"))
	<-w.runDone
	w.closeClient()
	w.closeDevices()
}

func (w *Worker) closeClient() {
	if w.sess != nil {
		w.sess.Close()
	} else if w.cl != nil {
		w.cl.Close()
	}
}

// closeDevices ends the feeders and closes the pipelines (each drains its
// ring first); once.
func (w *Worker) closeDevices() error {
	var errs []error
	for _, d := range w.devs {
		if d.p == nil {
			continue
		}
		d.mu.Lock()
		if d.runs != nil {
			close(d.runs)
			d.runs = nil
		}
		d.mu.Unlock()
		if d.feeding {
			<-d.fed
		}
		if w.crashed.Load() {
			_, err := d.p.Abort()
			errs = append(errs, err)
		} else {
			errs = append(errs, d.p.Close())
		}
		d.p = nil
	}
	return errors.Join(errs...)
}

// trySend queues r for its device without waiting; false when the queue
// is full. closed: the device takes no more runs.
func (d *device) trySend(r *run) (sent, closed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.runs == nil {
		return false, true
	}
	select {
	case d.runs <- r:
		return true, false
	default:
		return false, false
	}
}
