package kafka

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestEndToEnd: three workers, each with its own client and ring on its
// own emulated device, share a 12-partition topic; every input's result
// is in the output topic once, per-key order holds, and the results are
// the Go reference's.
func TestEndToEnd(t *testing.T) {
	leakCheck(t)
	c := newCluster(t, 12, "in", "out")
	in := produceInput(t, c, "in", 1200, 0)
	var ws []*running
	for range 3 {
		ws = append(ws, start(t, testOptions(t, c, 1), 0))
	}
	out := readAll(t, c, "out", len(in), false, 30*time.Second)
	for _, r := range ws {
		if err := r.finish(t); err != nil {
			t.Errorf("worker: %v", err)
		}
	}
	checkOutputs(t, in, out, true)
	var parts int
	for _, r := range ws {
		st := r.w.Stats()
		if st.Commits == 0 {
			t.Errorf("a worker committed nothing: %+v", st)
		}
		parts += int(st.Rebalances)
	}
	if parts == 0 {
		t.Error("no worker saw an assignment")
	}
}

// TestWorkerLoss: a worker crashes (static membership: no leave; its
// partitions move once its session times out), a worker is added, and a
// worker leaves gracefully, all mid-stream. Every input has a result; the
// first results of each key are in order; replays are readable by their
// offsets (checkOutputs drops them).
func TestWorkerLoss(t *testing.T) {
	for _, d := range []Delivery{AtLeastOnce, ExactlyOnce} {
		t.Run(d.String(), func(t *testing.T) {
			leakCheck(t)
			c := newCluster(t, 12, "in", "out")
			opts := func(instance string) Options {
				o := testOptions(t, c, 1)
				o.Delivery = d
				o.InstanceID = instance
				// A crashed worker's open transaction holds its partitions'
				// offsets until it times out.
				o.ClientOptions = append(o.ClientOptions, kgo.TransactionTimeout(time.Second))
				return o
			}
			in1 := produceInput(t, c, "in", 600, 0)
			a := start(t, opts("a"), 0)
			b := start(t, opts("b"), 0)
			waitFor(t, "some results", 20*time.Second, func() bool { return outCount(a, b) >= 100 })
			a.w.crash()
			<-a.done
			in2 := produceInput(t, c, "in", 600, 600)
			cw := start(t, opts("c"), 0)
			readCovering(t, c, "out", merge(in1, in2), d == ExactlyOnce, 30*time.Second)
			if err := b.finish(t); err != nil {
				t.Errorf("worker b: %v", err)
			}
			in3 := produceInput(t, c, "in", 600, 1200)
			all := merge(in1, in2, in3)
			out := readCovering(t, c, "out", all, d == ExactlyOnce, 30*time.Second)
			if err := cw.finish(t); err != nil {
				t.Errorf("worker c: %v", err)
			}
			checkOutputs(t, all, out, d == ExactlyOnce)
		})
	}
}

// TestPartitionsAdded: partitions added to the input topic mid-stream are
// picked up without a restart, and nothing consumed before is processed
// again. The key-to-partition mapping changes with the count, so a key's
// records after the change may be in another partition: order holds per
// partition (gpubuf's guarantee), not across the change (the producers'
// to coordinate; see the README).
func TestPartitionsAdded(t *testing.T) {
	leakCheck(t)
	c := newCluster(t, 4, "in", "out")
	in1 := produceInput(t, c, "in", 400, 0)
	o := testOptions(t, c, 1)
	o.ClientOptions = append(o.ClientOptions, kgo.MetadataMaxAge(200*time.Millisecond), kgo.MetadataMinAge(50*time.Millisecond))
	r := start(t, o, 0)
	readCovering(t, c, "out", in1, false, 20*time.Second)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kadm.NewClient(cl).CreatePartitions(context.Background(), 4, "in"); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	in2 := produceInput(t, c, "in", 400, 400)
	newParts := 0
	for id := range in2 {
		if id[0] >= 4 {
			newParts++
		}
	}
	if newParts == 0 {
		t.Fatal("no record went to the new partitions")
	}
	all := merge(in1, in2)
	out := readCovering(t, c, "out", all, false, 20*time.Second)
	if err := r.finish(t); err != nil {
		t.Fatal(err)
	}
	seen := map[[2]int64]int{}
	last := map[string]int64{} // key and partition -> last offset
	for _, rec := range out {
		p, _ := strconv.ParseInt(header(rec, HeaderPartition), 10, 32)
		off, _ := strconv.ParseInt(header(rec, HeaderOffset), 10, 64)
		id := [2]int64{p, off}
		if seen[id]++; seen[id] > 1 {
			t.Errorf("partition %d offset %d processed %d times", p, off, seen[id])
		}
		k := string(rec.Key) + "/" + strconv.Itoa(int(p))
		if l, ok := last[k]; ok && off <= l {
			t.Errorf("key %s: offset %d after %d", k, off, l)
		}
		last[k] = off
	}
	for id := range all {
		if seen[id] == 0 {
			t.Errorf("partition %d offset %d has no result", id[0], id[1])
		}
	}
}
