package kafka

import (
	"context"
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/gpubuf/gpubuf/host"
)

const poison = 0xDEADBEEF

// groupCommitted is the group's committed offset of each partition of
// topic "in".
func groupCommitted(t *testing.T, c *kfake.Cluster, group string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	offs, err := kadm.NewClient(cl).FetchOffsets(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == "in" && o.Err == nil {
			out[o.Partition] = o.At
		}
	})
	return out
}

// checkCommitted: every input before a partition's committed offset has
// a result (or a dead letter): nothing is committed whose results were
// not produced.
func checkCommitted(t *testing.T, committed map[int32]int64, in map[[2]int64]*kgo.Record, outs ...[]*kgo.Record) {
	t.Helper()
	seen := map[[2]int64]bool{}
	for _, out := range outs {
		for _, r := range out {
			p, _ := strconv.ParseInt(header(r, HeaderPartition), 10, 32)
			off, _ := strconv.ParseInt(header(r, HeaderOffset), 10, 64)
			seen[[2]int64{p, off}] = true
		}
	}
	for id := range in {
		if c, ok := committed[int32(id[0])]; ok && id[1] < c && !seen[id] {
			t.Errorf("partition %d is committed up to %d, but offset %d has no result", id[0], c, id[1])
		}
	}
}

// poisonOptions run first_word, which faults on a poisoned record.
func poisonOptions(t *testing.T, c *kfake.Cluster) Options {
	t.Helper()
	ptx, err := os.ReadFile("testdata/first_word.ptx")
	if err != nil {
		t.Fatal(err)
	}
	o := testOptions(t, c, 1)
	o.Pipeline.Stages = []host.KernelSpec{{Name: "first_word", PTX: ptx, Unit: 4, OutPerRecord: 4, ThreadsPerRecord: 1}}
	return o
}

// TestKernelFault: a batch whose kernel faults follows the ring's policy.
// Continue: its records go to the dead-letter topic with the reason, the
// rest have their results, and every offset is committed. Stop: the worker
// stops with the fault, and its partition is not committed past it.
func TestKernelFault(t *testing.T) {
	for _, policy := range []host.ErrorPolicy{host.Continue, host.Stop} {
		t.Run(policy.String(), func(t *testing.T) {
			leakCheck(t)
			c := newCluster(t, 4, "in", "out")
			var recs []*kgo.Record
			for i := range 200 {
				v := inputValue(i%testKeys, i/testKeys)
				if i == 100 {
					binary.LittleEndian.PutUint32(v, poison)
				}
				recs = append(recs, &kgo.Record{Key: keyOf(i % testKeys), Value: v})
			}
			in := produceRecords(t, c, "in", recs)
			bad := recs[100]
			o := poisonOptions(t, c)
			o.Pipeline.OnError = policy
			r := start(t, o, 500*time.Millisecond)
			var runErr error
			select {
			case runErr = <-r.done:
			case <-time.After(30 * time.Second):
				t.Fatal("the worker did not stop")
			}
			r.w.Close()
			st := r.w.Stats()
			out := readAll(t, c, "out", 200, false, 2*time.Second)
			dlq := readAll(t, c, "out.dlq", 1, false, 2*time.Second)
			committed := groupCommitted(t, c, "g")
			checkCommitted(t, committed, in, out, dlq)
			if policy == host.Stop {
				if runErr == nil || !strings.Contains(runErr.Error(), "fault") && !strings.Contains(runErr.Error(), "out of bounds") {
					t.Errorf("Run: %v; want the kernel's fault", runErr)
				}
				if c, ok := committed[bad.Partition]; ok && c > bad.Offset {
					t.Errorf("partition %d committed up to %d, past the faulted record %d", bad.Partition, c, bad.Offset)
				}
				return
			}
			if runErr != nil {
				t.Fatalf("Run: %v", runErr)
			}
			// The poisoned record's batch is dead-lettered whole, each
			// record with the reason and where it came from.
			var found bool
			for _, d := range dlq {
				if header(d, HeaderReason) == "" || header(d, HeaderTopic) != "in" {
					t.Errorf("dead letter without reason or topic: %v", d.Headers)
				}
				if header(d, HeaderOffset) == strconv.FormatInt(bad.Offset, 10) && header(d, HeaderPartition) == strconv.Itoa(int(bad.Partition)) {
					found = true
				}
			}
			if !found || st.FailedBatches != 1 || st.DeadLetters != uint64(len(dlq)) {
				t.Errorf("poisoned record dead-lettered %v; %d failed batches, %d dead letters (%d read)", found, st.FailedBatches, st.DeadLetters, len(dlq))
			}
			if len(out)+len(dlq) != 200 {
				t.Errorf("%d results and %d dead letters; want 200 in all", len(out), len(dlq))
			}
			for _, r := range out {
				off, _ := strconv.ParseInt(header(r, HeaderOffset), 10, 64)
				p, _ := strconv.ParseInt(header(r, HeaderPartition), 10, 32)
				src := in[[2]int64{p, off}]
				if got, want := binary.LittleEndian.Uint32(r.Value), binary.LittleEndian.Uint32(src.Value); got != want {
					t.Errorf("partition %d offset %d: result %#x, want the first word %#x", p, off, got, want)
				}
			}
			ends := map[int32]int64{}
			for id := range in {
				ends[int32(id[0])] = max(ends[int32(id[0])], id[1]+1)
			}
			for p, e := range ends {
				if committed[p] != e {
					t.Errorf("partition %d committed %d, want its end %d", p, committed[p], e)
				}
			}
		})
	}
}

