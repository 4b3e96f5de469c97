package cpuemu

import (
	"github.com/gpubuf/gpubuf/internal/ptx"
)

// Lowering of the asynchronous copies (PTX ISA "Data Movement and
// Conversion Instructions: cp.async, cp.async.bulk"), the mbarrier
// instructions ("Parallel Synchronization and Communication Instructions:
// mbarrier"), elect.sync and fence.proxy.async. Every modifier is consumed
// or the instruction is refused, as everywhere else; the forms of PTX ISA
// 8.0 (sm_90) are checked against the module's .target and .version.

// mbarSpace consumes an mbarrier's state space: .shared, .shared::cta, or
// (arrive, arrive_drop, expect_tx, complete_tx only) .shared::cluster,
// which for the emulator's clusters of one CTA names the same bytes.
// Without one the address is generic and must point into shared memory.
func (lw *lowerer) mbarSpace(in *ptx.Instr, ms *modSet, o *op, cluster bool) error {
	switch {
	case ms.take("shared") || ms.take("shared::cta"):
		o.space = spShared
	case ms.take("shared::cluster"):
		if !cluster {
			return lw.unsupported(in, ".shared::cluster on this mbarrier operation (the ISA allows it on arrive, arrive_drop, expect_tx and complete_tx)")
		}
		if err := lw.require(in, 90, 80, ".shared::cluster"); err != nil {
			return err
		}
		o.space = spShared
	default:
		o.space = spGeneric
	}
	return nil
}

// mbarSemScope consumes .sem.scope, which the ISA says "must be specified
// together" (PTX ISA 8.0); the defaults are .release (arrive), .acquire
// (waits) and .cta. sem is the semantics the default stands for.
func (lw *lowerer) mbarSemScope(in *ptx.Instr, ms *modSet, o *op, sem uint8, name string) error {
	o.sem, o.scope = sem, scopeCTA
	k := ms.takeOne("release", "acquire", "relaxed")
	sc := ms.scope()
	if k < 0 && sc == scopeNone {
		return nil
	}
	if k < 0 || sc == scopeNone {
		return lw.unsupported(in, "the ISA requires .sem and .scope together")
	}
	if sc != scopeCTA && sc != scopeCluster {
		return lw.unsupported(in, "an mbarrier scope other than .cta or .cluster")
	}
	switch {
	case k == 2:
		// .relaxed is expect_tx's and complete_tx's only semantics
		// (PTX ISA 8.0); on arrive and the waits it came in 8.6.
		if sem != semRelaxed {
			if err := lw.require(in, 90, 86, ".relaxed on "+name); err != nil {
				return err
			}
		}
		o.sem = semRelaxed
	case k == 0 && sem == semRelease, k == 1 && sem == semAcquire:
	default:
		return lw.unsupported(in, "this .sem on "+name)
	}
	o.scope = sc
	return lw.require(in, 90, 80, ".sem and .scope on "+name)
}

// mbarAddr lowers the [addr] operand of an mbarrier operation.
func (lw *lowerer) mbarAddr(in *ptx.Instr, o *op, a ptx.Operand) error {
	if !isAddress(a) {
		return lw.errAt(in.Line, "%s needs an [address] operand", in.Name())
	}
	if err := lw.address(in, o, a); err != nil {
		return err
	}
	if o.space != spGeneric && o.space != spShared {
		return lw.errAt(in.Line, "an mbarrier object lives in shared memory, not .%s", o.space)
	}
	return nil
}

