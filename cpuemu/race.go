package cpuemu

import (
	"math/bits"
	"slices"
	"sync"
	"unsafe"
)

// The race checker: happens-before over the PTX memory model (§8), with a
// vector clock per lane and shadow state per 4-byte word of shared and
// global memory, in the manner of FastTrack (Flanagan and Freund, 2009).
//
// Clocks. Every lane has its own clock, which it ticks after each release
// (a warp sync, a barrier arrival, a fence, a release store). What a lane
// knows of the others is an immutable vector shared by every lane that
// learnt the same things: after a __syncwarp the 32 lanes share one
// vector, after a __syncthreads the whole block does. So a join costs
// O(lanes per block) once per sync, not once per lane, and less: the
// vector is in chunks of a warp, shared between clocks, and a join skips
// the chunks both sides share. What a lane knows of other blocks (learnt
// through fences and atomics) is a persistent trie by block id whose
// leaves are the vectors those blocks released, shared by pointer: a join
// walks only where two tries differ, so its cost does not grow with the
// grid.
//
// Edges (PTX ISA §8.9): bar.warp.sync among the lanes of its mask (its
// instruction text guarantees the store → sync → load pattern); bar.sync,
// barrier.sync, bar.red and bar.arrive (an arrival releases, a waiter
// acquires everything released to its barrier in that generation); the
// release and acquire patterns of §8.8 (.release/.acquire/.acq_rel
// operations, a fence before a strong write, a strong read before a
// fence), carried by a release clock kept on the word and extended by
// atomic read-modify-writes; and fence.sc in the order the fences ran.
// shfl, vote, match and redux order no memory (§9.7.8.6 and the notes on
// the warp collectives), and a lockstep warp is not modelled: two lanes of
// one warp race unless something above orders them.
//
// Races (§8.7.1): two accesses to overlapping bytes, at least one a write,
// from different threads, unordered by happens-before and not morally
// strong. Morally strong (§8.7) means both are strong (atomics, .relaxed,
// .acquire, .release, .volatile), cover the same bytes, and each one's
// scope contains the other's thread: atom.cta from two blocks races.
//
// Shadow state is per 4-byte word while the word is touched at full width
// (the fast path). The first access of less than a word splits the word:
// its state moves to four per-byte shadows (checker.split), so that every
// byte remembers its own last write and reads, and byte-wise copies
// between threads are checked byte by byte. Reads by threads of earlier
// blocks are kept up to foreignReads per word (per byte once split).
//
// Findings below error level (Hazard.Severity, Hazard.Reason): conflicting
// strong accesses that are morally strong, so no data race, but unordered,
// where the value a strong load read is used as data (taint.go); races
// ordered only through relaxed atomic read-modify-writes observed within a
// block with no fence (the "loose" clocks below); and weak write-write
// races that store the bytes already there.

// vclock is what a lane knows of the others. It is never changed once a
// lane holds it (nor once it is a word's release clock or a fence's
// snapshot): joins build a new one, or reuse an input that already holds
// the result.
type vclock struct {
	cta  int32    // the block the dense part describes (linear id)
	w    []*chunk // per warp of that block: the clocks known of its lanes
	ext  *extNode // what is known of the lanes of other blocks
	leaf *extNode // w as a leaf of other clocks' ext, made when first needed
	priv uint32   // while the clock is built: the chunks it made, which it may change
}

// chunk is what a clock knows of the 32 lanes of one warp; nil in
// vclock.w knows nothing. Clocks share chunks: a __syncwarp makes a new
// chunk for its warp and shares the others, so it costs O(warps), not
// O(lanes), per block. A chunk never changes once shared.
type chunk [32]uint32

// extNode is a node of a persistent trie from a block's linear id to what
// a clock knows of that block's lanes: extFan children per inner node,
// and leaves that hold a block's vector, a dense part some clock of that
// block had. A node never changes once made; a change copies the path
// from the root and shares the rest. So clocks that learnt the same
// things of other blocks share them, a leaf is the very vector the
// releasing block made, and joins, merges and comparisons skip every
// subtree the two sides share: they cost what differs, not the grid.
type extNode struct {
	kid [extFan]*extNode // inner nodes
	w   []*chunk         // leaves: per warp of the block
}

const (
	extBits = 4
	extFan  = 1 << extBits
)

type laneState struct {
	base *vclock
	// loose is what the lane knows through edges the memory model does
	// not give: relaxed atomic read-modify-writes observed within the
	// block with no fence, passed on by warp collectives; nil for none.
	// It need not hold base: a race is loosely ordered when base or
	// loose orders it.
	loose    *vclock
	own      uint32  // this lane's clock; base's entry of the lane may lag behind it
	fence    *vclock // the lane's clock at its last fence: what a later strong write releases
	fenceCTA bool    // that fence had .cta scope
	acq      *vclock // release clocks seen by strong reads since the last fence
	// seen holds the last strong writes of other threads this lane read
	// with a morally strong read, in a ring: observation order (§8.9.5)
	// puts each before the lane's later accesses.
	// Made at the lane's first such read: most lanes never make one.
	seen *seenWrites
}

// seenWrites is a ring of the last writes a lane observed.
type seenWrites struct {
	w [4]seenWrite
	n uint8
}

// seenWrite names a write by its thread, clock and instruction.
type seenWrite struct {
	tid, clk uint32
	op       int32
}

// access records one access in the shadow state.
type access struct {
	tid  uint32 // global lane id + 1; 0 = none
	clk  uint32
	op   int32 // index of the instruction
	mask uint8 // bytes of the word touched; in a byte's shadow, that byte
	// span is the bytes of the word the whole access touched, what
	// "overlap completely" (§8.7) compares once a word is split.
	span  uint8
	flags uint8
}

const (
	accWrite  = 1 << iota
	accAtomic // atom or red
	accStrong // atomics and .relaxed/.acquire/.release/.volatile
	accWide   // scope .gpu or .sys: contains threads of other blocks
)

// shadow is FastTrack's state of a word, or of one byte of a split word.
type shadow struct {
	w access // last write
	r access // the read since the last write, when there is one
	// rs > 0 is the index+1 of a readSet, when reads by several threads
	// are unordered. In a cell, rs < 0 marks a split word: -rs-1 is the
	// index of its byte shadows in checker.split, and w and r are empty.
	rs int32
}

// cell is the shadow state of one 4-byte word.
type cell struct {
	gen uint32 // shared memory: the block the cell belongs to
	shadow
	sync int32 // index+1 of the release clock stored in the word
}

