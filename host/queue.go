package host

import (
	"context"
	"io"
	"sync"
	"time"
)

// completionQueue is the ring's CQ: bounded, and in submission order when
// the ring is ordered. A push that is early (ordered) or finds the queue
// full waits; the waiting pushers are the reorder buffer, so it holds at
// most one batch per stream plus the dispatcher's.
type completionQueue struct {
	mu        sync.Mutex
	cond      sync.Cond // broadcast on every change
	items     []Completion
	capacity  int
	unbounded bool   // Close is draining: never wait for the consumer
	next      uint64 // the next Seq to deliver, when ordered
	finished  bool   // nothing more will be pushed
	// reserved counts completions promised by reserve and not yet pushed:
	// they hold room in the queue, and, ordered, the Seqs from next.
	reserved int
}

func (q *completionQueue) init(capacity int) {
	q.capacity = capacity
	q.cond.L = &q.mu
}

func (q *completionQueue) push(c Completion, ordered bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for (ordered && c.Seq != q.next) || (!q.unbounded && len(q.items)+q.reserved >= q.capacity) {
		q.cond.Wait()
	}
	q.items = append(q.items, c)
	if ordered {
		q.next++
	}
	q.cond.Broadcast()
}

// reserve promises seq's completion a place in the queue, if it can have
// one without waiting: it comes right after the completions already
// reserved (when ordered: only those and seq's own push move next), and
// there is room for it. pushReserved then delivers it.
func (q *completionQueue) reserve(seq uint64, ordered bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if ordered && seq != q.next+uint64(q.reserved) {
		return false
	}
	if !q.unbounded && len(q.items)+q.reserved >= q.capacity {
		return false
	}
	q.reserved++
	return true
}

// pushReserved delivers reserved completions, in the order reserved, with
// one wake-up for them all.
func (q *completionQueue) pushReserved(cs []Completion, ordered bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.items = append(q.items, cs...)
	q.reserved -= len(cs)
	if ordered {
		q.next += uint64(len(cs))
	}
	q.cond.Broadcast()
}

// pop takes the oldest completion, waiting for one; it returns io.EOF once
// the queue is finished and empty, and how long it waited.
func (q *completionQueue) pop(ctx context.Context) (Completion, time.Duration, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var start time.Time
	if len(q.items) == 0 && !q.finished {
		start = time.Now()
		stop := context.AfterFunc(ctx, func() {
			q.mu.Lock()
			q.cond.Broadcast()
			q.mu.Unlock()
		})
		defer stop()
	}
	for len(q.items) == 0 && !q.finished {
		if err := ctx.Err(); err != nil {
			return Completion{}, time.Since(start), err
		}
		q.cond.Wait()
	}
	var waited time.Duration
	if !start.IsZero() {
		waited = time.Since(start)
	}
	if len(q.items) == 0 {
		return Completion{}, waited, io.EOF
	}
	c := q.items[0]
	q.items[0] = Completion{}
	q.items = q.items[1:]
	q.cond.Broadcast()
	return c, waited, nil
}

func (q *completionQueue) unbound() {
	q.mu.Lock()
	q.unbounded = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

func (q *completionQueue) finish() {
	q.mu.Lock()
	q.finished = true
	q.cond.Broadcast()
	q.mu.Unlock()
}

// pending is the number of completions waiting for Next.
func (q *completionQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
