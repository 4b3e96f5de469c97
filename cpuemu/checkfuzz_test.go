package cpuemu_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// FuzzChecker turns its input into a small random kernel (genFuzzKernel)
// and runs it with the race and sync checker on, under lockstep, a random
// seed and the adversarial scheduler. Whatever the kernel does, the
// emulator must not break (no *InternalError, no panic), every error must
// be one of the typed errors a launch documents, the error must agree with
// the report, and a second run of the same input must give the identical
// report, error, output and instruction count.
func FuzzChecker(f *testing.F) {
	// Hand-made seeds: a shared handoff without a sync, the same with
	// bar.warp.sync, collectives with partial masks, branches around
	// barriers, atomics.
	f.Add([]byte{0x00, 7, opStShared, 0, 1, 0, 4, opLdShared, 0, 0, 16, 4})
	f.Add([]byte{0x00, 3, opStShared, 0, 1, 0, 4, opWarpSync, 0, 0, opLdShared, 0, 1, 16, 4})
	f.Add([]byte{0x01, 9, opShfl, 1, 2, 3, 1, opVote, 5, 2, opWarpSync, 3, 1, opStGlobal, 1, 1, 0, 4})
	f.Add([]byte{0x02, 1, opBranch, 0, 16, 2, opBarSync, opStShared, 1, 0, 0, 4, opBarSync, opLdShared, 1, 0, 0})
	f.Add([]byte{0x03, 5, opAtomShared, 0, 0, 0, opMembar, 0, opAtomGlobal, 2, 0, 0, opLdGlobal, 2, 0, 0, opArith, 1, 2, 3})
	f.Add([]byte{0x04, 2, opVote, 1, 0, opBranch, 1, 3, 1, opShfl, 0, 0, 1, 0, opExit, 2, 9, opWarpSync, 0, 0})
	f.Add([]byte{0x05, 8, opStGlobal, 0, 0, 0, 0, opBarSync, opLdGlobal, 0, 1, 0, opStShared, 2, 3, 1, 1, opMembar, 1})
	// And some bytes from a fixed generator, so that plain go test covers
	// more than the hand-made cases.
	r := rand.New(rand.NewPCG(1, 2))
	for range 24 {
		b := make([]byte, 8+r.IntN(120))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k := genFuzzKernel(data)
		m, err := cpuemu.Load("fuzz.ptx", []byte(k.ptx))
		if err != nil {
			t.Fatalf("the generated kernel does not load: %v\n%s", err, ptNumbered(k.ptx))
		}
		for _, s := range []struct {
			s    cpuemu.Scheduler
			seed uint64
		}{{cpuemu.Lockstep, 0}, {cpuemu.Random, k.seed}, {cpuemu.Adversarial, 0}} {
			cfg := cpuemu.LaunchConfig{Grid: k.grid, Block: k.block, Scheduler: s.s, Seed: s.seed, Check: true, MaxInstructions: 100_000, AdversarialBound: 500}
			a := runFuzz(t, m, k, cfg)
			b := runFuzz(t, m, k, cfg)
			if a != b {
				t.Fatalf("%s seed %d: two runs differ:\nfirst:  %s\nsecond: %s\nkernel:\n%s", s.s, s.seed, a, b, ptNumbered(k.ptx))
			}
		}
	})
}

// The operations of a generated kernel; each reads its operands from the
// following input bytes.
const (
	opStShared   = iota // st.shared at a thread-derived address
	opLdShared          // ld.shared
	opStGlobal          // st.global
	opLdGlobal          // ld.global
	opWarpSync          // bar.warp.sync with a mask that may leave the lane out
	opShfl              // shfl.sync, any mode, any mask
	opVote              // vote.sync.ballot (or .any), any mask
	opBarSync           // bar.sync 0
	opAtomShared        // atom.shared.add
	opAtomGlobal        // atom.global.add
	opBranch            // a forward branch on a thread predicate
	opMembar            // membar.cta / membar.gl / fence.acq_rel.cta
	opArith             // mix value registers
	opExit              // a predicated early exit
	numOps
)

type fuzzKernel struct {
	ptx         string
	grid, block cpuemu.Dim3
	seed        uint64
	bufBytes    int
}

// fuzzBytes reads the input a byte at a time, then zeros.
type fuzzBytes struct {
	b []byte
	i int
}

