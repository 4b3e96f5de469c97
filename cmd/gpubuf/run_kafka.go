package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/host"
	"github.com/gpubuf/gpubuf/host/kafka"
)

// kafkaOpts are gpubuf run's Kafka flags.
type kafkaOpts struct {
	brokers     string // --kafka: BROKERS (comma-separated) or "embedded"
	topic       string
	group       string
	outTopic    string
	dlqTopic    string
	exactlyOnce bool
	devices     string
	exitIdle    time.Duration
	partitions  int
	connect     time.Duration
	instance    string
	metrics     string // --metrics ADDR: serve Prometheus metrics there
}

// Bounds of the Kafka flags.
const (
	maxEmbeddedPartitions = 1024
	maxEmbeddedRecords    = 10_000_000
	embeddedKeys          = 64
)

func addKafkaFlags(fs *flag.FlagSet) *kafkaOpts {
	k := &kafkaOpts{}
	fs.StringVar(&k.brokers, "kafka", "", "consume records from Kafka: `BROKERS` (host:port, comma-separated) or embedded (an in-process cluster with a generated input topic); see --topic, --group, --out-topic")
	fs.StringVar(&k.topic, "topic", "", "--kafka: the input topic (embedded: gpubuf-in)")
	fs.StringVar(&k.group, "group", "gpubuf", "--kafka: the consumer group; workers with the same group share the partitions")
	fs.StringVar(&k.outTopic, "out-topic", "", "--kafka: the output topic (embedded: gpubuf-out)")
	fs.StringVar(&k.dlqTopic, "dlq-topic", "", "--kafka: the dead-letter topic, made when missing (default: OUT.dlq)")
	fs.BoolVar(&k.exactlyOnce, "exactly-once", false, "--kafka: results and offsets in one transaction (default: at least once)")
	fs.StringVar(&k.devices, "devices", "0", "--kafka: the devices to run on, one ring each: ordinals like 0,1 (the emulator opens an independent device for each), or all (every GPU; one emulated device on the emulator)")
	fs.DurationVar(&k.exitIdle, "exit-when-idle", 0, "--kafka: exit once the assigned partitions have had no lag for this long (default: run until SIGINT or SIGTERM; embedded: 2s)")
	fs.IntVar(&k.partitions, "partitions", 12, "--kafka embedded: partitions of the generated input topic")
	fs.StringVar(&k.metrics, "metrics", "", "--kafka: serve the worker's metrics in Prometheus's text format at http://`ADDR`/metrics (host:port; :0 picks a port, printed at start)")
	fs.DurationVar(&k.connect, "connect-timeout", 10*time.Second, "--kafka: how long to wait for the brokers at start")
	fs.StringVar(&k.instance, "instance-id", "", "--kafka: static group membership under this id (a restart within the session timeout keeps the partitions)")
	return k
}

// kafkaSummary is what run --kafka reports (--json prints it as is).
type kafkaSummary struct {
	Backend    string      `json:"backend"`
	Device     string      `json:"device"`
	Devices    int         `json:"devices"`
	Kernels    []string    `json:"kernels"`
	Brokers    string      `json:"brokers"`
	Topic      string      `json:"topic"`
	Group      string      `json:"group"`
	OutTopic   string      `json:"out_topic"`
	ElapsedSec float64     `json:"elapsed_s"`
	Verified   int         `json:"verified"`
	Mismatches int         `json:"mismatches"`
	Missing    int         `json:"missing"`
	Error      string      `json:"error,omitempty"`
	Kafka      kafka.Stats `json:"kafka"`
	verify     bool
}