// byteShadows is a split word: the shadow of each of its bytes.
type byteShadows [4]shadow

// readSet holds unordered reads of one word.
type readSet struct {
	cta   int32
	dense []access // per lane of block cta, once there are many
	held  []uint64 // a bit per entry of dense that holds a read
	list  []access // the first reads, and reads by earlier blocks
}

// setDense keeps read e of lane t in the dense part.
func (rs *readSet) setDense(t uint32, e access) {
	rs.dense[t] = e
	rs.held[t/64] |= 1 << (t % 64)
}

// eachDense calls f for each read in the dense part, in lane order: the
// cost follows the reads held, not the lanes of a block.
func (rs *readSet) eachDense(f func(t uint32, r access)) {
	for wi, w := range rs.held {
		for ; w != 0; w &= w - 1 {
			t := uint32(wi*64 + bits.TrailingZeros64(w))
			f(t, rs.dense[t])
		}
	}
}

// clearDense empties the dense part, at the cost of the reads it held.
func (rs *readSet) clearDense() {
	for wi, w := range rs.held {
		for ; w != 0; w &= w - 1 {
			rs.dense[wi*64+bits.TrailingZeros64(w)] = access{}
		}
		rs.held[wi] = 0
	}
}

type syncObj struct {
	vc  *vclock
	cta bool  // released at .cta scope: only threads of block blk may acquire it
	blk int32 // the block of the last release into it
	// The loose release of the last atomic read-modify-write of the
	// word, with no fence: the writer's base and loose clocks and its own
	// entry (lt: lane in block lblk, lc: its clock). lb nil: none.
	lb, ll *vclock
	lt, lc uint32
	lblk   int32
}

type hazKey struct{ prior, later int32 }

const (
	pageCells    = 1 << 10 // global shadow page: 4 KiB of memory
	listMax      = 16      // reads kept in a list before going dense
	foreignReads = 32
)

type globalShadow struct {
	pages []*[pageCells]cell
}

// shadowPages keeps the global shadow pages of finished launches, zeroed,
// for the next: a checked launch touches a fresh page for every 4 KiB of
// global memory, and pages the Go runtime has handed back to the system
// cost a page fault each to touch again (about 15 % of a checked
// lane_handoff launch's time). The pool holds no pointers into any
// launch, and the runtime empties it as it needs the memory.
var shadowPages = sync.Pool{New: func() any { return new([pageCells]cell) }}

// releasePages gives the launch's global shadow pages back to the pool,
// zeroed. The checker must not be used afterwards.
func (c *checker) releasePages() {
	for _, g := range c.global {
		for i, p := range g.pages {
			if p != nil {
				clear(p[:])
				shadowPages.Put(p)
				g.pages[i] = nil
			}
		}
	}
	c.lastA, c.lastG = nil, nil
}

type checker struct {
	l *launch
	n uint32 // lane slots per block: its threads', then its copy lanes' (race_async.go)
	// real is the thread slots per block (warps*32): n, or half of it
	// when the program has asynchronous copies.
	real uint32
	ctaCheck
	global map[*allocation]*globalShadow
	lastA  *allocation
	lastG  *globalShadow
	sets   []readSet
	free   []int32 // indexes+1 of read sets no cell uses
	split  []byteShadows
	freeSp []int32 // indexes of split words no cell uses
	ct     *cta    // the running block
	// dataUse says, per op, that a strong load's value is used as data
	// (taint.go); nil when the program has no strong load.
	dataUse []bool
	// seen holds the priors already reported for the access being
	// checked against a split word's bytes, so that one prior counts
	// once per word, as in an unsplit word.
	seen     []access
	checking bool
	syncs    []syncObj
	scGPU    *vclock
	cur      *cta // the block whose state ctaCheck holds (cooperative launches)
	extTop   int  // the shift of the root level of the ext tries: keys are block ids

	hazards map[hazKey]*Hazard
	order   []hazKey
}

// ctaCheck is the checker's state of the running block. Blocks that run
// one after another reuse one; the blocks of a cooperative grid each have
// their own, which enter swaps in when a block takes its turn.
type ctaCheck struct {
	cta     int32  // linear id of the block
	base    uint32 // global lane id of its lane 0
	gen     uint32
	lanes   []laneState
	zero    *vclock
	shared  []cell
	bar     [16]*vclock // clock released to each barrier this generation
	barSeen [16][]*vclock
	scCTA   *vclock
}

func newChecker(l *launch) *checker {
	nw := (l.cfg.Block.Count() + 31) / 32
	top := 0
	for g := l.cfg.Grid.Count() - 1; g >= extFan; g >>= extBits {
		top += extBits
	}
	real, n := uint32(nw*32), uint32(nw*32)
	if l.p.async {
		n *= 2 // a copy lane per thread
	}
	return &checker{l: l, n: n, real: real, extTop: top, global: map[*allocation]*globalShadow{}, hazards: map[hazKey]*Hazard{}, dataUse: l.p.dataUses()}
}

// newCTACheck makes the state of a block of a cooperative grid, which
// runs with the other blocks resident.
func (c *checker) newCTACheck(ct *cta) *ctaCheck {
	id := int32(ct.linear())
	s := &ctaCheck{cta: id, base: uint32(id) * c.n, gen: 1,
		zero:   &vclock{cta: id, w: make([]*chunk, c.n/32)},
		lanes:  make([]laneState, c.n),
		shared: make([]cell, (len(ct.shared)+3)/4),
	}
	for i := range s.lanes {
		s.lanes[i] = laneState{base: s.zero, own: 1}
	}
	return s
}

// enter makes block ct's state the running one, keeping the last
// block's.
func (c *checker) enter(ct *cta) {
	if c.cur == ct {
		return
	}
	if c.cur != nil {
		*c.cur.chk = c.ctaCheck
	}
	c.ctaCheck, c.cur, c.ct = *ct.chk, ct, ct
}

// endCTA forgets a finished block of a cooperative grid: its shared
// words' read sets go back to the pool.
func (c *checker) endCTA(ct *cta) {
	c.enter(ct)
	c.releaseShared()
	c.cur, ct.chk = nil, nil
}

// releaseShared gives the read sets of the running block's shared words
// back to the pool.
func (c *checker) releaseShared() {
	for i := range c.shared {
		if ce := &c.shared[i]; ce.gen == c.gen && ce.rs != 0 {
			c.releaseShadow(&ce.shadow)
		}
	}
}

