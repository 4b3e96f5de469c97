package kafka

import (
	"bytes"
	"context"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/gpubuf/gpubuf/gpu"
	_ "github.com/gpubuf/gpubuf/gpu/emu"
	"github.com/gpubuf/gpubuf/host"
)

const (
	testRecordSize = 64
	testKeys       = 24
)

// leakCheck fails the test if a goroutine it started outlives it.
func leakCheck(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// newCluster starts a three-broker kfake cluster with the topics seeded,
// each of partitions partitions, and session timeouts short enough for a
// lost member to be noticed in a test.
func newCluster(t *testing.T, partitions int32, topics ...string) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(
		kfake.NumBrokers(3),
		kfake.SeedTopics(partitions, topics...),
		kfake.GroupMinSessionTimeout(100*time.Millisecond),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// inputValue is record seq of key k: the key's index and its sequence
// number, then bytes that depend on both, so every record differs.
func inputValue(k, seq int) []byte {
	v := make([]byte, testRecordSize)
	binary.LittleEndian.PutUint32(v[0:], uint32(k))
	binary.LittleEndian.PutUint32(v[4:], uint32(seq))
	for i := 8; i < len(v); i++ {
		v[i] = byte(k*31 + seq*7 + i*13)
	}
	return v
}

func keyOf(k int) []byte { return []byte("key-" + strconv.Itoa(k)) }

// produceInput writes n keyed records to topic, keys round robin, and
// returns them by partition and offset.
func produceInput(t *testing.T, c *kfake.Cluster, topic string, n, from int) map[[2]int64]*kgo.Record {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range n {
		j := from + i
		recs[i] = &kgo.Record{Key: keyOf(j % testKeys), Value: inputValue(j%testKeys, j/testKeys)}
	}
	return produceRecords(t, c, topic, recs)
}

// produceRecords writes recs to topic and returns them by partition and
// offset.
func produceRecords(t *testing.T, c *kfake.Cluster, topic string, recs []*kgo.Record) map[[2]int64]*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	out := map[[2]int64]*kgo.Record{}
	for _, r := range recs {
		out[[2]int64{int64(r.Partition), r.Offset}] = r
	}
	return out
}

// newReader is a client that reads topic from the start, only committed
// records when committed.
func newReader(t *testing.T, c *kfake.Cluster, topic string, committed bool) *kgo.Client {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// readAll reads topic from the start until want records came or timeout.
func readAll(t *testing.T, c *kfake.Cluster, topic string, want int, committed bool, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl := newReader(t, c, topic, committed)
	defer cl.Close()
	var out []*kgo.Record
	deadline := time.Now().Add(timeout)
	for len(out) < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		out = append(out, fs.Records()...)
	}
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// checkOutputs checks the results against the inputs: each result's
// input (by its headers) exists, has its key, and the result is the Go
// reference's; per key, the first occurrences of the results come in
// input order; every input has a result. exactlyOnce: no input has two.
func checkOutputs(t *testing.T, in map[[2]int64]*kgo.Record, out []*kgo.Record, exactlyOnce bool) {
	t.Helper()
	ref, err := host.BatchKernel("batch_checksum")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[2]int64]int{}
	lastSeq := map[string]int{}
	bad := 0
	for _, r := range out {
		p, err1 := strconv.ParseInt(header(r, HeaderPartition), 10, 32)
		off, err2 := strconv.ParseInt(header(r, HeaderOffset), 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("result without input headers: %v", r.Headers)
		}
		id := [2]int64{p, off}
		src := in[id]
		if src == nil {
			t.Fatalf("result for partition %d offset %d, which is no input", p, off)
		}
		seen[id]++
		if seen[id] > 1 {
			if exactlyOnce {
				t.Errorf("partition %d offset %d has %d results, want 1", p, off, seen[id])
			}
			continue // a replay: readers drop it by its offset
		}
		if !bytes.Equal(r.Key, src.Key) {
			t.Errorf("partition %d offset %d: key %q, want %q", p, off, r.Key, src.Key)
		}
		if want := ref.Reference(src.Value, testRecordSize); !bytes.Equal(r.Value, want) && bad < 5 {
			bad++
			t.Errorf("partition %d offset %d: result %x, want %x", p, off, r.Value, want)
		}
		seq := int(binary.LittleEndian.Uint32(src.Value[4:]))
		k := string(src.Key)
		if last, ok := lastSeq[k]; ok && seq != last+1 {
			t.Errorf("key %s: the result of its record %d follows that of record %d", k, seq, last)
		}
		lastSeq[k] = seq
	}
	missing := 0
	for id := range in {
		if seen[id] == 0 {
			if missing < 5 {
				t.Errorf("no result for partition %d offset %d", id[0], id[1])
			}
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d inputs have no result", missing, len(in))
	}
}

// testOptions are a worker's options on a cluster: batch_checksum on
// emulated devices, small slots so that a run of records makes several
// batches.
func testOptions(t *testing.T, c *kfake.Cluster, devices int) Options {
	t.Helper()
	k, err := host.BatchKernel("batch_checksum")
	if err != nil {
		t.Fatal(err)
	}
	var devs []gpu.Device
	for i := range devices {
		d, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu, Ordinal: i})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		devs = append(devs, d)
	}
	return Options{
		Brokers: c.ListenAddrs(), Topics: []string{"in"}, Group: "g", OutTopic: "out",
		Devices: devs,
		Pipeline: host.PipelineOptions{
			Stages: []host.KernelSpec{k.Spec}, RecordSize: testRecordSize,
			SlotSize: 16 * testRecordSize, Slots: 3,
		},
		SessionTimeout: 800 * time.Millisecond,
		CommitInterval: 50 * time.Millisecond,
		ConnectTimeout: 5 * time.Second,
	}
}