func (lw *lowerer) lowerMbarrier(in *ptx.Instr, ms *modSet, o *op) error {
	o.code = opMbar
	o.typ = tB64
	// mbarrier's own operations are the modes before cp.async's arrive,
	// named as PTX names them.
	k := ms.takeOne(mbarModes.names[:mbCpAsyncArrive]...)
	if k < 0 {
		return lw.unsupported(in, "mbarrier operation")
	}
	m := mbarOp(k)
	o.setMbar(m)
	if err := lw.require(in, 80, 70, "mbarrier"); err != nil {
		return err
	}
	ts := ms.typeList()
	if len(ts) != 1 || ts[0] != tB64 {
		return lw.unsupported(in, "mbarrier operations take .b64")
	}
	var err error
	args := in.Args
	switch m {
	case mbPendingCount:
		if err := lw.nargs(in, 2); err != nil {
			return err
		}
		if o.d[0], err = lw.dst(in, args[0]); err != nil {
			return err
		}
		if o.a[1], err = lw.src(in, args[1], tB64); err != nil {
			return err
		}
	case mbInit, mbInval:
		if err := lw.mbarSpace(in, ms, o, false); err != nil {
			return err
		}
		want := 2
		if m == mbInval {
			want = 1
		}
		if err := lw.nargs(in, want); err != nil {
			return err
		}
		if err := lw.mbarAddr(in, o, args[0]); err != nil {
			return err
		}
		if m == mbInit {
			if o.a[1], err = lw.src(in, args[1], tU32); err != nil {
				return err
			}
		}
	case mbArrive, mbArriveDrop:
		if ms.take("expect_tx") {
			o.flags |= fExpectTx
			if err := lw.require(in, 90, 80, ".expect_tx"); err != nil {
				return err
			}
		}
		if ms.take("noComplete") {
			o.flags |= fNoComplete
		}
		if err := lw.mbarSemScope(in, ms, o, semRelease, in.Name()); err != nil {
			return err
		}
		if err := lw.mbarSpace(in, ms, o, true); err != nil {
			return err
		}
		if err := lw.nargs(in, 2, 3); err != nil {
			return err
		}
		if o.d[0], err = lw.dst(in, args[0]); err != nil {
			return err
		}
		if err := lw.mbarAddr(in, o, args[1]); err != nil {
			return err
		}
		switch {
		case o.flags&fExpectTx != 0:
			if len(args) != 3 {
				return lw.errAt(in.Line, "%s needs a txCount", in.Name())
			}
			if o.flags&fNoComplete != 0 {
				return lw.unsupported(in, ".noComplete with .expect_tx")
			}
		case o.flags&fNoComplete != 0 && len(args) != 3:
			return lw.errAt(in.Line, "%s needs a count", in.Name())
		case len(args) == 3 && o.flags&fNoComplete == 0:
			// "Support for count argument without the modifier
			// .noComplete requires sm_90 or higher" (PTX ISA 7.8).
			if err := lw.require(in, 90, 78, "a count without .noComplete"); err != nil {
				return err
			}
		}
		if len(args) == 3 {
			if o.a[2], err = lw.src(in, args[2], tU32); err != nil {
				return err
			}
		}
	case mbExpectTx, mbCompleteTx:
		if err := lw.require(in, 90, 80, in.Name()); err != nil {
			return err
		}
		if err := lw.mbarSemScope(in, ms, o, semRelaxed, in.Name()); err != nil {
			return err
		}
		if err := lw.mbarSpace(in, ms, o, true); err != nil {
			return err
		}
		if err := lw.nargs(in, 2); err != nil {
			return err
		}
		if err := lw.mbarAddr(in, o, args[0]); err != nil {
			return err
		}
		if o.a[2], err = lw.src(in, args[1], tU32); err != nil {
			return err
		}
	case mbTestWait, mbTryWait:
		if m == mbTryWait {
			if err := lw.require(in, 90, 78, "mbarrier.try_wait"); err != nil {
				return err
			}
		}
		if ms.take("parity") {
			o.flags |= fParity
			if err := lw.require(in, 80, 71, ".parity"); err != nil {
				return err
			}
		}
		if err := lw.mbarSemScope(in, ms, o, semAcquire, in.Name()); err != nil {
			return err
		}
		if err := lw.mbarSpace(in, ms, o, false); err != nil {
			return err
		}
		want := []int{3}
		if m == mbTryWait {
			want = []int{3, 4}
		}
		if err := lw.nargs(in, want...); err != nil {
			return err
		}
		if o.d[0], err = lw.dst(in, args[0]); err != nil {
			return err
		}
		if err := lw.mbarAddr(in, o, args[1]); err != nil {
			return err
		}
		st := tB64
		if o.flags&fParity != 0 {
			st = tU32
		}
		if o.a[1], err = lw.src(in, args[2], st); err != nil {
			return err
		}
		if len(args) == 4 { // suspendTimeHint: a hint, checked and not used
			if _, err = lw.src(in, args[3], tU32); err != nil {
				return err
			}
		}
	}
	lw.emit(*o)
	return nil
}