// releaseShadow gives a word's read sets, and its byte shadows if it is
// split, back to the pools.
func (c *checker) releaseShadow(sh *shadow) {
	switch {
	case sh.rs > 0:
		c.release(sh.rs)
	case sh.rs < 0:
		i := -sh.rs - 1
		for b := range c.split[i] {
			if d := &c.split[i][b]; d.rs > 0 {
				c.release(d.rs)
			}
		}
		c.split[i] = byteShadows{}
		c.freeSp = append(c.freeSp, i)
	}
	sh.rs = 0
}

// startCTA resets the per-block state.
func (c *checker) startCTA(ct *cta) {
	c.ct = ct
	c.cta = int32(ct.linear())
	c.base = uint32(c.cta) * c.n
	// The old block's shared words are forgotten: so are their read sets.
	c.releaseShared()
	c.gen++
	c.zero = &vclock{cta: c.cta, w: make([]*chunk, c.n/32)}
	if c.lanes == nil {
		c.lanes = make([]laneState, c.n)
		c.shared = make([]cell, (len(ct.shared)+3)/4)
	}
	for i := range c.lanes {
		c.lanes[i] = laneState{base: c.zero, own: 1}
	}
	c.bar = [16]*vclock{}
	c.barSeen = [16][]*vclock{}
	c.scCTA = nil
}

// snapshot is lane t's full clock, own entry included.
func (c *checker) snapshot(t uint32) *vclock {
	ls := &c.lanes[t]
	v := c.clone(ls.base)
	v.raise(t, ls.own)
	return v
}

// clone copies b, a clock of the running block, into a fresh clock that
// may be changed until a lane holds it. Chunks and the ext trie are
// shared.
func (c *checker) clone(b *vclock) *vclock {
	return &vclock{cta: c.cta, w: slices.Clone(b.w), ext: b.ext}
}

// raise makes v (a clock being built) know at least x of lane i of its
// block.
func (v *vclock) raise(i, x uint32) {
	k := i / 32
	ch := v.w[k]
	if ch != nil && ch[i%32] >= x {
		return
	}
	if v.priv&(1<<k) == 0 {
		nc := new(chunk)
		if ch != nil {
			*nc = *ch
		}
		ch, v.w[k] = nc, nc
		v.priv |= 1 << k
	}
	ch[i%32] = x
}

// joinChunks raises the chunks w of a clock being built, of which priv
// are its own, to src; it returns the new priv.
func joinChunks(w, src []*chunk, priv uint32) uint32 {
	for k, b := range src {
		a := w[k]
		switch {
		case b == nil || a == b:
		case a == nil:
			w[k] = b
		case priv&(1<<k) != 0:
			for i, x := range b {
				a[i] = max(a[i], x)
			}
		case geqChunk(a, b):
		case geqChunk(b, a):
			w[k] = b
		default:
			nc := *a
			for i, x := range b {
				nc[i] = max(nc[i], x)
			}
			w[k] = &nc
			priv |= 1 << k
		}
	}
	return priv
}

// joinInto raises dst (a clock of the running block being built) to src.
func (c *checker) joinInto(dst, src *vclock) {
	if src == nil {
		return
	}
	if src.cta == dst.cta {
		dst.priv = joinChunks(dst.w, src.w, dst.priv)
		// Neither trie holds dst's own block.
		dst.ext = c.extMerge(dst.ext, src.ext, c.extTop)
		return
	}
	if src.leaf == nil {
		src.leaf = &extNode{w: src.w}
	}
	e := c.extMerge(dst.ext, src.ext, c.extTop)
	e = c.extPut(e, uint32(src.cta), src.leaf, c.extTop)
	// In a cooperative grid src may know dst's block through another:
	// that belongs in the dense part.
	if own := c.extFind(e, uint32(dst.cta)); own != nil {
		dst.priv = joinChunks(dst.w, own, dst.priv)
		e = c.extDel(e, uint32(dst.cta), c.extTop)
	}
	dst.ext = e
}

// join is a ⊔ b as a clock of the running block, whose clock a is: a or
// b itself when it already holds the other.
func (c *checker) join(a, b *vclock) *vclock {
	switch {
	case c.covers(a, b):
		return a
	case b.cta == c.cta && c.covers(b, a):
		return b
	}
	nv := c.clone(a)
	c.joinInto(nv, b)
	return nv
}

// joinAny is a ⊔ b as a clock of any block (a release clock kept on a
// word, or the acquires pending until a fence), nil being the zero clock.
func (c *checker) joinAny(a, b *vclock) *vclock {
	switch {
	case c.covers(a, b):
		return a
	case c.covers(b, a):
		return b
	}
	nv := &vclock{cta: c.cta, w: make([]*chunk, c.n/32)}
	c.joinInto(nv, a)
	c.joinInto(nv, b)
	return nv
}

// covers reports whether clock a holds everything clock b does. It may
// answer false for a clock that does, when saying so would take more than
// a look at where the two differ: the join then builds what it could
// have reused.
func (c *checker) covers(a, b *vclock) bool {
	switch {
	case a == b || b == nil:
		return true
	case a == nil:
		return false
	case a.cta == b.cta:
		return geqChunks(a.w, b.w) && c.extCovers(a.ext, b.ext, c.extTop)
	}
	// b's dense part is a leaf in a's trie. b's trie knowing a's block
	// (a cooperative grid) would need a fold: not worth it here.
	l := c.extFind(a.ext, uint32(b.cta))
	return l != nil && geqChunks(l, b.w) && c.extFind(b.ext, uint32(a.cta)) == nil && c.extCovers(a.ext, b.ext, c.extTop)
}

// geqChunks reports whether chunks a know at least what chunks b do. A
// nil chunk of a against a chunk of b that knows only zeros says no.
func geqChunks(a, b []*chunk) bool {
	if len(b) > 0 && &a[0] == &b[0] {
		return true
	}
	a = a[:len(b)]
	for k, y := range b {
		if x := a[k]; x != y && y != nil && (x == nil || !geqChunk(x, y)) {
			return false
		}
	}
	return true
}

func geqChunk(a, b *chunk) bool {
	for i, x := range b {
		if x > a[i] {
			return false
		}
	}
	return true
}

// extFind is the leaf of block key in trie n, nil if n knows nothing of
// that block.
func (c *checker) extFind(n *extNode, key uint32) []*chunk {
	for s := c.extTop; n != nil; s -= extBits {
		n = n.kid[key>>s&(extFan-1)]
		if s == 0 {
			if n == nil {
				return nil
			}
			return n.w
		}
	}
	return nil
}