// runKafka runs gpubuf run as a Kafka worker.
func runKafka(o runOpts, k *kafkaOpts, fs *flag.FlagSet, stages []host.KernelSpec, refs func([]byte) []byte, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "gpubuf run: "+format+"\n", a...)
		return exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	embedded := k.brokers == "embedded"
	for _, f := range []string{"input", "unordered"} {
		if set[f] {
			return fail("--%s conflicts with --kafka: records come from the topic, and each partition's results keep its order", f)
		}
	}
	if set["partitions"] && !embedded {
		return fail("--partitions sizes the embedded cluster's topic; with --kafka %s, the topic has its own", k.brokers)
	}
	if o.verify && !embedded {
		return fail("--verify with --kafka needs the inputs: it works with --kafka embedded")
	}
	if o.ptx != "" && refs == nil && o.verify {
		return fail("--verify needs the Go references of the embedded kernels")
	}
	if embedded {
		if k.topic == "" {
			k.topic = "gpubuf-in"
		}
		if k.outTopic == "" {
			k.outTopic = "gpubuf-out"
		}
		if !set["exit-when-idle"] {
			k.exitIdle = 2 * time.Second
		}
		if k.partitions <= 0 || k.partitions > maxEmbeddedPartitions {
			return fail("--partitions %d: want 1..%d", k.partitions, maxEmbeddedPartitions)
		}
		if o.records > maxEmbeddedRecords {
			return fail("--records %d: the embedded cluster keeps every record in memory; want at most %d", o.records, maxEmbeddedRecords)
		}
	}
	switch {
	case k.topic == "":
		return fail("--topic: name the input topic")
	case k.outTopic == "":
		return fail("--out-topic: name the output topic")
	case k.group == "":
		return fail("--group: name the consumer group")
	case k.exitIdle < 0:
		return fail("--exit-when-idle %v: must not be negative", k.exitIdle)
	case k.connect <= 0:
		return fail("--connect-timeout %v: must be positive", k.connect)
	case k.topic == k.outTopic:
		return fail("--topic and --out-topic are both %q: results would be read back as input", k.topic)
	}
	ordinals, err := parseDevices(k.devices)
	if err != nil {
		return fail("--devices %q: %v", k.devices, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	brokers := strings.Split(k.brokers, ",")
	var cluster *kfake.Cluster
	var inputs map[[2]int64][]byte
	if embedded {
		cluster, err = kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(int32(k.partitions), k.topic, k.outTopic))
		if err != nil {
			fmt.Fprintf(stderr, "gpubuf run: --kafka embedded: %v\n", err)
			return exitFail
		}
		defer cluster.Close()
		brokers = cluster.ListenAddrs()
		// Other workers (other terminals, other processes) can join the
		// group while this one runs, and be killed to watch their
		// partitions move back.
		join := fmt.Sprintf("gpubuf run --kafka %s --topic %s --out-topic %s --group %s --record-size %d --kernel %s",
			strings.Join(brokers, ","), k.topic, k.outTopic, k.group, o.recordSize, strings.Join(o.kernels, ","))
		if o.ptx != "" {
			join += " --ptx " + o.ptx
		}
		fmt.Fprintf(stderr, "gpubuf run: embedded cluster at %s; while it runs, more workers can join the group: %s\n", strings.Join(brokers, ","), join)
		inputs, err = produceSynthetic(ctx, brokers, k.topic, o)
		if err != nil {
			fmt.Fprintf(stderr, "gpubuf run: --kafka embedded: producing the input: %v\n", err)
			return exitFail
		}
	}

	devs, err := openDevices(o.backend, ordinals, k.devices, stderr)
	defer func() {
		for _, d := range devs {
			d.Close()
		}
	}()
	if err != nil {
		return fail("%v", err)
	}
	for i, d := range devs {
		if msg := o.checkMemory(stages, d.Info()); msg != "" {
			return fail("device %d: %s", i, msg)
		}
	}
	delivery := kafka.AtLeastOnce
	if k.exactlyOnce {
		delivery = kafka.ExactlyOnce
	}
	w, err := kafka.New(kafka.Options{
		Brokers: brokers, Topics: []string{k.topic}, Group: k.group,
		OutTopic: k.outTopic, DLQTopic: k.dlqTopic, Delivery: delivery,
		Devices: devs, InstanceID: k.instance, ConnectTimeout: k.connect,
		Pipeline: host.PipelineOptions{
			Stages: stages, RecordSize: o.recordSize, SlotSize: o.slotSize,
			Slots: o.slots, Depth: o.depth, Streams: o.streams,
			ZeroCopy: o.zeroCopy, OnError: o.onError,
		},
	})
	var te *kafka.TopicError
	switch {
	case errors.Is(err, kafka.ErrUnreachable):
		return fail("--kafka: %v", err)
	case errors.As(err, &te):
		flagName := map[string]string{"input": "--topic", "output": "--out-topic", "dead-letter": "--dlq-topic"}[te.Role]
		return fail("%s %s: %v", flagName, te.Topic, te.Err)
	case err != nil:
		return fail("%v", err)
	}

	if k.metrics != "" {
		stopMetrics, err := serveMetrics(k.metrics, w, stderr)
		if err != nil {
			w.Close()
			return fail("--metrics %s: %v", k.metrics, err)
		}
		defer stopMetrics()
	}

	total := int64(-1) // an outside topic's records are not known
	if embedded {
		total = int64(len(inputs))
	}
	bar := newProgress(o, total, "results", stderr)
	barDone := make(chan struct{})
	go func() {
		defer close(barDone)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				bar.update(w.Stats())
			case <-ctx.Done():
				return
			case <-w.Done():
				return
			}
		}
	}()
	runCtx, exitIdle := ctx, k.exitIdle
	if embedded && exitIdle > 0 {
		// The embedded worker owns the cluster: it waits until the whole
		// group has committed the input to its end, not only its own
		// partitions, so that workers that joined it (and were killed:
		// their partitions come back after the session timeout) have
		// their share done before the cluster goes.
		var cancel context.CancelFunc
		runCtx, cancel = context.WithCancel(ctx)
		defer cancel()
		go watchGroupDone(runCtx, cancel, brokers, k.group, k.topic, exitIdle)
		exitIdle = 0
	}
	runErr := w.Run(runCtx, exitIdle)
	closeErr := w.Close()
	<-barDone
	st := w.Stats()
	bar.update(st)
	bar.finish()

	in := devs[0].Info()
	sum := kafkaSummary{
		Backend: in.Backend, Device: in.Name, Devices: len(devs), Kernels: o.kernels,
		Brokers: k.brokers, Topic: k.topic, Group: k.group, OutTopic: k.outTopic,
		ElapsedSec: st.Elapsed.Seconds(), Kafka: st, verify: o.verify,
	}
	if err := errors.Join(runErr, closeErr); err != nil {
		sum.Error = err.Error()
	}
	if o.verify && runErr == nil {
		sum.Verified, sum.Mismatches, sum.Missing, err = verifyOutputs(brokers, k.outTopic, inputs, refs, o.recordSize)
		if err != nil {
			fmt.Fprintf(stderr, "gpubuf run: --verify: %v\n", err)
			return exitFail
		}
	}
	if o.asJSON {
		if code := writeJSON(stdout, stderr, "run", sum); code != exitOK {
			return code
		}
	} else {
		sum.write(stdout)
	}
	switch {
	case sum.Error != "":
		fmt.Fprintf(stderr, "gpubuf run: %s\n", sum.Error)
		return exitFail
	case sum.Mismatches > 0 || sum.Missing > 0:
		fmt.Fprintf(stderr, "gpubuf run: %d result(s) differ from the Go reference, %d input(s) have none\n", sum.Mismatches, sum.Missing)
		return exitFail
	}
	return exitOK
}

