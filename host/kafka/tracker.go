package kafka

import (
	"sync"
	"time"
)

// tp is a topic partition.
type tp struct {
	topic string
	part  int32
}

// itemState is where a run of one partition's records is.
type itemState int

const (
	itemQueued    itemState = iota // polled, not on a device yet
	itemSubmitted                  // on a device, or its results on their way
	itemDone                       // results acknowledged: its offsets may be committed
	itemFailed                     // its results will never be acknowledged: nothing at or after it is committed
	itemDropped                    // dropped before it was submitted (its partition was revoked)
)

// item is a run of one partition's records, [first, last] in offsets, on
// its way to being committed: a batch, or a record that goes to the
// dead-letter topic.
type item struct {
	tp          tp
	first, last int64
	n           int   // records
	epoch       int32 // leader epoch of its last record
	gen         uint64
	state       itemState
}

// partState is what the tracker knows of one assigned partition.
type partState struct {
	gen   uint64  // the assignment this state belongs to
	items []*item // in offset order, not yet committed or dropped
	// committed is the offset committed last (the next to read); -1 none
	// yet by this worker.
	committed int64
	// end is the partition's end offset (high watermark) last seen.
	end int64
	// next is the offset after the last record polled.
	next int64
}

// tracker follows, per partition, the runs polled in offset order and
// says what may be committed: the offset after the longest prefix of done
// runs. Its lock also orders a revoke against the submission of a run.
type tracker struct {
	mu    sync.Mutex
	cond  sync.Cond
	parts map[tp]*partState
	gen   uint64 // assignment generations, one per assign
	held  int    // records of live items
	max   int    // most held at once
}

func newTracker() *tracker {
	t := &tracker{parts: map[tp]*partState{}}
	t.cond.L = &t.mu
	return t
}

// assign starts tracking partitions (again).
func (t *tracker) assign(ps []tp) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range ps {
		if _, ok := t.parts[p]; ok {
			continue
		}
		t.gen++
		t.parts[p] = &partState{gen: t.gen, committed: -1, end: -1, next: -1}
	}
}

// add registers a polled run, in offset order; nil when its partition is
// not assigned (it was revoked after the poll).
func (t *tracker) add(p tp, first, last int64, n int, epoch int32) *item {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.parts[p]
	if ps == nil {
		return nil
	}
	it := &item{tp: p, first: first, last: last, n: n, epoch: epoch, gen: ps.gen}
	ps.items = append(ps.items, it)
	ps.next = last + 1
	t.held += n
	t.max = max(t.max, t.held)
	return it
}

// live reports whether it's partition is still assigned to the assignment
// it was polled in; t.mu is held.
func (t *tracker) liveLocked(it *item) bool {
	ps := t.parts[it.tp]
	return ps != nil && ps.gen == it.gen && it.state == itemQueued
}

// submit marks it submitted when its partition is still assigned, and
// runs fn under the lock (a revoke then waits for it); false: dropped.
func (t *tracker) submit(it *item, fn func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.liveLocked(it) {
		t.dropLocked(it)
		return false
	}
	it.state = itemSubmitted
	if fn != nil {
		fn()
	}
	return true
}

func (t *tracker) dropLocked(it *item) {
	if it.state == itemQueued {
		it.state = itemDropped
		t.held -= it.n
	}
}

// drop forgets a run that was not submitted.
func (t *tracker) drop(it *item) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dropLocked(it)
	t.cond.Broadcast()
}

// clearItems forgets every run (a transaction ended: its offsets are
// committed, or will be read again).
func (t *tracker) clearItems() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ps := range t.parts {
		for _, it := range ps.items {
			if it.state == itemQueued || it.state == itemSubmitted {
				t.held -= it.n
				it.state = itemDropped
			}
		}
		ps.items = nil
	}
}

// heldMax is the most records held at once so far.
func (t *tracker) heldMax() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.max
}

// finish marks it done (ok) or failed.
func (t *tracker) finish(it *item, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if it.state != itemSubmitted && it.state != itemQueued {
		return // dropped or abandoned by a revoke: its results are not committed
	}
	t.held -= it.n
	if ok {
		it.state = itemDone
	} else {
		it.state = itemFailed
	}
	t.cond.Broadcast()
}