// extMerge is the trie of a ⊔ b, level s: a or b itself where it holds the
// other.
func (c *checker) extMerge(a, b *extNode, s int) *extNode {
	switch {
	case a == b || b == nil:
		return a
	case a == nil:
		return b
	case s < 0:
		return leafJoin(a, b)
	}
	var kids [extFan]*extNode
	isA, isB := true, true
	for i := range kids {
		k := c.extMerge(a.kid[i], b.kid[i], s-extBits)
		kids[i] = k
		isA = isA && k == a.kid[i]
		isB = isB && k == b.kid[i]
	}
	switch {
	case isA:
		return a
	case isB:
		return b
	}
	return &extNode{kid: kids}
}

// extPut joins leaf into trie n at key, level s.
func (c *checker) extPut(n *extNode, key uint32, leaf *extNode, s int) *extNode {
	if s < 0 {
		if n == nil {
			return leaf
		}
		return leafJoin(n, leaf)
	}
	i := key >> s & (extFan - 1)
	var old *extNode
	if n != nil {
		old = n.kid[i]
	}
	k := c.extPut(old, key, leaf, s-extBits)
	if k == old {
		return n
	}
	nn := &extNode{}
	if n != nil {
		nn.kid = n.kid
	}
	nn.kid[i] = k
	return nn
}

// extDel is trie n without block key, level s.
func (c *checker) extDel(n *extNode, key uint32, s int) *extNode {
	if n == nil || s < 0 {
		return nil
	}
	i := key >> s & (extFan - 1)
	k := c.extDel(n.kid[i], key, s-extBits)
	if k == n.kid[i] {
		return n
	}
	nn := &extNode{kid: n.kid}
	nn.kid[i] = k
	if nn.kid == ([extFan]*extNode{}) {
		return nil
	}
	return nn
}

// extCovers reports whether trie a holds everything trie b does, level s.
func (c *checker) extCovers(a, b *extNode, s int) bool {
	switch {
	case a == b || b == nil:
		return true
	case a == nil:
		return false
	case s < 0:
		return geqChunks(a.w, b.w)
	}
	for i := range a.kid {
		if !c.extCovers(a.kid[i], b.kid[i], s-extBits) {
			return false
		}
	}
	return true
}

// leafJoin is the leaf of a ⊔ b: a or b itself where it holds the other.
func leafJoin(a, b *extNode) *extNode {
	switch {
	case geqChunks(a.w, b.w):
		return a
	case geqChunks(b.w, a.w):
		return b
	}
	w := slices.Clone(a.w)
	joinChunks(w, b.w, 0)
	return &extNode{w: w}
}

// hb reports whether access p happens before the current point of lane t.
func (c *checker) hb(p access, t uint32) bool {
	// i wraps past c.n for a thread of an earlier block: block ids and
	// lane slots keep global lane ids far below 2^32 - c.n.
	i := p.tid - 1 - c.base
	switch {
	case i >= c.n:
		return c.hbOther(p, t)
	case i == t:
		return true
	}
	ch := c.lanes[t].base.w[i/32]
	return ch != nil && ch[i%32] >= p.clk
}

// hbOther is hb for an access p by a thread of another block.
func (c *checker) hbOther(p access, t uint32) bool {
	b := c.lanes[t].base
	if b.ext == nil {
		return false
	}
	gt := p.tid - 1
	blk := gt / c.n
	l := c.extFind(b.ext, blk)
	if l == nil {
		return false
	}
	i := gt - blk*c.n
	ch := l[i/32]
	return ch != nil && ch[i%32] >= p.clk
}

// hbLoose reports whether access p, by a lane of the running block, is
// ordered before the current point of lane t by the lane's loose clock.
func (c *checker) hbLoose(p access, t uint32) bool {
	v := c.lanes[t].loose
	i := p.tid - 1 - c.base
	if v == nil || i >= c.n {
		return false
	}
	ch := v.w[i/32]
	return ch != nil && ch[i%32] >= p.clk
}

// looseAcquire makes lane t know, loosely, what the last atomic
// read-modify-write of a word released with no fence: its writer's clocks
// and its own entry.
func (c *checker) looseAcquire(t uint32, s *syncObj) {
	ls := &c.lanes[t]
	if v := ls.loose; v != nil {
		if ch := v.w[s.lt/32]; ch != nil && ch[s.lt%32] >= s.lc && c.covers(v, s.lb) && c.covers(v, s.ll) {
			return
		}
	}
	nv := &vclock{cta: c.cta, w: make([]*chunk, c.n/32)}
	c.joinInto(nv, ls.loose)
	c.joinInto(nv, s.lb)
	c.joinInto(nv, s.ll)
	nv.raise(s.lt, s.lc)
	nv.priv = 0
	ls.loose = nv
}

// looseMeet passes the loose clocks of the lanes group of warp w on to
// each other, at a warp collective or bar.warp.sync: a lane that learnt
// of a relaxed handoff tells the lanes it meets. The model orders no
// memory at shfl, vote, match or redux; the loose clock only decides
// whether a race it already found is a warning.
func (c *checker) looseMeet(w *warp, group uint32) {
	lanes := c.lanes[w.id*32 : w.id*32+32]
	var nv *vclock
	for m := group; m != 0; m &= m - 1 {
		if v := lanes[bits.TrailingZeros32(m)].loose; v != nil {
			nv = c.joinAny(nv, v)
		}
	}
	if nv == nil {
		return
	}
	nv.priv = 0
	for m := group; m != 0; m &= m - 1 {
		lanes[bits.TrailingZeros32(m)].loose = nv
	}
}

// acquire makes lane t know everything in v.
func (c *checker) acquire(t uint32, v *vclock) {
	if v == nil {
		return
	}
	ls := &c.lanes[t]
	ls.base = c.join(ls.base, v)
}

// warpSync joins the clocks of the lanes of a completed bar.warp.sync.
func (c *checker) warpSync(w *warp, group uint32) {
	lanes := c.lanes[w.id*32 : w.id*32+32]
	first := lanes[bits.TrailingZeros32(group)].base
	nb := c.clone(first)
	prev := first
	for m := group; m != 0; m &= m - 1 {
		if b := lanes[bits.TrailingZeros32(m)].base; b != prev {
			c.joinInto(nb, b)
			prev = b
		}
	}
	for m := group; m != 0; m &= m - 1 {
		l := bits.TrailingZeros32(m)
		nb.raise(uint32(w.id*32+l), lanes[l].own)
	}
	for m := group; m != 0; m &= m - 1 {
		ls := &lanes[bits.TrailingZeros32(m)]
		ls.base = nb
		ls.own++
	}
	c.looseMeet(w, group)
}