// parseDevices reads --devices: a list of ordinals, or all (nil).
func parseDevices(s string) ([]int, error) {
	if s == "all" {
		return nil, nil
	}
	seen := map[int]bool{}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n >= kafka.MaxDevices {
			return nil, fmt.Errorf("%q is not a device ordinal 0..%d", f, kafka.MaxDevices-1)
		}
		if seen[n] {
			return nil, fmt.Errorf("device %d is named twice", n)
		}
		seen[n] = true
		out = append(out, n)
	}
	return out, nil
}

// openDevices opens the devices --devices names; all: every ordinal that
// opens, from 0 (the emulator: one).
func openDevices(backend string, ordinals []int, flagValue string, stderr io.Writer) ([]gpu.Device, error) {
	var devs []gpu.Device
	open := func(i int) (gpu.Device, error) {
		return gpu.Open(gpu.Options{Backend: backend, Ordinal: i, Emu: gpu.EmuOptions{Stdout: stderr}})
	}
	if ordinals == nil {
		for i := range kafka.MaxDevices {
			d, err := open(i)
			if err != nil {
				if i == 0 {
					return nil, fmt.Errorf("--devices all: %v", err)
				}
				break
			}
			devs = append(devs, d)
			if d.Info().Backend == gpu.BackendEmu {
				break // emulated devices have no count: all is one
			}
		}
		return devs, nil
	}
	for _, i := range ordinals {
		d, err := open(i)
		if err != nil {
			return devs, fmt.Errorf("--devices %s: device %d: %v", flagValue, i, err)
		}
		devs = append(devs, d)
	}
	return devs, nil
}

// produceSynthetic fills the embedded cluster's input topic with run's
// synthetic records (synthRecord), keyed round robin over embeddedKeys
// keys, and returns them by partition and offset (for --verify).
func produceSynthetic(ctx context.Context, brokers []string, topic string, o runOpts) (map[[2]int64][]byte, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	out := map[[2]int64][]byte{}
	const chunk = 4096
	for i := 0; i < o.records; i += chunk {
		var recs []*kgo.Record
		for j := i; j < min(o.records, i+chunk); j++ {
			v := make([]byte, o.recordSize)
			synthRecord(v, o.seed, uint64(j))
			recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "key-%d", j%embeddedKeys), Value: v})
		}
		res := cl.ProduceSync(ctx, recs...)
		if err := res.FirstErr(); err != nil {
			return nil, err
		}
		for _, r := range res {
			if o.verify {
				out[[2]int64{int64(r.Record.Partition), r.Record.Offset}] = r.Record.Value
			} else {
				out[[2]int64{int64(r.Record.Partition), r.Record.Offset}] = nil
			}
		}
	}
	return out, nil
}

