package cpuemu_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// The checker's shadow is byte-exact (race.go: a word touched below full
// width splits into per-byte shadows). Each case is a small PTX program
// over rcKernel (wbuf in shared memory, %rd1 the input, %rd2 the output);
// the expected hazard is derived from the program: two accesses by
// different threads to one byte, at least one a write, with nothing that
// orders them (PTX ISA §8.7.1), at the PTX lines marked in the body. The
// input bytes are all different (in[i] = i+1), so no write stores the byte
// already there.

// rbCopy: lanes a and b each copy 8 bytes, byte by byte, from in+8*lane to
// dst+4*lane (dst is "wbuf+128" in shared memory, or the output in global
// memory): their destinations overlap in 4 bytes. Lockstep runs both
// copies a byte at a time, interleaved, so a word that remembered one last
// write would see only same-thread or disjoint bytes and miss the race.
func rbCopy(space string, a, b int) string {
	dst := "	mov.u64 	%rd10, wbuf;\n	add.s64 	%rd10, %rd10, 128;"
	if space == "global" {
		dst = "	mov.u64 	%rd10, %rd2;"
	}
	return `
	setp.eq.u32 	%p1, %r0, ` + strconv.Itoa(a) + `;
	setp.eq.u32 	%p2, %r0, ` + strconv.Itoa(b) + `;
	or.pred 	%p3, %p1, %p2;
	@!%p3 bra 	$L_done;
	mov.u32 	%r2, 0;
	@%p2 mov.u32 	%r2, 1;
` + dst + `
	mul.wide.u32 	%rd11, %r2, 4;
	add.s64 	%rd10, %rd10, %rd11;
	mul.wide.u32 	%rd11, %r2, 8;
	add.s64 	%rd12, %rd1, %rd11;
	mov.u32 	%r3, 0;
$L_copy:
	cvt.u64.u32 	%rd13, %r3;
	add.s64 	%rd14, %rd12, %rd13;
	ld.global.u8 	%r4, [%rd14];
	add.s64 	%rd15, %rd10, %rd13;
	st.` + space + `.u8 	[%rd15], %r4; // COPY
	add.u32 	%r3, %r3, 1;
	setp.lt.u32 	%p4, %r3, 8;
	@%p4 bra 	$L_copy;
$L_done:`
}

type rbCase struct {
	name  string
	block uint32
	body  string
	// the hazard (error level) the program must give, "" for clean: its
	// type when the schedule runs the marked lines in the order A then B
	// (the other order flips RAW and WAR), its scope and space.
	typ, scope, space string
	lineA, lineB      string
}

func rbCases() []rbCase {
	return []rbCase{
		// The case: lane 1 writes byte 4, then byte 5; lane 0
		// writes byte 4. A word remembering one write kept only byte 5.
		{name: "byte-written-twice-then-neighbour", block: 32, body: `
	setp.eq.u32 	%p1, %r0, 1;
	@%p1 bra 	$L_one;
	setp.ne.u32 	%p2, %r0, 0;
	@%p2 bra 	$L_done;
	st.shared.u8 	[wbuf+132], %r0; // L0-B4
	bra.uni 	$L_done;
$L_one:
	st.shared.u8 	[wbuf+132], %r0; // L1-B4
	st.shared.u8 	[wbuf+133], %r0; // L1-B5
$L_done:`, typ: "WAW", scope: "intra-warp", space: "shared", lineA: "L1-B4", lineB: "L0-B4"},
		// Warp 0 lane 0 writes the upper half-word, then the lower one;
		// warp 1 lane 0 reads the upper half with no barrier.
		{name: "half-word-raw-inter-warp", block: 64, body: `
	setp.eq.u32 	%p1, %r0, 32;
	@%p1 bra 	$L_read;
	setp.ne.u32 	%p2, %r0, 0;
	@%p2 bra 	$L_done;
	st.shared.u16 	[wbuf+130], %r0; // HI-W
	st.shared.u16 	[wbuf+128], %r0; // LO-W
	bra.uni 	$L_done;
$L_read:
	ld.shared.u16 	%r5, [wbuf+130]; // HI-R
	st.global.u32 	[%rd2], %r5;
$L_done:`, typ: "RAW", scope: "inter-warp", space: "shared", lineA: "HI-W", lineB: "HI-R"},
		// The same with bar.sync between: ordered.
		{name: "half-word-after-barrier", block: 64, body: `
	setp.ne.u32 	%p2, %r0, 0;
	@%p2 bra 	$L_sync;
	st.shared.u16 	[wbuf+130], %r0;
	st.shared.u16 	[wbuf+128], %r0;
$L_sync:
	bar.sync 	0;
	setp.ne.u32 	%p1, %r0, 32;
	@%p1 bra 	$L_done;
	ld.shared.u16 	%r5, [wbuf+130];
	st.global.u32 	[%rd2], %r5;
$L_done:`},
		// Lane 1 reads byte 4, then byte 5; lane 0 writes byte 4.
		{name: "byte-war-intra-warp", block: 32, body: `
	setp.eq.u32 	%p1, %r0, 1;
	@%p1 bra 	$L_one;
	setp.ne.u32 	%p2, %r0, 0;
	@%p2 bra 	$L_done;
	st.shared.u8 	[wbuf+4], %r0; // W-B4
	bra.uni 	$L_done;
$L_one:
	ld.shared.u8 	%r5, [wbuf+4]; // R-B4
	ld.shared.u8 	%r6, [wbuf+5];
	add.u32 	%r5, %r5, %r6;
	st.global.u32 	[%rd2], %r5;
$L_done:`, typ: "WAR", scope: "intra-warp", space: "shared", lineA: "R-B4", lineB: "W-B4"},
		// Each lane writes its own byte, then, after __syncwarp, reads
		// the word its byte is in: disjoint writes, ordered reads.
		{name: "disjoint-bytes-then-word-after-syncwarp", block: 32, body: `
	cvt.u64.u32 	%rd9, %r0;
	add.s64 	%rd10, %rd7, %rd9;
	st.shared.u8 	[%rd10+128], %r0;
	bar.warp.sync 	-1;
	and.b64 	%rd11, %rd9, -4;
	add.s64 	%rd12, %rd7, %rd11;
	ld.shared.u32 	%r5, [%rd12+128];
	add.s64 	%rd13, %rd2, %rd3;
	st.global.u32 	[%rd13], %r5;`},
		// The same with no __syncwarp: lane 0 reads the word lanes 1-3
		// write a byte of (or they write after it read).
		{name: "bytes-then-word-no-sync", block: 32, body: `
	cvt.u64.u32 	%rd9, %r0;
	add.s64 	%rd10, %rd7, %rd9;
	st.shared.u8 	[%rd10+128], %r0; // BYTE-W
	and.b64 	%rd11, %rd9, -4;
	add.s64 	%rd12, %rd7, %rd11;
	ld.shared.u32 	%r5, [%rd12+128]; // WORD-R
	add.s64 	%rd13, %rd2, %rd3;
	st.global.u32 	[%rd13], %r5;`, typ: "RAW", scope: "intra-warp", space: "shared", lineA: "BYTE-W", lineB: "WORD-R"},
		// Byte-wise memcpy of overlapping regions between threads.
		{name: "memcpy-overlap-shared-intra-warp", block: 32, body: rbCopy("shared", 0, 1),
			typ: "WAW", scope: "intra-warp", space: "shared", lineA: "COPY", lineB: "COPY"},
		{name: "memcpy-overlap-global-inter-warp", block: 64, body: rbCopy("global", 0, 32),
			typ: "WAW", scope: "inter-warp", space: "global", lineA: "COPY", lineB: "COPY"},
		// Lanes 0 and 2 copy to dst and dst+8: disjoint, so clean.
		{name: "memcpy-disjoint-global", block: 32, body: strings.Replace(rbCopy("global", 0, 2), "@%p2 mov.u32 	%r2, 1;", "@%p2 mov.u32 	%r2, 2;", 1)},
	}
}