// barArrive releases lane t's clock to barrier id.
func (c *checker) barArrive(id int, t uint32) {
	if c.bar[id] == nil {
		c.bar[id] = &vclock{cta: c.cta, w: make([]*chunk, c.n/32)}
	}
	ls := &c.lanes[t]
	seen := false
	for _, b := range c.barSeen[id] {
		if b == ls.base {
			seen = true
			break
		}
	}
	if !seen {
		c.joinInto(c.bar[id], ls.base)
		c.barSeen[id] = append(c.barSeen[id], ls.base)
	}
	c.bar[id].raise(t, ls.own)
	ls.own++
}

// barComplete gives the waiters of barrier id everything released to it.
func (c *checker) barComplete(id int, ct *cta) {
	v := c.bar[id]
	c.bar[id], c.barSeen[id] = nil, nil
	if v == nil {
		return
	}
	for _, w := range ct.warps {
		for m := w.barWait; m != 0; m &= m - 1 {
			lane := bits.TrailingZeros32(m)
			if int(w.barID[lane]) != id {
				continue
			}
			// v holds everything this lane knew when it arrived.
			c.lanes[w.id*32+lane].base = v
		}
	}
}

// fence applies fence o by lane t: pending acquires take effect, fence.sc
// joins the order of earlier fence.sc, and later strong writes release
// the lane's clock as of now.
func (c *checker) fence(o *op, t uint32) {
	ls := &c.lanes[t]
	if ls.acq != nil {
		c.acquire(t, ls.acq)
		ls.acq = nil
	}
	if o.sem == semSC {
		sc := &c.scGPU
		if o.scope == scopeCTA || o.scope == scopeCluster {
			sc = &c.scCTA
		}
		c.acquire(t, *sc)
		// The lane now holds every earlier fence.sc's clock: its
		// snapshot is the new head of the order, and the clock a later
		// strong write releases.
		*sc = c.snapshot(t)
		ls.fence = *sc
	} else {
		ls.fence = c.snapshot(t)
	}
	ls.fenceCTA = o.scope == scopeCTA || o.scope == scopeCluster
	ls.own++
}

// cells returns the shadow of the words [addr, addr+size) of space sp.
func (c *checker) cellAt(sp space, a *allocation, off uint64) *cell {
	if sp == spShared {
		ce := &c.shared[off>>2]
		if ce.gen != c.gen {
			*ce = cell{gen: c.gen}
		}
		return ce
	}
	g := c.lastG
	if a != c.lastA {
		g = c.global[a]
		if g == nil {
			g = &globalShadow{pages: make([]*[pageCells]cell, (len(a.data)+4*pageCells-1)/(4*pageCells))}
			c.global[a] = g
		}
		c.lastA, c.lastG = a, g
	}
	w := off >> 2
	p := g.pages[w/pageCells]
	if p == nil {
		p = shadowPages.Get().(*[pageCells]cell)
		g.pages[w/pageCells] = p
	}
	return &p[w%pageCells]
}

// access checks and records an access by lane of warp w at op index pc.
// off is the offset in shared memory or in allocation a.
func (c *checker) access(w *warp, lane int, o *op, sp space, a *allocation, off uint64, size int, write bool) {
	c.accessAs(uint32(w.id*32+lane), o, sp, a, off, size, write)
}

// accessAs is access by lane slot t of the running block (a thread, or a
// thread's copy lane, race_async.go).
func (c *checker) accessAs(t uint32, o *op, sp space, a *allocation, off uint64, size int, write bool) {
	pc := c.l.curPC
	var flags uint8
	if o.code == opAtom || o.code == opRed {
		flags, write = accAtomic|accStrong|accWrite, true
	} else {
		if o.sem != semWeak {
			flags = accStrong
		}
		if write {
			flags |= accWrite
		}
	}
	if flags&accStrong != 0 && (o.scope == scopeGPU || o.scope == scopeSys) && sp == spGlobal {
		flags |= accWide
	}
	if size == 4 && off&3 == 0 && flags&accStrong == 0 {
		// A weak access to one whole word: most of them.
		e := access{tid: c.base + t + 1, clk: c.lanes[t].own, op: pc, mask: 0xF, span: 0xF, flags: flags}
		c.check(&c.cellAt(sp, a, off).shadow, e, t, sp, off, size)
		return
	}
	for end := off + uint64(size); off < end; {
		wordEnd := (off | 3) + 1
		hi := min(end, wordEnd)
		mask := uint8((1<<(hi-off) - 1) << (off & 3))
		e := access{tid: c.base + t + 1, clk: c.lanes[t].own, op: pc, mask: mask, span: mask, flags: flags}
		ce := c.cellAt(sp, a, off)
		if flags&accStrong != 0 && (o.code == opLd || o.code == opAtom) {
			c.observe(ce, e, t)
		}
		if mask != 0xF {
			c.checkSplit(&ce.shadow, e, t, sp, off&^3, size)
		} else {
			c.check(&ce.shadow, e, t, sp, off, size)
		}
		if flags&accStrong != 0 {
			c.syncAccess(ce, o, e, t)
		}
		off = hi
	}
}

// observe notes the strong write that strong read e (an ld or the read
// half of an atom) by lane t reads from in word ce, when the two are
// morally strong. The PTX ISA defines a data race over causality order
// (§8.7.1), which holds "X precedes Z in observation order, and Z
// precedes Y in proxy-preserved base causality order" (§8.9.5): the
// write is ordered before everything the reader does after its read,
// though nothing else the writer did before it is (that takes a release
// pattern). So a lane that polls a flag with a volatile load and then
// clears it with a plain store does not race with the store it saw.
// Only the lane's own later accesses are ordered this way; what it
// passes on through later synchronisation is not followed (a limit).
func (c *checker) observe(ce *cell, e access, t uint32) {
	w := ce.w
	if ce.rs < 0 {
		w = c.split[-ce.rs-1][bits.TrailingZeros8(e.mask)].w
	}
	if w.tid == 0 || w.tid == e.tid || w.flags&accStrong == 0 || !c.morallyStrong(w, e) {
		return
	}
	ls := &c.lanes[t]
	if ls.seen == nil {
		ls.seen = new(seenWrites)
	}
	sw := ls.seen
	sw.w[sw.n%uint8(len(sw.w))] = seenWrite{w.tid, w.clk, w.op}
	sw.n++
}