// committable is, per partition with something new to commit, the offset
// after its longest prefix of done runs, and that run's leader epoch.
func (t *tracker) committable() map[tp]item {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[tp]item{}
	for p, ps := range t.parts {
		if it, ok := ps.prefixLocked(); ok && it.last+1 > ps.committed {
			out[p] = it
		}
	}
	return out
}

// prefixLocked is the last done run of ps's done prefix.
func (ps *partState) prefixLocked() (item, bool) {
	var last item
	found := false
	for _, it := range ps.items {
		if it.state == itemDropped {
			continue
		}
		if it.state != itemDone {
			break
		}
		last, found = *it, true
	}
	return last, found
}

// committed records that p's offsets up to next were committed, and
// forgets the runs before it.
func (t *tracker) committed(p tp, gen uint64, next int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ps := t.parts[p]
	if ps == nil || ps.gen != gen {
		return
	}
	ps.committed = max(ps.committed, next)
	i := 0
	for i < len(ps.items) && (ps.items[i].state == itemDropped || ps.items[i].state == itemDone && ps.items[i].last < ps.committed) {
		i++
	}
	ps.items = ps.items[i:]
}

// revoke stops p's queued runs from being submitted and waits, until
// deadline, for its submitted runs to finish. It returns, per partition,
// the done prefix to commit (when there is one) and forgets the
// partitions; abandoned counts the runs still submitted at the deadline.
func (t *tracker) revoke(ps []tp, deadline time.Time) (commit map[tp]item, abandoned int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	timer := time.AfterFunc(time.Until(deadline), func() {
		t.mu.Lock()
		t.cond.Broadcast()
		t.mu.Unlock()
	})
	defer timer.Stop()
	for _, p := range ps {
		if st := t.parts[p]; st != nil {
			st.gen = 0 // no run of it is submitted from now on
			for _, it := range st.items {
				t.dropLocked(it)
			}
		}
	}
	for {
		busy := 0
		for _, p := range ps {
			if st := t.parts[p]; st != nil {
				for _, it := range st.items {
					if it.state == itemSubmitted {
						busy++
					}
				}
			}
		}
		if busy == 0 || !time.Now().Before(deadline) {
			abandoned = busy
			break
		}
		t.cond.Wait()
	}
	commit = map[tp]item{}
	for _, p := range ps {
		st := t.parts[p]
		if st == nil {
			continue
		}
		if it, ok := st.prefixLocked(); ok && it.last+1 > st.committed {
			commit[p] = it
		}
		for _, it := range st.items {
			if it.state == itemSubmitted || it.state == itemQueued {
				t.held -= it.n
				it.state = itemDropped // abandoned: its results, if any come, are not committed
			}
		}
		delete(t.parts, p)
	}
	return commit, abandoned
}

// busy reports whether any run is queued or submitted.
func (t *tracker) busy() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ps := range t.parts {
		for _, it := range ps.items {
			if it.state == itemQueued || it.state == itemSubmitted {
				return true
			}
		}
	}
	return false
}

// setEnd records a partition's end offset.
func (t *tracker) setEnd(p tp, end int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ps := t.parts[p]; ps != nil {
		ps.end = max(ps.end, end)
	}
}

// setCommitted records offsets committed by others (a transaction, or
// the group's at assignment).
func (t *tracker) setCommitted(p tp, next int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ps := t.parts[p]; ps != nil {
		ps.committed = max(ps.committed, next)
	}
}

// PartitionLag is one assigned partition's progress.
type PartitionLag struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Device    int    `json:"device"`
	Committed int64  `json:"committed"` // next offset to read, as committed; -1 none yet
	End       int64  `json:"end"`       // end offset (high watermark); -1 not known yet
	Lag       int64  `json:"lag"`       // End - Committed (End when nothing is committed); -1 unknown
}

// lags lists the assigned partitions' lags.
func (t *tracker) lags(device func(tp) int) []PartitionLag {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]PartitionLag, 0, len(t.parts))
	for p, ps := range t.parts {
		l := PartitionLag{Topic: p.topic, Partition: p.part, Device: device(p), Committed: ps.committed, End: ps.end, Lag: -1}
		if ps.end >= 0 {
			l.Lag = ps.end - max(0, ps.committed)
		}
		out = append(out, l)
	}
	return out
}
