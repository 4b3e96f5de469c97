package host

import (
	"context"
	"io"
	"math/rand/v2"
	"testing"
	"time"
)

// TestCompletionQueueParks drives the completion queue alone: batches are
// delivered in a random order (ordered queues get them out of order) in
// runs of random length, between random pops, with a capacity smaller
// than the batches. Expected: delivering never waits; the items never
// number more than the capacity; ordered, Next sees the batches in Seq
// order, unordered each once; every job is handed back as moved exactly
// once, when its completion goes in (so, ordered, in Seq order), which is
// what releases its frame; unbound lets every parked job in.
func TestCompletionQueueParks(t *testing.T) {
	for _, ordered := range []bool{true, false} {
		for _, capacity := range []int{1, 2, 5} {
			seed := uint64(time.Now().UnixNano())
			rng := rand.New(rand.NewPCG(seed, 7))
			t.Logf("ordered %v, capacity %d: seed %d", ordered, capacity, seed)
			const n = 400
			var q completionQueue
			q.init(capacity, ordered, time.Now(), nil)
			jobs := make([]*job, n)
			for i := range jobs {
				jobs[i] = &job{Batch: Batch{Seq: uint64(i)}}
				jobs[i].c = Completion{Batch: jobs[i].Batch}
			}
			// The delivery order: ordered queues get runs of batches
			// shuffled within windows of 8, as streams finish them.
			order := rng.Perm(n)
			if ordered {
				order = order[:0]
				for base := 0; base < n; base += 8 {
					for _, k := range rng.Perm(min(8, n-base)) {
						order = append(order, base+k)
					}
				}
			}
			movedAt := make([]int, n) // when each job was handed back, from 1
			moves := 0
			noteMoved := func(ms []*job) {
				for _, j := range ms {
					if movedAt[j.Seq] != 0 {
						t.Fatalf("job %d handed back twice", j.Seq)
					}
					moves++
					movedAt[j.Seq] = moves
				}
			}
			var popped []uint64
			pop := func() {
				c, m, _, _, err := q.pop(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if m != nil {
					noteMoved([]*job{m})
				}
				popped = append(popped, c.Seq)
			}
			for next := 0; next < n; {
				run := 1 + rng.IntN(4)
				var js []*job
				for ; run > 0 && next < n; run-- {
					js = append(js, jobs[order[next]])
					next++
				}
				noteMoved(q.deliver(js, nil, 0))
				if p := q.pending(); p > capacity {
					t.Fatalf("%d completions pending, capacity %d", p, capacity)
				}
				for k := rng.IntN(4); k > 0 && q.pending() > 0; k-- {
					pop()
				}
			}
			noteMoved(q.unbound(nil))
			q.finish()
			for {
				c, m, _, _, err := q.pop(context.Background())
				if err == io.EOF {
					break
				}
				if err != nil || m != nil {
					t.Fatalf("pop after unbound: %v, moved %v", err, m)
				}
				popped = append(popped, c.Seq)
			}
			if len(popped) != n || moves != n {
				t.Fatalf("%d popped, %d handed back; want %d each", len(popped), moves, n)
			}
			seen := make([]bool, n)
			for i, s := range popped {
				if seen[s] {
					t.Fatalf("batch %d popped twice", s)
				}
				seen[s] = true
				if ordered && s != uint64(i) {
					t.Fatalf("ordered: pop %d is batch %d", i, s)
				}
			}
			// A job goes in when it is handed back: the items come out
			// in the order jobs were handed back.
			for i := 1; i < n; i++ {
				if movedAt[popped[i]] < movedAt[popped[i-1]] {
					t.Fatalf("batch %d popped after batch %d but handed back before it", popped[i], popped[i-1])
				}
			}
		}
	}
}