// observed reports whether lane t read strong write p (observe): p is
// then before the lane's current access in causality order.
func (c *checker) observed(p access, t uint32) bool {
	if p.flags&(accStrong|accWrite) != accStrong|accWrite {
		return false
	}
	sw := c.lanes[t].seen
	if sw == nil {
		return false
	}
	for _, s := range sw.w {
		if s.tid == p.tid && s.clk == p.clk && s.op == p.op {
			return true
		}
	}
	return false
}

// syncAccess carries release and acquire patterns through word ce.
func (c *checker) syncAccess(ce *cell, o *op, e access, t uint32) {
	ls := &c.lanes[t]
	// ld and the read half of atom may acquire; red cannot (§8.8).
	if (o.code == opLd || o.code == opAtom) && ce.sync != 0 {
		s := &c.syncs[ce.sync-1]
		c.acquireFrom(o, t, s)
		if s.lb != nil && s.lblk == c.cta {
			c.looseAcquire(t, s)
		}
	}
	if e.flags&accWrite == 0 {
		return
	}
	var rel *vclock
	relCTA := o.scope == scopeCTA || o.scope == scopeCluster
	switch {
	case o.sem == semRelease || o.sem == semAcqRel:
		rel = c.snapshot(t)
		ls.own++
	case ls.fence != nil:
		rel, relCTA = ls.fence, ls.fenceCTA
	}
	if e.flags&accAtomic != 0 {
		// An atomic read-modify-write releases loosely what its lane
		// knows (it has read, and so learnt, what the word's last one
		// released); with no slot yet, one that releases nothing else.
		if ce.sync == 0 {
			c.syncs = append(c.syncs, syncObj{cta: true, blk: c.cta})
			ce.sync = int32(len(c.syncs))
		}
		s := &c.syncs[ce.sync-1]
		if rel != nil {
			// A read-modify-write continues the release sequence.
			s.vc, s.cta, s.blk = c.joinAny(s.vc, rel), s.cta && relCTA, c.cta
		}
		s.lb, s.ll, s.lt, s.lc, s.lblk = ls.base, ls.loose, t, ls.own, c.cta
		ls.own++
		return
	}
	switch {
	case rel == nil:
		ce.sync = 0 // the slot is lost to reuse until the launch ends: rare
	case ce.sync != 0:
		c.syncs[ce.sync-1] = syncObj{vc: rel, cta: relCTA, blk: c.cta}
	default:
		c.syncs = append(c.syncs, syncObj{vc: rel, cta: relCTA, blk: c.cta})
		ce.sync = int32(len(c.syncs))
	}
}

func (c *checker) acquireFrom(o *op, t uint32, s *syncObj) {
	if s.cta && s.blk != c.cta {
		return // released at .cta scope, seen from another block
	}
	if o.sem == semAcquire || o.sem == semAcqRel {
		c.acquire(t, s.vc)
		return
	}
	ls := &c.lanes[t]
	ls.acq = c.joinAny(ls.acq, s.vc)
}

// morallyStrong: both strong, the same bytes, and each scope contains the
// other thread (shared memory is one block's).
func (c *checker) morallyStrong(p, e access) bool {
	if p.flags&e.flags&accStrong == 0 || p.span != e.span {
		return false
	}
	if p.flags&e.flags&accWide != 0 {
		return true
	}
	return (p.tid-1)/c.n == (e.tid-1)/c.n
}

// conflict reports whether prior access p conflicts with e by lane t
// and happens-before does not order them; found then says what it is.
func (c *checker) conflict(p, e access, t uint32) bool {
	return p.tid != 0 && p.tid != e.tid && p.mask&e.mask != 0 && !c.hb(p, t)
}

// check checks access e against the shadow of a word (or of one byte of
// a split word, where every access's mask is 0xF) and records it. addr is
// the first byte of the word that e touches.
func (c *checker) check(ce *shadow, e access, t uint32, sp space, addr uint64, size int) {
	if ce.rs < 0 {
		c.checkSplit(ce, e, t, sp, addr&^3, size)
		return
	}
	c.checkUnit(ce, e, t, sp, addr, size)
}

// checkUnit is check on a whole word's shadow, or one byte's of a split
// word.
func (c *checker) checkUnit(ce *shadow, e access, t uint32, sp space, addr uint64, size int) {
	// conflict, its cheap tests written out: most priors are the same
	// thread's or none.
	if p := ce.w; p.tid != 0 && p.tid != e.tid && p.mask&e.mask != 0 && !c.hb(p, t) {
		c.found(p, e, t, sp, addr, size)
	}
	if e.flags&accWrite == 0 {
		c.addRead(ce, e, t)
		return
	}
	if p := ce.r; p.tid != 0 && p.tid != e.tid && p.mask&e.mask != 0 && !c.hb(p, t) {
		c.found(p, e, t, sp, addr, size)
	}
	if ce.rs != 0 {
		rs := &c.sets[ce.rs-1]
		for _, r := range rs.list {
			if c.conflict(r, e, t) {
				c.found(r, e, t, sp, addr, size)
			}
		}
		rs.eachDense(func(_ uint32, r access) {
			if c.conflict(r, e, t) {
				c.found(r, e, t, sp, addr, size)
			}
		})
	}
	// Reads of bytes this write covers are now behind it; the race of
	// any of them with the write was reported just now.
	if ce.r.tid != 0 && ce.r.mask&^e.mask == 0 {
		ce.r = access{}
	}
	if ce.rs != 0 && e.mask == 0xF {
		c.release(ce.rs)
		ce.rs = 0
	}
	ce.w = e
}

// checkSplit checks access e, whose bytes of the word at word are
// e.mask, against the word's byte shadows, splitting the word first if it
// is whole. In a byte's shadow every access covers the whole unit, so its
// mask is 0xF and its span keeps the bytes of the word it touched.
func (c *checker) checkSplit(sh *shadow, e access, t uint32, sp space, word uint64, size int) {
	if sh.rs >= 0 {
		c.splitWord(sh)
	}
	bs := &c.split[-sh.rs-1]
	c.seen, c.checking = c.seen[:0], true
	for m := e.mask; m != 0; m &= m - 1 {
		b := bits.TrailingZeros8(m)
		eb := e
		eb.mask = 0xF
		c.checkUnit(&bs[b], eb, t, sp, word+uint64(b), size)
	}
	c.checking = false
}

