package emu

import "sync"

// refs counts the users of an object that can be closed: the queued work
// that uses a buffer, the pending launches of a module's kernels, a copy
// in progress. Once closed it takes no new users.
type refs struct {
	mu     sync.Mutex
	idle   sync.Cond // broadcast when n drops to 0
	closed bool
	n      int
}

// acquire adds a user, unless the object is closed.
func (r *refs) acquire() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.n++
	return true
}

// release drops a user. It reports whether that was the last user of a
// closed object, which its caller then frees.
func (r *refs) release() (last bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n--
	if r.n == 0 && r.idle.L != nil {
		r.idle.Broadcast()
	}
	return r.n == 0 && r.closed
}

// close closes the object. first is whether this call closed it; idle is
// whether it had no users then, in which case the caller frees it (else the
// last release reports it).
func (r *refs) close() (first, idle bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false, false
	}
	r.closed = true
	return true, r.n == 0
}

// wait waits until the object has no users.
func (r *refs) wait() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.idle.L == nil {
		r.idle.L = &r.mu
	}
	for r.n > 0 {
		r.idle.Wait()
	}
}

func (r *refs) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}