// TestBadValue: values of the wrong size go to the dead-letter topic with
// the reason, and are committed; with length-prefixed framing, values up
// to the maximum are records and longer ones are dead letters.
func TestBadValue(t *testing.T) {
	leakCheck(t)
	for _, framing := range []Framing{Fixed, LengthPrefixed} {
		t.Run(framing.String(), func(t *testing.T) {
			c := newCluster(t, 2, "in", "out")
			sizes := []int{testRecordSize, 10, testRecordSize - 4, testRecordSize + 1, 0}
			var recs []*kgo.Record
			for i, n := range sizes {
				recs = append(recs, &kgo.Record{Key: keyOf(i), Value: make([]byte, n)})
			}
			produceRecords(t, c, "in", recs)
			o := testOptions(t, c, 1)
			o.Framing = framing
			r := start(t, o, 300*time.Millisecond)
			<-r.done
			r.w.Close()
			// Fixed: only the 64-byte value is a record. Length-prefixed
			// (at most 60 bytes): 10, 60 and 0 are; 64 and 65 are not.
			wantDead := map[Framing]int{Fixed: 4, LengthPrefixed: 2}[framing]
			dlq := readAll(t, c, "out.dlq", len(sizes), false, time.Second)
			out := readAll(t, c, "out", len(sizes), false, time.Second)
			if len(dlq) != wantDead || len(out) != len(sizes)-wantDead {
				t.Errorf("%d dead letters and %d results; want %d and %d", len(dlq), len(out), wantDead, len(sizes)-wantDead)
			}
			for _, d := range dlq {
				if !strings.Contains(header(d, HeaderReason), "bytes") {
					t.Errorf("dead letter's reason %q does not give the size", header(d, HeaderReason))
				}
			}
		})
	}
}

// failProduces makes the cluster refuse every produce while on.
func failProduces(c *kfake.Cluster, on *atomic.Bool) {
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !on.Load() {
			return nil, nil, false
		}
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
}

// TestProduceFailure: when the results cannot be produced, the worker
// stops with the error and commits nothing whose results are not in the
// output topic.
func TestProduceFailure(t *testing.T) {
	leakCheck(t)
	c := newCluster(t, 4, "in", "out")
	in := produceInput(t, c, "in", 400, 0)
	var on atomic.Bool
	failProduces(c, &on)
	on.Store(true)
	r := start(t, testOptions(t, c, 1), 0)
	var err error
	select {
	case err = <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker did not stop")
	}
	r.w.Close()
	on.Store(false)
	if err == nil || !strings.Contains(err.Error(), "producing the results") {
		t.Errorf("Run: %v; want the produce failure", err)
	}
	out := readAll(t, c, "out", len(in), false, time.Second)
	committed := groupCommitted(t, c, "g")
	checkCommitted(t, committed, in, out)
	for p, off := range committed {
		if off > 0 {
			t.Errorf("partition %d committed up to %d with every produce refused", p, off)
		}
	}
}