func (r *fuzzBytes) next() byte {
	if r.i >= len(r.b) {
		r.i++
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

func (r *fuzzBytes) more() bool { return r.i < len(r.b) }

const fuzzBufWords = 256

// genFuzzKernel writes one .entry from data. The first byte picks the
// launch shape, the second the random scheduler's seed; then each
// operation takes an opcode byte and its operand bytes. Branches only go
// forward and there are no loops, so every kernel terminates.
func genFuzzKernel(data []byte) fuzzKernel {
	r := &fuzzBytes{b: data}
	shape := r.next()
	k := fuzzKernel{
		grid:     cpuemu.Dim3{X: uint32(1 + shape&1), Y: 1, Z: 1},
		block:    cpuemu.Dim3{X: []uint32{32, 64, 48, 96}[shape>>1&3], Y: 1, Z: 1},
		seed:     uint64(r.next()) + 1,
		bufBytes: 4 * fuzzBufWords,
	}
	var b strings.Builder
	b.WriteString(`.version 7.8
.target sm_70
.address_size 64

.visible .entry fuzz(.param .u64 fuzz_buf)
{
	.reg .pred %p<4>;
	.reg .b32 %r<16>;
	.reg .b64 %rd<4>;
	.shared .align 8 .b8 sh[1024];

	ld.param.u64 %rd0, [fuzz_buf];
	cvta.to.global.u64 %rd0, %rd0;
	mov.u32 %r0, %laneid;
	mov.u32 %r1, %tid.x;
	mov.u32 %r2, %ctaid.x;
	mov.u32 %r3, sh;
	mov.u32 %r7, %ntid.x;
	mad.lo.u32 %r7, %r2, %r7, %r1;
	setp.lt.u32 %p1, %r0, 16;
`)
	for i := range 8 {
		fmt.Fprintf(&b, "\tmad.lo.u32 %%r%d, %%r7, %d, %d;\n", 8+i, 2*i+1, 1000*i)
	}
	// index registers: lane, tid, global thread id, and the constant 0
	// (through lane*0)
	src := func(x byte) string { return []string{"%r0", "%r1", "%r7", "%r0"}[x&3] }
	mult := func(x byte) int { return []int{1, 1, 2, 3, 1, 5, 31, 0}[x&7] }
	val := func(x byte) string { return fmt.Sprintf("%%r%d", 8+x&7) }
	mask := func(x byte) string {
		masks := []uint32{0xffffffff, 0x0000ffff, 0xffff0000, 0x55555555, 0xaaaaaaaa, 0x000000ff, 0x7fffffff, 0xfffffffe, 0x00000001, 0x80000000, 0x0000fffe, 0xffff}
		if x < 128 { // mostly the full warp, the common case
			return "0xffffffff"
		}
		return fmt.Sprintf("%#08x", masks[int(x)%len(masks)])
	}
	guard := func(x byte) string {
		switch x >> 6 {
		case 1:
			return "@%p1 "
		case 2:
			return "@!%p1 "
		}
		return ""
	}
	type label struct{ at, n int }
	var labels []label
	nlabel := 0
	const maxOps = 48
	for i := 0; r.more() && i < maxOps; i++ {
		kept := labels[:0]
		for _, l := range labels {
			if l.at == i {
				fmt.Fprintf(&b, "$L_%d:\n", l.n)
			} else {
				kept = append(kept, l)
			}
		}
		labels = kept
		switch op := r.next() % numOps; op {
		case opStShared, opLdShared, opAtomShared:
			s, v, off, w := r.next(), r.next(), r.next(), r.next()
			size := []int{4, 4, 2, 1, 8}[int(w)%5]
			if op == opAtomShared {
				size = 4
			}
			n := 1024 / size
			fmt.Fprintf(&b, "\tmad.lo.u32 %%r4, %s, %d, %d;\n\tand.b32 %%r4, %%r4, %d;\n\tmul.lo.u32 %%r4, %%r4, %d;\n\tadd.u32 %%r4, %%r4, %%r3;\n",
				src(s), mult(s>>2), off, n-1, size)
			g := guard(w)
			typ := fmt.Sprintf("u%d", 8*size)
			reg := val(v)
			if size == 8 {
				fmt.Fprintf(&b, "\tcvt.u64.u32 %%rd3, %s;\n", reg)
				reg = "%rd3"
			}
			switch op {
			case opStShared:
				fmt.Fprintf(&b, "\t%sst.shared.%s [%%r4], %s;\n", g, typ, reg)
			case opLdShared:
				fmt.Fprintf(&b, "\t%sld.shared.%s %s, [%%r4];\n", g, typ, reg)
				if size == 8 {
					fmt.Fprintf(&b, "\tcvt.u32.u64 %s, %%rd3;\n", val(v))
				}
			default:
				fmt.Fprintf(&b, "\t%satom.shared.add.u32 %s, [%%r4], %s;\n", g, val(v), val(v>>3))
			}
		case opStGlobal, opLdGlobal, opAtomGlobal:
			s, v, off := r.next(), r.next(), r.next()
			fmt.Fprintf(&b, "\tmad.lo.u32 %%r5, %s, %d, %d;\n\tand.b32 %%r5, %%r5, %d;\n\tmul.wide.u32 %%rd1, %%r5, 4;\n\tadd.s64 %%rd2, %%rd0, %%rd1;\n",
				src(s), mult(s>>2), off, fuzzBufWords-1)
			g := guard(v)
			switch op {
			case opStGlobal:
				fmt.Fprintf(&b, "\t%sst.global.u32 [%%rd2], %s;\n", g, val(v))
			case opLdGlobal:
				fmt.Fprintf(&b, "\t%sld.global.u32 %s, [%%rd2];\n", g, val(v))
			default:
				fmt.Fprintf(&b, "\t%satom.global.add.u32 %s, [%%rd2], %s;\n", g, val(v), val(v>>3))
			}
		case opWarpSync:
			fmt.Fprintf(&b, "\tbar.warp.sync %s;\n", mask(r.next()))
		case opShfl:
			x, v, lane, m := r.next(), r.next(), r.next(), r.next()
			mode := []string{"idx", "up", "down", "bfly"}[x&3]
			c := 31
			if mode == "up" {
				c = 0
			}
			fmt.Fprintf(&b, "\tshfl.sync.%s.b32 %s|%%p2, %s, %d, %d, %s;\n", mode, val(v), val(v>>3), lane&31, c, mask(m))
		case opVote:
			v, m := r.next(), r.next()
			if v&0x80 != 0 {
				fmt.Fprintf(&b, "\tvote.sync.any.pred %%p1, %%p1, %s;\n", mask(m))
			} else {
				fmt.Fprintf(&b, "\tvote.sync.ballot.b32 %s, %%p1, %s;\n", val(v), mask(m))
			}
		case opBarSync:
			b.WriteString("\tbar.sync 0;\n")
		case opBranch:
			s, kk, dist := r.next(), r.next(), r.next()
			cmp := []string{"lt", "ge", "eq", "ne"}[s>>2&3]
			fmt.Fprintf(&b, "\tsetp.%s.u32 %%p0, %s, %d;\n", cmp, src(s), kk&63)
			neg := ""
			if dist&0x80 != 0 {
				neg = "!"
			}
			labels = append(labels, label{at: i + 1 + int(dist&3), n: nlabel})
			fmt.Fprintf(&b, "\t@%s%%p0 bra $L_%d;\n", neg, nlabel)
			nlabel++
			// and set %p1, the guard of later operations, from the same
			// comparison or another one
			fmt.Fprintf(&b, "\tsetp.lt.u32 %%p1, %%r0, %d;\n", 1+kk>>6*8)
		case opMembar:
			b.WriteString([]string{"\tmembar.cta;\n", "\tmembar.gl;\n", "\tfence.acq_rel.cta;\n"}[int(r.next())%3])
		case opArith:
			d, a, c := r.next(), r.next(), r.next()
			fmt.Fprintf(&b, "\t%s %s, %s, %s;\n", []string{"add.u32", "xor.b32", "or.b32", "mul.lo.u32"}[d>>3&3], val(d), val(a), val(c))
		case opExit:
			s, kk := r.next(), r.next()
			fmt.Fprintf(&b, "\tsetp.eq.u32 %%p3, %s, %d;\n\t@%%p3 ret;\n", src(s), kk&63)
		}
	}
	for _, l := range labels {
		fmt.Fprintf(&b, "$L_%d:\n", l.n)
	}
	// Every thread leaves its values where the host can see them
	// (racing with other writes there: that is fine, it is checked too).
	b.WriteString("\tmul.wide.u32 %rd1, %r7, 4;\n\tand.b64 %rd1, %rd1, 1020;\n\tadd.s64 %rd2, %rd0, %rd1;\n\tst.global.u32 [%rd2], %r8;\n\tret;\n}\n")
	k.ptx = b.String()
	return k
}

// runFuzz launches k once on a fresh device and checks the invariants; it
// returns a summary to compare two runs with.
func runFuzz(t *testing.T, m *cpuemu.Module, k fuzzKernel, cfg cpuemu.LaunchConfig) string {
	t.Helper()
	d := cpuemu.NewDevice()
	init := make([]byte, k.bufBytes)
	for i := range init {
		init[i] = byte(i * 7)
	}
	p := buf(t, d, init)
	res, err := m.Launch(d, "fuzz", cfg, p)
	fail := func(format string, a ...any) {
		t.Helper()
		t.Fatalf("%s seed %d: %s\nkernel:\n%s", cfg.Scheduler, cfg.Seed, fmt.Sprintf(format, a...), ptNumbered(k.ptx))
	}
	var ie *cpuemu.InternalError
	if errors.As(err, &ie) {
		fail("emulator bug: %v\n%s", err, ie.Stack)
	}
	typed := func(err error) bool {
		var (
			ce *cpuemu.CheckError
			de *cpuemu.DeadlockError
			fe *cpuemu.FaultError
			le *cpuemu.LimitError
		)
		return errors.As(err, &ce) || errors.As(err, &de) || errors.As(err, &fe) || errors.As(err, &le)
	}
	if err != nil && !typed(err) {
		fail("untyped error %T: %v", err, err)
	}
	if res == nil || res.Report == nil {
		fail("no report (result %v), error %v", res != nil, err)
	}
	rep := res.Report
	var ce *cpuemu.CheckError
	switch {
	case err == nil && !rep.Clean():
		fail("the launch succeeded but the report is not clean")
	case err != nil && !errors.As(err, &ce):
		fail("a checked launch failed with %T, not a *CheckError: %v", err, err)
	case err != nil && ce.Report != rep:
		fail("the *CheckError carries another report than Result.Report")
	case err != nil && rep.Clean():
		fail("a *CheckError with a clean report: %v", err)
	}
	if rep.Fatal != nil {
		var de *cpuemu.DeadlockError
		var fe *cpuemu.FaultError
		var le *cpuemu.LimitError
		if !errors.As(rep.Fatal, &de) && !errors.As(rep.Fatal, &fe) && !errors.As(rep.Fatal, &le) {
			fail("fatal error of type %T: %v", rep.Fatal, rep.Fatal)
		}
	}
	for _, h := range rep.Hazards {
		if h.Count < 1 || h.Size < 1 || (h.Space != "shared" && h.Space != "global") ||
			(h.Type != "RAW" && h.Type != "WAR" && h.Type != "WAW") || h.Prior.Kind == "" || h.Later.Kind == "" {
			fail("malformed hazard %+v", h)
		}
		if h.Prior.Kind == "Read" && h.Later.Kind == "Read" {
			fail("a hazard between two reads: %v", &h)
		}
		if h.Prior.Kind == "Atomic" && h.Later.Kind == "Atomic" {
			// every atomic here is a 4-byte atom.add at .gpu scope:
			// morally strong with every other
			fail("a hazard between two atomics: %v", &h)
		}
		if h.Prior.Thread == h.Later.Thread && h.Prior.CTA == h.Later.CTA {
			fail("a hazard of a thread with itself: %v", &h)
		}
	}
	js, jerr := json.Marshal(rep)
	if jerr != nil {
		fail("report JSON: %v", jerr)
	}
	var text bytes.Buffer
	if werr := rep.WriteText(&text); werr != nil {
		fail("report text: %v", werr)
	}
	out := read(t, d, p, k.bufBytes)
	errText := "<nil>"
	if err != nil {
		errText = err.Error()
	}
	return fmt.Sprintf("err %s; instr %d/%d; out %x; report %s", errText, res.LaneInstructions, res.WarpInstructions, hashBytes(out), js)
}

func hashBytes(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}