func TestCheckerByteExact(t *testing.T) {
	in := make([]byte, 4096)
	for i := range in {
		in[i] = byte(i + 1)
	}
	for _, c := range rbCases() {
		t.Run(c.name, func(t *testing.T) {
			src := rcKernel(c.body)
			m := ptLoad(t, c.name, src)
			for _, s := range ptSchedules() {
				d := cpuemu.NewDevice()
				pin := ptBuf(t, d, len(in), in)
				pout := ptBuf(t, d, 4096, nil)
				cfg := s.cfg(ptD1(1), ptD1(c.block))
				cfg.Check = true
				res, err := m.Launch(d, "k", cfg, pin, pout)
				if res == nil || res.Report == nil {
					t.Fatalf("%s: no report: %v", s, err)
				}
				rep := res.Report
				var text strings.Builder
				rep.WriteText(&text)
				if c.typ == "" {
					if err != nil || len(rep.Hazards) > 0 {
						t.Errorf("%s: want no hazard, got %v\n%s", s, err, text.String())
					}
					continue
				}
				a, b := ptLine(t, src, c.lineA), ptLine(t, src, c.lineB)
				flip := map[string]string{"RAW": "WAR", "WAR": "RAW", "WAW": "WAW"}
				found := false
				for _, h := range rep.Hazards {
					p, l := h.Prior.Site.PTXLine, h.Later.Site.PTXLine
					ok := p == a && l == b && h.Type == c.typ || p == b && l == a && h.Type == flip[c.typ]
					if ok && h.Scope == c.scope && h.Space == c.space && h.Severity == cpuemu.SeverityError {
						found = true
					}
				}
				if !found || err == nil {
					t.Errorf("%s: want a %s %s %s error between ptx lines %d and %d, got %v\n%s", s, c.typ, c.scope, c.space, a, b, err, text.String())
				}
			}
		})
	}
}

// TestCpAsyncSameBytesSplitWord: TestCpAsyncSameBytes's two unwaited
// copies of one thread into the word buf[0], one WAW occurrence, whether
// the word is whole or split into byte shadows (the thread's own byte
// store before the copies splits it, and orders before both). One prior
// access counts once per word, however many of its bytes the later one
// shares, as the shadow of a whole word counts it.
func TestCpAsyncSameBytesSplitWord(t *testing.T) {
	for _, first := range []string{"// word left whole", "st.shared.u8 [buf+1], %r0; // splits the word"} {
		src := mbarKernel(sm90Header, `
	`+first+`
	cp.async.ca.shared.global [buf], [%rd1], 4; // FIRST
	cp.async.ca.shared.global [buf], [%rd1+4], 4; // SECOND
	cp.async.wait_all;
`)
		asyncRun(t, src, 1, []uint32{11, 22}, 4, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
			h := asyncHazard(t, res, err, "WAW", ptLine(t, src, "// FIRST"), ptLine(t, src, "// SECOND"))
			if len(res.Report.Hazards) != 1 || h.Count != 1 {
				t.Errorf("%s: %d hazards, the WAW counted %d times; want 1, once", first, len(res.Report.Hazards), h.Count)
			}
		})
	}
}