// lowerCp lowers cp.async (with cp.async.mbarrier.arrive and the group
// controls) and cp.async.bulk.
func (lw *lowerer) lowerCp(in *ptx.Instr, ms *modSet, o *op) error {
	if !ms.take("async") {
		return lw.unsupported(in, "cp without .async")
	}
	if err := lw.require(in, 80, 70, "cp.async"); err != nil {
		return err
	}
	bulk := ms.take("bulk")
	if bulk {
		if err := lw.require(in, 90, 80, "cp.async.bulk"); err != nil {
			return err
		}
	}
	switch {
	case !bulk && ms.take("mbarrier"):
		if !ms.take("arrive") {
			return lw.unsupported(in, "cp.async.mbarrier needs .arrive")
		}
		o.code = opMbar
		o.setMbar(mbCpAsyncArrive)
		if ms.take("noinc") {
			o.flags |= fNoinc
		}
		ts := ms.typeList()
		if len(ts) != 1 || ts[0] != tB64 {
			return lw.unsupported(in, "cp.async.mbarrier.arrive takes .b64")
		}
		o.typ = tB64
		if err := lw.mbarSpace(in, ms, o, false); err != nil {
			return err
		}
		if err := lw.nargs(in, 1); err != nil {
			return err
		}
		if err := lw.mbarAddr(in, o, in.Args[0]); err != nil {
			return err
		}
		lw.emit(*o)
		return nil
	case ms.take("commit_group"):
		o.code = opAsyncCtl
		o.setAsyncCtl(ctlCommit)
		if bulk {
			o.setAsyncCtl(ctlBulkCommit)
		}
		if err := lw.nargs(in, 0); err != nil {
			return err
		}
		lw.emit(*o)
		return nil
	case ms.take("wait_group") || !bulk && ms.has("wait_all"):
		o.code = opAsyncCtl
		if ms.take("wait_all") {
			// "cp.async.wait_all is equivalent to: cp.async.commit_group;
			// cp.async.wait_group 0;"
			if err := lw.nargs(in, 0); err != nil {
				return err
			}
			c := *o
			c.setAsyncCtl(ctlCommit)
			lw.emit(c)
			o.setAsyncCtl(ctlWait)
			lw.emit(*o)
			return nil
		}
		o.setAsyncCtl(ctlWait)
		if bulk {
			o.setAsyncCtl(ctlBulkWait)
			if ms.take("read") {
				o.setAsyncCtl(ctlBulkWaitRead)
			}
		}
		if err := lw.nargs(in, 1); err != nil {
			return err
		}
		if in.Args[0].Kind != ptx.OpImm || in.Args[0].Imm < 0 || in.Args[0].Imm > 1<<20 {
			return lw.errAt(in.Line, "%s takes an integer constant N", in.Name())
		}
		o.off = in.Args[0].Imm
		lw.emit(*o)
		return nil
	}
	o.code = opCpAsync
	hint := ms.take("L2::cache_hint")
	for ms.takeOne("L2::64B", "L2::128B", "L2::256B") >= 0 {
	}
	if !bulk {
		k := ms.takeOne("ca", "cg")
		if k < 0 {
			return lw.unsupported(in, "cp.async needs .ca or .cg")
		}
		o.setCopy(copyMode(k))
		if !(ms.take("shared") || ms.take("shared::cta")) || !ms.take("global") {
			return lw.unsupported(in, "cp.async copies .shared{::cta}.global")
		}
		args := in.Args
		if hint {
			// "When the optional argument cache-policy is specified, the
			// qualifier .level::cache_hint is required": the last operand,
			// a 64-bit hint.
			if len(args) < 4 {
				return lw.errAt(in.Line, "cp.async.L2::cache_hint needs a cache-policy operand")
			}
			if _, err := lw.src(in, args[len(args)-1], tB64); err != nil {
				return err
			}
			args = args[:len(args)-1]
		}
		if len(args) < 3 || len(args) > 4 {
			return lw.errAt(in.Line, "cp.async takes [dst], [src], cp-size{, src-size | ignore-src}{, cache-policy}")
		}
		if args[2].Kind != ptx.OpImm {
			return lw.errAt(in.Line, "cp.async's cp-size must be an integer constant")
		}
		size := args[2].Imm
		switch {
		case o.copyMode() == copyCG && size != 16:
			return lw.errAt(in.Line, "cp.async.cg copies 16 bytes, not %d", size)
		case size != 4 && size != 8 && size != 16:
			return lw.errAt(in.Line, "cp.async copies 4, 8 or 16 bytes, not %d", size)
		}
		o.typ = ptype(kB) | ptype(bitsLog(int(size)))
		if err := lw.copyAddrs(in, o, args[0], args[1], spShared, spGlobal); err != nil {
			return err
		}
		o.a[2] = lw.constSlot(uint64(size))
		if len(args) == 4 {
			// src-size (a 32-bit integer) or ignore-src (a predicate,
			// PTX ISA 7.5).
			a := args[3]
			if r, ok := lw.lookupReg(a.Name); a.Kind == ptx.OpName && ok && r.typ == tPred {
				if err := lw.require(in, 80, 75, "cp.async's ignore-src"); err != nil {
					return err
				}
				s, err := lw.negPred(in, o, a)
				if err != nil {
					return err
				}
				o.a[3] = s
				o.flags |= fHasC // a[3] is ignore-src, a predicate
			} else {
				var err error
				if o.a[3], err = lw.src(in, a, tU32); err != nil {
					return err
				}
			}
		}
		lw.emit(*o)
		return nil
	}
	// cp.async.bulk, without tensor maps. The modifiers are a set, so the
	// direction is told by the completion mechanism: both forms name
	// .shared::cta (as the destination, or as the source of .bulk_group).
	switch {
	case !ms.has("bulk_group") && (ms.take("shared::cluster") || ms.take("shared::cta")):
		if !ms.take("global") || !ms.take("mbarrier::complete_tx::bytes") {
			return lw.unsupported(in, "cp.async.bulk into shared memory needs .global and .mbarrier::complete_tx::bytes")
		}
		o.setCopy(copyBulkIn)
		if err := lw.nargs(in, 4); err != nil {
			return err
		}
		if err := lw.copyAddrs(in, o, in.Args[0], in.Args[1], spShared, spGlobal); err != nil {
			return err
		}
		var err error
		if o.a[2], err = lw.src(in, in.Args[2], tU32); err != nil {
			return err
		}
		// a[3]: the mbarrier's address (shared, a register or a variable).
		scratch := newOp(opNop, in.Line)
		scratch.space = spShared
		if err := lw.mbarAddr(in, &scratch, in.Args[3]); err != nil {
			return err
		}
		o.a[3] = lw.addrPlus(in, scratch)
	case ms.take("global"):
		if !ms.take("shared::cta") || !ms.take("bulk_group") {
			return lw.unsupported(in, "cp.async.bulk into global memory needs .shared::cta and .bulk_group")
		}
		o.setCopy(copyBulkOut)
		if err := lw.nargs(in, 3); err != nil {
			return err
		}
		if err := lw.copyAddrs(in, o, in.Args[0], in.Args[1], spGlobal, spShared); err != nil {
			return err
		}
		var err error
		if o.a[2], err = lw.src(in, in.Args[2], tU32); err != nil {
			return err
		}
	default:
		return lw.unsupported(in, "this cp.async.bulk form (only shared::cluster.global.mbarrier::complete_tx::bytes and global.shared::cta.bulk_group)")
	}
	o.typ = tB8
	lw.emit(*o)
	return nil
}