// splitWord moves a whole word's shadow to per-byte shadows: each byte
// gets the write and the reads that touched it.
func (c *checker) splitWord(sh *shadow) {
	var bs byteShadows
	var reads []access
	if sh.rs > 0 {
		rs := &c.sets[sh.rs-1]
		reads = append(reads, rs.list...)
		rs.eachDense(func(_ uint32, r access) { reads = append(reads, r) })
		c.release(sh.rs)
	}
	for b := range bs {
		bit := uint8(1) << b
		d := &bs[b]
		if sh.w.tid != 0 && sh.w.mask&bit != 0 {
			d.w, d.w.mask = sh.w, 0xF
		}
		if sh.r.tid != 0 && sh.r.mask&bit != 0 {
			d.r, d.r.mask = sh.r, 0xF
		}
		for _, r := range reads {
			if r.mask&bit == 0 {
				continue
			}
			if d.rs == 0 {
				d.rs = c.newSet()
			}
			r.mask = 0xF
			rs := &c.sets[d.rs-1]
			rs.list = append(rs.list, r)
		}
	}
	var i int32
	if n := len(c.freeSp); n > 0 {
		i = c.freeSp[n-1]
		c.freeSp = c.freeSp[:n-1]
		c.split[i] = bs
	} else {
		i = int32(len(c.split))
		c.split = append(c.split, bs)
	}
	*sh = shadow{rs: -i - 1}
}

func (c *checker) addRead(ce *shadow, e access, t uint32) {
	if ce.rs == 0 {
		if ce.r.tid == 0 || ce.r.tid == e.tid && ce.r.mask&^e.mask == 0 || c.hb(ce.r, t) && ce.r.mask&^e.mask == 0 {
			ce.r = e
			return
		}
		ce.rs = c.newSet()
		rs := &c.sets[ce.rs-1]
		rs.list = append(rs.list, ce.r)
		ce.r = access{}
	}
	rs := &c.sets[ce.rs-1]
	if rs.dense != nil && rs.cta == c.cta {
		if d := rs.dense[t]; d.tid != 0 && d.mask&^e.mask != 0 && d.clk != e.clk {
			c.addListRead(rs, d)
		}
		rs.setDense(t, e)
		return
	}
	for i, r := range rs.list {
		if r.tid == e.tid && r.mask&^e.mask == 0 {
			rs.list[i] = e
			return
		}
	}
	if len(rs.list) < listMax {
		rs.list = append(rs.list, e)
		return
	}
	// Many unordered readers (a broadcast word): index this block's by lane.
	if rs.cta != c.cta || rs.dense == nil {
		if rs.dense == nil {
			rs.dense = make([]access, c.n)
			rs.held = make([]uint64, (c.n+63)/64)
		}
		// Reads by an earlier block's lanes stay in the list.
		rs.eachDense(func(_ uint32, r access) { c.addListRead(rs, r) })
		rs.clearDense()
		rs.cta = c.cta
		keep := rs.list[:0]
		for _, r := range rs.list {
			if g := r.tid - 1; g >= c.base && g-c.base < c.n && rs.dense[g-c.base].tid == 0 {
				rs.setDense(g-c.base, r)
			} else {
				keep = append(keep, r)
			}
		}
		rs.list = keep
	}
	rs.setDense(t, e)
}

func (c *checker) newSet() int32 {
	if n := len(c.free); n > 0 {
		i := c.free[n-1]
		c.free = c.free[:n-1]
		c.sets[i-1].cta = c.cta
		return i
	}
	c.sets = append(c.sets, readSet{cta: c.cta})
	return int32(len(c.sets))
}

// release empties read set i and makes it reusable.
func (c *checker) release(i int32) {
	rs := &c.sets[i-1]
	rs.list = rs.list[:0]
	if rs.dense != nil {
		rs.clearDense()
	}
	c.free = append(c.free, i)
}

func (c *checker) addListRead(rs *readSet, r access) {
	if len(rs.list) < foreignReads {
		rs.list = append(rs.list, r)
	}
}

// shadowStats measures the checker's shadow of global memory (tests and
// benchmarks ask for it through LaunchConfig.shadowStats).
type shadowStats struct {
	Words int64 // global words some access touched
	// Bytes the shadow holds for them: the pages of cells (allocated as
	// touched, so a page's untouched words count too), the read sets,
	// and the release clocks kept on words (each distinct clock's vector
	// once; the ext tries they share with the lanes are not counted).
	Bytes int64
}

func (c *checker) shadowStats() shadowStats {
	var st shadowStats
	for _, g := range c.global {
		st.Bytes += int64(len(g.pages)) * int64(unsafe.Sizeof(g.pages[0]))
		for _, p := range g.pages {
			if p == nil {
				continue
			}
			st.Bytes += int64(unsafe.Sizeof(*p))
			for i := range p {
				if ce := &p[i]; ce.w.tid != 0 || ce.r.tid != 0 || ce.rs != 0 || ce.sync != 0 { // a split word has rs < 0
					st.Words++
				}
			}
		}
	}
	const acc = int64(unsafe.Sizeof(access{}))
	st.Bytes += int64(cap(c.sets))*int64(unsafe.Sizeof(readSet{})) + int64(cap(c.free))*4
	st.Bytes += int64(cap(c.split))*int64(unsafe.Sizeof(byteShadows{})) + int64(cap(c.freeSp))*4
	for i := range c.sets {
		st.Bytes += int64(cap(c.sets[i].list)+cap(c.sets[i].dense))*acc + 8*int64(cap(c.sets[i].held))
	}
	st.Bytes += int64(cap(c.syncs)) * int64(unsafe.Sizeof(syncObj{}))
	seen, seenChunk := map[*vclock]bool{}, map[*chunk]bool{}
	for _, s := range c.syncs {
		if s.vc == nil || seen[s.vc] {
			continue
		}
		seen[s.vc] = true
		st.Bytes += int64(unsafe.Sizeof(*s.vc)) + int64(cap(s.vc.w))*int64(unsafe.Sizeof(s.vc.w[0]))
		for _, ch := range s.vc.w {
			if ch != nil && !seenChunk[ch] {
				seenChunk[ch] = true
				st.Bytes += int64(unsafe.Sizeof(*ch))
			}
		}
	}
	return st
}

