package host

import (
	"context"
	"io"
	"slices"
	"sync"
	"time"
)

// completionQueue is the ring's CQ: bounded, and in submission order when
// the ring is ordered. Nothing waits to deliver to it: a completion that is
// early (ordered: a batch before it has not been delivered) or finds the
// queue full is parked, with its job, until the delivery before it or a
// Next that makes room moves it in. A parked job keeps what it holds until
// then: its device frame (a batch a worker completed), or its slot (one
// completed where it was dispatched, whose frame is free at once), so the
// parked jobs are the ring's reorder buffer, bounded by its frames and
// slots (and, once it stops or is aborted, by the batches it cancels, which
// hold neither but are bounded by the slots).
//
// A job that holds its slot gets it back (slotBack) as it moves in, under
// the queue's lock: no consumer sees its completion before the slot is
// free. Whoever moves jobs in (deliver, pop, unbound) returns them to its
// caller, which releases their frames (Ring.released).
type completionQueue struct {
	mu   sync.Mutex
	cond sync.Cond // consumers wait on it
	// items are the completions waiting for Next: a FIFO in buf from
	// head, n of them.
	buf      []Completion
	head, n  int
	parked   []*job // done, not yet in items; by Seq when ordered
	capacity int
	ordered  bool
	// unbounded: Close is draining; nothing is parked for room any more.
	unbounded bool
	next      uint64 // the next Seq to move in, when ordered
	finished  bool   // nothing more will be delivered
	waiting   int    // consumers in cond.Wait
	delivered deliveredCounts
	epoch     time.Time // the ring's start: pop times its waits from it
	// slotBack gives back, at now, the slot of a job that holds it, as
	// the job moves in. It must not block.
	slotBack func(s *Slot, now time.Duration)
}

func (q *completionQueue) init(capacity int, ordered bool, epoch time.Time, slotBack func(*Slot, time.Duration)) {
	q.capacity = capacity
	q.ordered = ordered
	q.epoch = epoch
	q.slotBack = slotBack
	q.buf = make([]Completion, capacity)
	q.cond.L = &q.mu
}

// room reports whether one more completion fits; q.mu is held.
func (q *completionQueue) roomLocked() bool {
	return q.unbounded || q.n < q.capacity
}

// moveLocked moves j in at now: its slot back, if it holds it, then its
// completion into the items; q.mu is held.
func (q *completionQueue) moveLocked(j *job, now time.Duration) {
	if j.holdsSlot {
		j.holdsSlot = false
		q.slotBack(j.slot, now)
	}
	q.appendLocked(j.c)
}

// appendLocked adds c to the items, growing the buffer only when
// unbounded; q.mu is held.
func (q *completionQueue) appendLocked(c Completion) {
	if q.n == len(q.buf) {
		grown := make([]Completion, 2*len(q.buf)+1)
		for i := range q.n {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = c
	q.n++
	q.delivered.count(&c)
	if q.ordered {
		q.next++
	}
}

// deliver puts the completions of js (done, their completions filled in)
// in the queue at now, in the order given, and parks those that cannot go
// in yet. It appends to moved the jobs whose completions went in, js's and
// parked ones the delivery let in, in the order they went in, for the
// caller to release.
func (q *completionQueue) deliver(js []*job, moved []*job, now time.Duration) []*job {
	q.mu.Lock()
	before := q.n
	for _, j := range js {
		// Unordered, what is parked was parked for room and goes first.
		if q.roomLocked() && (q.ordered && j.c.Seq == q.next || !q.ordered && len(q.parked) == 0) {
			q.moveLocked(j, now)
			moved = append(moved, j)
			continue
		}
		q.parkLocked(j)
	}
	if q.ordered && q.n > before {
		moved = q.moveInLocked(moved, now)
	}
	q.wakeLocked(before)
	q.mu.Unlock()
	return moved
}

// parkLocked parks j: in Seq order when ordered, else last; q.mu is held.
func (q *completionQueue) parkLocked(j *job) {
	i := len(q.parked)
	if q.ordered {
		// Usually the latest: search from the end.
		for i > 0 && q.parked[i-1].c.Seq > j.c.Seq {
			i--
		}
	}
	q.parked = slices.Insert(q.parked, i, j)
}

// moveInLocked moves parked jobs in at now while there is room and,
// ordered, the first is next; it appends them to moved. q.mu is held.
func (q *completionQueue) moveInLocked(moved []*job, now time.Duration) []*job {
	k := 0
	for k < len(q.parked) && q.roomLocked() && (!q.ordered || q.parked[k].c.Seq == q.next) {
		q.moveLocked(q.parked[k], now)
		moved = append(moved, q.parked[k])
		k++
	}
	if k > 0 {
		n := copy(q.parked, q.parked[k:])
		clear(q.parked[n:])
		q.parked = q.parked[:n]
	}
	return moved
}

// wakeLocked wakes the waiting consumers when the items grew from before;
// q.mu is held.
func (q *completionQueue) wakeLocked(before int) {
	if q.n > before && q.waiting > 0 {
		q.cond.Broadcast()
	}
}

// pop takes the oldest completion, waiting for one; it returns io.EOF once
// the queue is finished and empty, and how long it waited. The room it
// makes may let a parked job in: pop returns it, for the caller to
// release, and when (now) it went in.
func (q *completionQueue) pop(ctx context.Context) (c Completion, moved *job, now, waited time.Duration, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 && !q.finished {
		// A monotonic clock read (time.Since) costs half a time.Now.
		start := time.Since(q.epoch)
		defer func() { waited = time.Since(q.epoch) - start }()
		if ctx.Done() != nil { // a context that can end wakes the wait
			stop := context.AfterFunc(ctx, func() {
				q.mu.Lock()
				q.cond.Broadcast()
				q.mu.Unlock()
			})
			defer stop()
		}
	}
	for q.n == 0 && !q.finished {
		if err := ctx.Err(); err != nil {
			return Completion{}, nil, 0, 0, err
		}
		q.waiting++
		q.cond.Wait()
		q.waiting--
	}
	if q.n == 0 {
		return Completion{}, nil, 0, 0, io.EOF
	}
	c = q.buf[q.head]
	q.buf[q.head] = Completion{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	if len(q.parked) > 0 {
		var one [1]*job
		before := q.n
		now = time.Since(q.epoch)
		if m := q.moveInLocked(one[:0], now); len(m) > 0 {
			moved = m[0]
		}
		q.wakeLocked(before)
	}
	return c, moved, now, waited, nil
}

// unbound lifts the bound for Close, which must not wait for a consumer,
// and moves in what was parked for room; it appends those to moved.
func (q *completionQueue) unbound(moved []*job) []*job {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.unbounded = true
	before := q.n
	moved = q.moveInLocked(moved, time.Since(q.epoch))
	q.wakeLocked(before)
	return moved
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
	return q.n
}

// counts are what went in so far, and the number pending.
func (q *completionQueue) counts() (deliveredCounts, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.delivered, q.n
}