// copyAddrs lowers a copy's [dst] and [src] into a[0] and a[1], each the
// full address in its space (an offset is added into a hidden register).
func (lw *lowerer) copyAddrs(in *ptx.Instr, o *op, dst, src ptx.Operand, dsp, ssp space) error {
	for i, a := range []ptx.Operand{dst, src} {
		if !isAddress(a) {
			return lw.errAt(in.Line, "%s needs [address] operands", in.Name())
		}
		sp := dsp
		if i == 1 {
			sp = ssp
		}
		scratch := newOp(opNop, in.Line)
		scratch.space = sp
		if err := lw.address(in, &scratch, a); err != nil {
			return err
		}
		o.a[i] = lw.addrPlus(in, scratch)
	}
	return nil
}

// addrPlus is the slot holding a lowered address's base plus its offset.
func (lw *lowerer) addrPlus(in *ptx.Instr, a op) int32 {
	if a.off == 0 {
		return a.a[0]
	}
	add := newOp(opAdd, in.Line)
	add.typ = tU64
	add.a[0], add.a[1] = a.a[0], lw.constSlot(uint64(a.off))
	add.d[0] = lw.tempSlot()
	lw.emit(add)
	return add.d[0]
}

// lowerElect lowers elect.sync d|p, membermask (PTX ISA 8.0, sm_90).
func (lw *lowerer) lowerElect(in *ptx.Instr, ms *modSet, o *op) error {
	if !ms.take("sync") {
		return lw.unsupported(in, "elect needs .sync")
	}
	if err := lw.require(in, 90, 80, "elect.sync"); err != nil {
		return err
	}
	if err := lw.nargs(in, 2); err != nil {
		return err
	}
	o.code = opElect
	o.typ = tB32
	d := in.Args[0]
	var err error
	if d.Kind != ptx.OpPair {
		return lw.errAt(in.Line, "elect.sync writes d|p")
	}
	if o.d[0], err = lw.dst(in, d.Elems[0]); err != nil {
		return err
	}
	if o.d[1], err = lw.dst(in, d.Elems[1]); err != nil {
		return err
	}
	if o.a[1], err = lw.src(in, in.Args[1], tB32); err != nil { // the membermask, where vote keeps it
		return err
	}
	lw.emit(*o)
	return nil
}