// verifyOutputs reads the output topic and checks each input's first
// result against the Go reference.
func verifyOutputs(brokers []string, topic string, inputs map[[2]int64][]byte, ref func([]byte) []byte, rs int) (verified, mismatches, missing int, err error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return 0, 0, 0, err
	}
	defer cl.Close()
	seen := map[[2]int64]bool{}
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < len(inputs) && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			var p, off int64 = -1, -1
			for _, h := range r.Headers {
				switch h.Key {
				case kafka.HeaderPartition:
					p, _ = strconv.ParseInt(string(h.Value), 10, 32)
				case kafka.HeaderOffset:
					off, _ = strconv.ParseInt(string(h.Value), 10, 64)
				}
			}
			id := [2]int64{p, off}
			in, ok := inputs[id]
			if !ok || seen[id] {
				return // a replay (at least once), or not a per-record result
			}
			seen[id] = true
			if bytes.Equal(r.Value, ref(in)) {
				verified++
			} else {
				mismatches++
			}
		})
	}
	return verified, mismatches, len(inputs) - len(seen), nil
}

// update shows the results out so far, with the lag.
func (p progress) update(st kafka.Stats) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("results (lag %d)", st.Lag))
	p.bar.Set64(int64(st.RecordsOut))
}

func (s *kafkaSummary) write(w io.Writer) {
	st := s.Kafka
	fmt.Fprintf(w, "gpubuf run: %s on %d x %s (%s backend), %s from %s (group %s) to %s, %s\n\n",
		strings.Join(s.Kernels, " -> "), s.Devices, s.Device, s.Backend, s.Topic, s.Brokers, s.Group, s.OutTopic, st.Delivery)
	t := newTable("measure", "value")
	t.add("records in", fmt.Sprintf("%d (%s)", st.RecordsIn, humanRate(st.InPerSec)+"/s"))
	t.add("results out", fmt.Sprintf("%d (%s)", st.RecordsOut, humanRate(st.OutPerSec)+"/s"))
	t.add("dead letters", st.DeadLetters)
	t.add("batches", fmt.Sprintf("%d (%d failed)", st.Batches, st.FailedBatches))
	t.add("elapsed", fmt.Sprintf("%.3f s", s.ElapsedSec))
	if len(st.Partitions) == 0 {
		// The worker gave its partitions back as it left the group.
		t.add("lag", "- (no partitions assigned at exit)")
	} else {
		t.add("lag", fmt.Sprintf("%d over %d partitions", st.Lag, len(st.Partitions)))
	}
	for _, d := range st.Devices {
		t.add(fmt.Sprintf("device %d in flight", d.Device), fmt.Sprintf("now %d, max %d", d.InFlight, d.MaxInFlight))
	}
	t.add("commits", fmt.Sprintf("%d (%d failed), latency mean %.2f ms, max %.2f ms", st.Commits, st.CommitErrors, float64(st.CommitLatency)/1e6, float64(st.CommitLatencyMax)/1e6))
	if st.Delivery == kafka.ExactlyOnce.String() {
		t.add("transactions", fmt.Sprintf("%d committed, %d aborted", st.Transactions, st.Aborted))
	}
	t.add("rebalances", st.Rebalances)
	t.add("paused for backpressure", fmt.Sprintf("%.3f s (%d times)", st.Paused.Seconds(), st.Pauses))
	t.add("records held", fmt.Sprintf("max %d (bound %d)", st.MaxHeldRecords, st.HeldRecordsBound))
	if s.verify {
		t.add("verified", fmt.Sprintf("%d results match the Go reference, %d differ, %d inputs have none", s.Verified, s.Mismatches, s.Missing))
	}
	t.write(w)
}

// watchGroupDone calls done once group has committed every partition of
// topic up to its end offset, and kept it so for idle.
func watchGroupDone(ctx context.Context, done func(), brokers []string, group, topic string, idle time.Duration) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		return // the worker's own client reports the brokers
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var since time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if groupDone(ctx, adm, group, topic) {
			if since.IsZero() {
				since = time.Now()
			}
			if time.Since(since) >= idle {
				done()
				return
			}
		} else {
			since = time.Time{}
		}
	}
}

// groupDone reports whether group's committed offsets reach the end of
// every partition of topic.
func groupDone(ctx context.Context, adm *kadm.Client, group, topic string) bool {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(qctx, topic)
	if err != nil || ends.Error() != nil {
		return false
	}
	committed, err := adm.FetchOffsets(qctx, group)
	if err != nil || committed.Error() != nil {
		return false
	}
	all := true
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset == 0 {
			return // an empty partition: nothing to commit
		}
		c, ok := committed.Lookup(o.Topic, o.Partition)
		if !ok || c.At < o.Offset {
			all = false
		}
	})
	return all
}

// serveMetrics serves w's metrics at http://addr/metrics until stop is
// called, and says where on stderr.
func serveMetrics(addr string, w *kafka.Worker, stderr io.Writer) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(w.Collector())
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Fprintf(stderr, "gpubuf run: metrics at http://%s/metrics\n", ln.Addr())
	return func() { srv.Close() }, nil
}
