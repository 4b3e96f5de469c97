package kafka

import (
	"testing"
	"time"

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