// Why a hazard is a warning (Hazard.Reason).
const (
	// A strong load whose value is used as data read, or was overwritten
	// by, a conflicting strong write that nothing orders with it.
	ReasonScheduleDependent = "not a data race under the PTX memory model, but the outcome depends on lane scheduling (independent thread scheduling): " +
		"the accesses are morally strong (PTX ISA §8.7) but unordered, and the value read is used as data"
	// Ordered only through relaxed atomics within a block, no fence.
	ReasonRelaxedHandoff = "a data race under the PTX memory model: the accesses are ordered only by relaxed atomic read-modify-writes and strong reads within one block, with no fence " +
		"(§8.8: a release pattern needs a release operation or a release fence before the strong write; §8.9.4: only a release pattern synchronizes with an acquire pattern), " +
		"the handoff of CUDA's cooperative-groups multi-warp tiles; reported as a warning, not an error"
	// A weak write-write race that stores the bytes already there.
	ReasonSameValue = "a data race under the PTX memory model (§8.7.1: conflicting weak writes unordered by causality), but the later write stores the bytes already there, " +
		"so the outcome does not depend on their order (a uniform-size race, which the model's axioms still describe, §8.7.2)"
)

// found classifies a conflict of prior access p with e by lane t that
// happens-before does not order, and reports it. Morally strong accesses
// are no data race (§8.7.1); they are a warning when the value a strong
// load read is used as data. A data race is an error unless it is
// ordered through relaxed atomics within the block, or it is a write of
// the bytes already there.
func (c *checker) found(p, e access, t uint32, sp space, addr uint64, size int) {
	if c.morallyStrong(p, e) {
		if c.dataUse != nil && (c.usedRead(p) && e.flags&accWrite != 0 || c.usedRead(e) && p.flags&accWrite != 0) {
			c.report(p, e, sp, addr, size, SeverityWarning, ReasonScheduleDependent)
		}
		return
	}
	if c.observed(p, t) {
		return
	}
	sev, why := SeverityError, ""
	switch {
	case c.hbLoose(p, t):
		sev, why = SeverityWarning, ReasonRelaxedHandoff
	case p.flags&e.flags&accWrite != 0 && (p.flags|e.flags)&accAtomic == 0 && c.sameStore(e, sp, addr):
		sev, why = SeverityWarning, ReasonSameValue
	}
	c.report(p, e, sp, addr, size, sev, why)
}

// usedRead reports whether a is a load (not an atomic) whose value the
// program uses as data.
func (c *checker) usedRead(a access) bool {
	return a.flags&(accWrite|accAtomic) == 0 && c.dataUse[a.op]
}

// sameStore reports whether the store e (the access being checked, not
// yet performed) writes the bytes memory holds: those of e.mask in the
// word at addr, or in a split word's byte shadow the byte at addr.
func (c *checker) sameStore(e access, sp space, addr uint64) bool {
	o := &c.l.p.ops[e.op]
	if o.code != opSt || c.ct == nil {
		return false
	}
	lt := e.tid - 1 - c.base
	if lt >= c.n {
		return false
	}
	w, lane := c.ct.warps[lt/32], int32(lt%32)
	start := w.r[o.a[0]+lane] + uint64(o.off)
	if o.space == spGeneric {
		_, start = decodeGeneric(start)
	}
	mem := c.ct.shared
	if sp == spGlobal {
		start -= c.lastA.base
		mem = c.lastA.data
	}
	first, bytes := addr, uint64(1)
	if !c.checking {
		first, bytes = addr&^3+uint64(bits.TrailingZeros8(e.mask)), uint64(bits.OnesCount8(e.mask))
	}
	size := uint64(o.typ.size())
	for x := first; x < first+bytes; x++ {
		i := x - start
		if i >= size*uint64(o.vec) || x >= uint64(len(mem)) {
			return false
		}
		v := w.r[o.d[i/size]+lane] >> (8 * (i % size))
		if byte(v) != mem[x] {
			return false
		}
	}
	return true
}

// report records a hazard between prior access p and e. A site pair
// counts every occurrence; its details are the first's, or the first at
// the highest severity seen.
func (c *checker) report(p, e access, sp space, addr uint64, size int, sev Severity, why string) {
	if c.checking {
		// One prior counts once per word, however many bytes it shares.
		for _, s := range c.seen {
			if s.tid == p.tid && s.clk == p.clk && s.op == p.op {
				return
			}
		}
		c.seen = append(c.seen, p)
	}
	k := hazKey{p.op, e.op}
	h, ok := c.hazards[k]
	if ok {
		h.Count++
		if sev <= h.Severity {
			return
		}
	}
	typ := "RAW"
	switch {
	case p.flags&accWrite == 0:
		typ = "WAR"
	case e.flags&accWrite != 0:
		typ = "WAW"
	}
	pa, ea := c.describe(p), c.describe(e)
	scope := "inter-block"
	switch {
	case pa.CTA == ea.CTA && pa.Warp == ea.Warp:
		scope = "intra-warp"
	case pa.CTA == ea.CTA:
		scope = "inter-warp"
	}
	if sp == spGlobal {
		addr += c.lastA.base
	}
	nh := &Hazard{Type: typ, Scope: scope, Space: sp.String(), Addr: addr, Size: size, Prior: pa, Later: ea, Count: 1, Severity: sev, Reason: why}
	if ok {
		nh.Count = h.Count
		*h = *nh
		return
	}
	c.hazards[k] = nh
	c.order = append(c.order, k)
}

// describe turns an access into its report form.
func (c *checker) describe(a access) Access {
	l := c.l
	gt := a.tid - 1
	cta, local := gt/c.n, gt%c.n
	if local >= c.real {
		local -= c.real // a copy lane: its thread (the site is the copy's)
	}
	g, b := l.cfg.Grid, l.cfg.Block
	kind := "Read"
	switch {
	case a.flags&accAtomic != 0:
		kind = "Atomic"
	case a.flags&accWrite != 0:
		kind = "Write"
	}
	return Access{
		Kind: kind,
		Site: l.m.site(&l.p.ops[a.op]),
		CTA:  Dim3{cta % g.X, cta / g.X % g.Y, cta / (g.X * g.Y)},
		Warp: int(local / 32), Lane: int(local % 32),
		Thread: Dim3{local % b.X, local / b.X % b.Y, local / (b.X * b.Y)},
	}
}

// hazardList gives the hazards in the order they were first seen.
func (c *checker) hazardList() []Hazard {
	hs := make([]Hazard, 0, len(c.order))
	for _, k := range c.order {
		hs = append(hs, *c.hazards[k])
	}
	return hs
}