// running is a worker running in the background.
type running struct {
	w    *Worker
	done chan error
	stop context.CancelFunc
}

func start(t *testing.T, o Options, idle time.Duration) *running {
	t.Helper()
	w, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, done: make(chan error, 1), stop: cancel}
	go func() { r.done <- w.Run(ctx, idle) }()
	return r
}

// finish stops r gracefully and returns Run's error.
func (r *running) finish(t *testing.T) error {
	t.Helper()
	r.stop()
	select {
	case err := <-r.done:
		r.w.Close()
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop within 30s")
	}
	return nil
}

// waitIdle waits until every worker has been idle (nothing to do, no lag)
// or the timeout.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// outCount counts the results acknowledged by workers.
func outCount(ws ...*running) uint64 {
	var n uint64
	for _, r := range ws {
		n += r.w.Stats().RecordsOut
	}
	return n
}

// readCovering reads topic from the start until every input has a result,
// or timeout.
func readCovering(t *testing.T, c *kfake.Cluster, topic string, in map[[2]int64]*kgo.Record, committed bool, timeout time.Duration) []*kgo.Record {
	t.Helper()
	cl := newReader(t, c, topic, committed)
	defer cl.Close()
	var out []*kgo.Record
	seen := map[[2]int64]bool{}
	deadline := time.Now().Add(timeout)
	for len(seen) < len(in) && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		for _, r := range fs.Records() {
			out = append(out, r)
			p, _ := strconv.ParseInt(header(r, HeaderPartition), 10, 32)
			off, _ := strconv.ParseInt(header(r, HeaderOffset), 10, 64)
			if in[[2]int64{p, off}] != nil {
				seen[[2]int64{p, off}] = true
			}
		}
	}
	// What else is there now (duplicates) is read too, briefly.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	out = append(out, cl.PollFetches(ctx).Records()...)
	cancel()
	return out
}

func merge(ms ...map[[2]int64]*kgo.Record) map[[2]int64]*kgo.Record {
	out := map[[2]int64]*kgo.Record{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}