// TestCommitFailure: failed commits are counted and retried; every result
// arrives and the offsets are committed in the end.
func TestCommitFailure(t *testing.T) {
	leakCheck(t)
	c := newCluster(t, 4, "in", "out")
	in := produceInput(t, c, "in", 400, 0)
	var fails atomic.Int32
	fails.Store(3)
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if fails.Add(-1) < 0 {
			return nil, nil, false
		}
		r := req.(*kmsg.OffsetCommitRequest)
		resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.OffsetMetadataTooLarge.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	r := start(t, testOptions(t, c, 1), 500*time.Millisecond)
	if err := <-r.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	r.w.Close()
	st := r.w.Stats()
	if st.CommitErrors == 0 {
		t.Errorf("no commit error counted: %+v", st)
	}
	out := readAll(t, c, "out", len(in), false, 5*time.Second)
	checkOutputs(t, in, out, false)
	committed := groupCommitted(t, c, "g")
	for id := range in {
		if committed[int32(id[0])] <= id[1] {
			t.Errorf("partition %d committed only up to %d", id[0], committed[int32(id[0])])
			break
		}
	}
}

// TestSlowSink: a slow consumer of the results holds the ring full;
// fetching pauses (backpressure reaches the fetcher) and the records held
// stay under the bound, far below the input.
func TestSlowSink(t *testing.T) {
	leakCheck(t)
	c := newCluster(t, 4, "in", "out")
	in := produceInput(t, c, "in", 2000, 0)
	o := testOptions(t, c, 1)
	o.OutTopic = ""
	var got atomic.Int64
	o.Sink = func(ctx context.Context, recs []*kgo.Record) error {
		time.Sleep(5 * time.Millisecond)
		got.Add(int64(len(recs)))
		return nil
	}
	r := start(t, o, 0)
	waitFor(t, "every result", 60*time.Second, func() bool { return got.Load() >= int64(len(in)) })
	if err := r.finish(t); err != nil {
		t.Fatal(err)
	}
	st := r.w.Stats()
	bound := o.HeldRecordsBound()
	if st.Pauses == 0 || st.Paused <= 0 {
		t.Errorf("fetching never paused: %d pauses, %v", st.Pauses, st.Paused)
	}
	if st.MaxHeldRecords > bound || bound >= len(in) {
		t.Errorf("held up to %d records; bound %d, input %d", st.MaxHeldRecords, bound, len(in))
	}
	t.Logf("held at most %d records (bound %d) of %d; paused %v in %d pauses", st.MaxHeldRecords, bound, len(in), st.Paused, st.Pauses)
}

// TestBrokerLoss: a broker leaves the cluster mid-stream and the partition
// leaders move to the others; every input still gets its result, in
// per-key order, and nothing is committed whose result is missing.
func TestBrokerLoss(t *testing.T) {
	leakCheck(t)
	c := newCluster(t, 6, "in", "out")
	in1 := produceInput(t, c, "in", 300, 0)
	o := testOptions(t, c, 1)
	o.ClientOptions = append(o.ClientOptions, kgo.MetadataMinAge(50*time.Millisecond))
	r := start(t, o, 0)
	waitFor(t, "some results", 20*time.Second, func() bool { return outCount(r) >= 50 })
	if err := c.RemoveNode(1); err != nil {
		t.Fatal(err)
	}
	c.ShufflePartitionLeaders()
	in2 := produceInput(t, c, "in", 300, 300)
	all := merge(in1, in2)
	out := readCovering(t, c, "out", all, false, 20*time.Second)
	if err := r.finish(t); err != nil {
		t.Fatal(err)
	}
	checkOutputs(t, all, out, false)
	checkCommitted(t, groupCommitted(t, c, "g"), all, out)
}