// lowerFenceSpecial lowers the sm_90 fences of the async machinery.
// fence.proxy.async orders the generic proxy against the async proxy that
// cp.async.bulk works in; the checker treats bulk copies as generic-proxy
// accesses of their copy lane (race_async.go), so the fence orders nothing
// more for it and is a no-op, as the cache hints are; nor is it a release
// or acquire: "Bi-directional proxy fences do not directly synchronize
// with other fences in the sense that fences with .release or .acquire
// semantics do". fence.mbarrier_init.release.cluster is a release whose
// "synchronizing effect ... only applies to the prior mbarrier.init
// operations executed by the same thread": not a release of anything
// else the thread wrote, so not fence.acq_rel. An mbarrier.init is no
// memory access to the checker and takes effect for the whole block (a
// cluster of one CTA) at once, so the fence has nothing left to order and
// is a no-op too.
func (lw *lowerer) lowerFenceSpecial(in *ptx.Instr, ms *modSet, o *op) error {
	if err := lw.require(in, 90, 80, in.Name()); err != nil {
		return err
	}
	if err := lw.nargs(in, 0); err != nil {
		return err
	}
	if ms.take("mbarrier_init") {
		if !ms.take("release") || !ms.take("cluster") {
			return lw.unsupported(in, "fence.mbarrier_init needs .release.cluster")
		}
		o.code = opNop
		lw.emit(*o)
		return nil
	}
	ms.take("proxy")
	if !ms.take("async") {
		return lw.unsupported(in, "a proxy fence other than fence.proxy.async")
	}
	ms.takeOne("global", "shared::cta", "shared::cluster")
	o.code = opNop
	lw.emit(*o)
	return nil
}
