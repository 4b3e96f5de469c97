package cpuemu

import (
	"math/rand/v2"
	"testing"
)

// TestFastForms: every fast form gives, lane for lane, what the general
// path (aluLane, which the instruction tests check against the ISA) gives,
// both over a whole warp (aluFull's plain loops) and over a partial mask
// (alu's loops over the mask's bits), on edge values and random ones.
func TestFastForms(t *testing.T) {
	type form struct {
		code      opcode
		typ, typ2 ptype
		sub       uint8
		srcs      int
	}
	var forms []form
	for _, c := range []opcode{opAdd, opSub, opMul, opMad, opAnd, opOr, opXor, opShl, opShr, opMin, opMax, opMulWide} {
		for _, ty := range []ptype{tU32, tS32, tB32, tU64, tS64, tB64} {
			n := 2
			if c == opMad {
				n = 3
			}
			forms = append(forms, form{code: c, typ: ty, srcs: n})
		}
	}
	forms = append(forms, form{code: opMov, typ: tB32, srcs: 1}, form{code: opMov, typ: tU64, srcs: 1})
	for _, ty := range []ptype{tU32, tS32, tU64} {
		for cmp := cmpEQ; cmp <= cmpHS; cmp++ {
			forms = append(forms, form{code: opSetp, typ: tPred, typ2: ty, sub: cmp, srcs: 2})
		}
	}
	forms = append(forms, form{code: opSelp, typ: tB32, srcs: 3}, form{code: opSelp, typ: tU64, srcs: 3})
	for _, p := range [][2]ptype{{tU64, tU32}, {tU64, tB32}, {tS64, tS32}, {tB64, tS32}, {tU32, tU64}, {tS32, tS64}, {tB32, tU64}} {
		forms = append(forms, form{code: opCvt, typ: p[0], typ2: p[1], srcs: 1})
	}
	edges := []uint64{0, 1, 2, 31, 32, 33, 63, 64, 65, 0x7fffffff, 0x80000000, 0xffffffff, 1 << 32, 1<<63 - 1, 1 << 63, ^uint64(0), 0xffffffff80000000}
	rng := rand.New(rand.NewPCG(1, 2))
	covered := map[uint8]bool{}
	for _, f := range forms {
		o := op{code: f.code, typ: f.typ, typ2: f.typ2, sub: f.sub, vec: 1, guard: noSlot,
			d: [4]int32{0, noSlot, noSlot, noSlot}, a: [4]int32{noSlot, noSlot, noSlot, noSlot}}
		for i := range f.srcs {
			o.a[i] = int32(32 * (i + 1))
		}
		if f.code == opSetp && f.sub%2 == 1 {
			o.d[1] = 128 // the complement too (setp's |q), in every other comparison
		}
		fast := classifyFast(&o)
		if fast == fastNone {
			continue
		}
		covered[fast] = true
		for round := range 40 {
			regs := make([]uint64, 5*32)
			for i := 32; i < 128; i++ {
				if round < 20 {
					regs[i] = edges[rng.IntN(len(edges))]
				} else {
					regs[i] = rng.Uint64()
				}
				if f.code == opSelp && i >= 96 {
					regs[i] &= 1 // a predicate
				}
			}
			run := func(fast uint8, masks ...uint32) []uint64 {
				w := &warp{r: append([]uint64(nil), regs...)}
				w.c = &cta{l: &launch{diags: map[diagKey]*Diagnostic{}}}
				oo := o
				oo.fast = fast
				for _, m := range masks {
					w.alu(&oo, m, ^uint32(0))
				}
				return append(append([]uint64(nil), w.r[:32]...), w.r[128:160]...)
			}
			var want []uint64
			if f.code == opMov {
				want = append(append([]uint64(nil), regs[32:64]...), regs[128:160]...) // mov has no general path: it is always a fast form
			} else {
				want = run(fastNone, ^uint32(0))
			}
			full := run(fast, ^uint32(0))
			part := run(fast, 0x5555aaaa, ^uint32(0x5555aaaa))
			// A 32-bit register's value is its low 32 bits: the upper ones
			// may hold a sign or zero extension, as the two paths please.
			keep := ^uint64(0)
			if f.typ.size() == 4 && f.code != opMulWide {
				keep = 0xffffffff
			}
			for lane := range 64 { // d, then setp's complement
				if full[lane]&keep != want[lane]&keep || part[lane]&keep != want[lane]&keep {
					t.Fatalf("%s.%s (typ2 %s, sub %d, fast form %d) lane %d, sources %#x %#x %#x: general %#x, whole warp %#x, partial %#x",
						f.code, f.typ, f.typ2, f.sub, fast, lane, regs[32+lane], regs[64+lane], regs[96+lane], want[lane], full[lane], part[lane])
				}
			}
		}
	}
	for k := fastNone + 1; k <= fastMulWideS32; k++ {
		if !covered[k] {
			t.Errorf("fast form %d is not exercised", k)
		}
	}
}
