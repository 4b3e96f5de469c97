package cpuemu_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// The memory-model edges of the checker (PTX ISA §8), each as a correct
// kernel that must give a clean report under every schedule and a twin
// with the ordering removed that must give the named hazard. The CUDA-level
// classic cases are in races_test.go.

// rcKernel is ptWarpKernel with %r30 = %ctaid.x, %rd7 = wbuf, %rd8 =
// &wbuf[tid.x], and wbuf[tid.x] set to zero by every thread before a
// bar.sync, so that no read sees unwritten shared memory.
func rcKernel(body string) string {
	return ptWarpKernel(`	mov.u32 	%r30, %ctaid.x;
	mov.u64 	%rd7, wbuf;
	add.s64 	%rd8, %rd7, %rd3;
	mov.u32 	%r31, 0;
	st.shared.u32 	[%rd8], %r31;
	bar.sync 	0;
` + body)
}

type rcCase struct {
	name  string
	grid  uint32
	block uint32
	body  string
	// want is the hazard the twin must give ("" for a clean kernel):
	// its scope, and the PTX lines (by a text on them) of its two sides.
	scope     string
	lineA     string
	lineB     string
	syncKind  string // a sync error the kernel must give instead
	deadlocks bool
}

// Warp 0 lane 0 publishes wbuf[4] = 42 and raises the flag wbuf[0]; warp 1
// lane 0 spins on the flag, then reads wbuf[4] into out[0].
func rcPublish(store, load, fenceW, fenceR string) string {
	return `
	setp.eq.u32 	%p1, %r0, 0;
	@%p1 bra 	$L_prod;
	setp.eq.u32 	%p2, %r0, 32;
	@%p2 bra 	$L_cons;
	bra.uni 	$L_done;
$L_prod:
	mov.u32 	%r2, 42;
	st.shared.u32 	[wbuf+16], %r2; // DATA-W
	` + fenceW + `
	mov.u32 	%r3, 1;
	` + store + ` 	[wbuf], %r3;
	bra.uni 	$L_done;
$L_cons:
	` + load + ` 	%r4, [wbuf];
	setp.eq.u32 	%p3, %r4, 0;
	@%p3 bra 	$L_cons;
	` + fenceR + `
	ld.shared.u32 	%r5, [wbuf+16]; // DATA-R
	st.global.u32 	[%rd2], %r5;
$L_done:`
}

// rcClear: warp 0 lane 0 sets the flag wbuf[0] with a volatile store;
// warp 1 lane 0 polls it with volatile loads until it is set (or, poll
// false, does not look), then clears it with a plain store.
func rcClear(poll bool) string {
	wait := `
	ld.volatile.shared.u32 	%r4, [wbuf];
	setp.eq.u32 	%p3, %r4, 0;
	@%p3 bra 	$L_cons;`
	if !poll {
		wait = ""
	}
	return `
	setp.eq.u32 	%p1, %r0, 0;
	@%p1 bra 	$L_prod;
	setp.eq.u32 	%p2, %r0, 32;
	@%p2 bra 	$L_cons;
	bra.uni 	$L_done;
$L_prod:
	mov.u32 	%r3, 1;
	st.volatile.shared.u32 	[wbuf], %r3; // SET
	bra.uni 	$L_done;
$L_cons:` + wait + `
	mov.u32 	%r5, 0;
	st.shared.u32 	[wbuf], %r5; // CLEAR
$L_done:`
}

// rcArrive: warp 0 writes wbuf[32+tid] and arrives at named barrier 1;
// warp 1 waits there and reads it, or (syncFirst false) reads it first.
func rcArrive(syncFirst bool) string {
	wait, read := "bar.sync 	1, 64;", "ld.shared.u32 	%r5, [%rd8]; // DATA-R"
	if !syncFirst {
		wait, read = read, wait
	}
	return `
	setp.lt.u32 	%p1, %r0, 32;
	@!%p1 bra 	$L_cons;
	st.shared.u32 	[%rd8+128], %r0; // DATA-W
	bar.arrive 	1, 64;
	bra.uni 	$L_done;
$L_cons:
	` + wait + `
	` + read + `
	add.s64 	%rd11, %rd2, %rd3;
	st.global.u32 	[%rd11], %r5;
$L_done:`
}

func rcCases() []rcCase {
	atomic := func(op string) string {
		return `
	setp.ne.u32 	%p1, %r0, 0;
	@%p1 bra 	$L_done;
	mov.u32 	%r2, 1;
	` + op + ` 	%r3, [%rd2+4], %r2; // ATOM
$L_done:`
	}
	return []rcCase{
		{name: "release-acquire", grid: 1, block: 64, body: rcPublish("st.release.cta.shared.u32", "ld.acquire.cta.shared.u32", "", "")},
		{name: "relaxed-no-fence", grid: 1, block: 64, body: rcPublish("st.relaxed.cta.shared.u32", "ld.relaxed.cta.shared.u32", "", ""),
			scope: "inter-warp", lineA: "DATA-W", lineB: "DATA-R"},
		{name: "fences-relaxed", grid: 1, block: 64, body: rcPublish("st.relaxed.cta.shared.u32", "ld.relaxed.cta.shared.u32", "fence.acq_rel.cta;", "fence.acq_rel.cta;")},
		{name: "membar-volatile", grid: 1, block: 64, body: rcPublish("st.volatile.shared.u32", "ld.volatile.shared.u32", "membar.cta;", "membar.cta;")},
		{name: "fence-writer-only", grid: 1, block: 64, body: rcPublish("st.relaxed.cta.shared.u32", "ld.relaxed.cta.shared.u32", "fence.acq_rel.cta;", ""),
			scope: "inter-warp", lineA: "DATA-W", lineB: "DATA-R"},
		{name: "atom-gpu-across-blocks", grid: 3, block: 32, body: atomic("atom.global.add.u32")},
		{name: "atom-cta-across-blocks", grid: 3, block: 32, body: atomic("atom.global.cta.add.u32"),
			scope: "inter-block", lineA: "ATOM", lineB: "ATOM"},
		// Causality order (§8.9.5) holds observation order: the flag's
		// volatile store is before what the lane that read it does next,
		// so its plain store clearing the flag does not race with it.
		// Without the poll nothing orders the two stores.
		{name: "observed-flag-cleared-by-plain-store", grid: 1, block: 64, body: rcClear(true)},
		{name: "unobserved-flag-cleared-by-plain-store", grid: 1, block: 64, body: rcClear(false),
			scope: "inter-warp", lineA: "SET", lineB: "CLEAR"},
		{name: "bar-arrive-then-sync", grid: 1, block: 64, body: rcArrive(true)},
		{name: "read-before-bar-sync", grid: 1, block: 64, body: rcArrive(false), scope: "inter-warp", lineA: "DATA-W", lineB: "DATA-R"},
		{name: "shfl-orders-no-memory", grid: 1, block: 32, body: `
	st.shared.u32 	[%rd8+128], %r0; // DATA-W
	shfl.sync.idx.b32 	%r4, %r0, 0, 31, -1;
	xor.b32 	%r6, %r0, 1;
	mul.wide.u32 	%rd9, %r6, 4;
	add.s64 	%rd10, %rd7, %rd9;
	ld.shared.u32 	%r5, [%rd10+128]; // DATA-R
	add.s64 	%rd11, %rd2, %rd3;
	st.global.u32 	[%rd11], %r5;`, scope: "intra-warp", lineA: "DATA-W", lineB: "DATA-R"},
		{name: "syncwarp-orders-memory", grid: 1, block: 32, body: `
	st.shared.u32 	[%rd8+128], %r0; // DATA-W
	bar.warp.sync 	-1;
	xor.b32 	%r6, %r0, 1;
	mul.wide.u32 	%rd9, %r6, 4;
	add.s64 	%rd10, %rd7, %rd9;
	ld.shared.u32 	%r5, [%rd10+128]; // DATA-R
	add.s64 	%rd11, %rd2, %rd3;
	st.global.u32 	[%rd11], %r5;`},
		{name: "byte-neighbours", grid: 1, block: 32, body: `
	cvt.u64.u32 	%rd9, %r0;
	add.s64 	%rd10, %rd7, %rd9;
	st.shared.u8 	[%rd10+128], %r0;
	bar.warp.sync 	-1;`},
		{name: "broadcast-reads-then-write-in-a-later-block", grid: 3, block: 64, body: `
	setp.eq.u32 	%p1, %r30, 2;
	@%p1 bra 	$L_write;
	ld.global.u32 	%r2, [%rd2+4]; // READ
	bra.uni 	$L_done;
$L_write:
	setp.ne.u32 	%p2, %r0, 0;
	@%p2 bra 	$L_done;
	st.global.u32 	[%rd2+4], %r0; // WRITE
$L_done:`, scope: "inter-block", lineA: "READ", lineB: "WRITE"},
		{name: "mismatched-masks", grid: 1, block: 32, body: `
	mov.u32 	%r2, 0x1ffff;
	setp.ge.u32 	%p1, %r0, 16;
	@%p1 mov.u32 	%r2, -1;
	bar.warp.sync 	%r2; // SYNC`, syncKind: "rendezvous-mismatch", deadlocks: true},
		{name: "block-diverges-at-syncthreads", grid: 1, block: 64, body: `
	setp.lt.u32 	%p1, %r0, 32;
	@%p1 bra 	$L_first;
	bar.sync 	0; // BAR-B
	bra.uni 	$L_done;
$L_first:
	bar.sync 	0; // BAR-A
$L_done:`, syncKind: "barrier-not-aligned"},
		{name: "named-barrier-from-two-sites", grid: 1, block: 64, body: `
	setp.lt.u32 	%p1, %r0, 32;
	@%p1 bra 	$L_first;
	bar.sync 	1, 64;
	bra.uni 	$L_done;
$L_first:
	bar.sync 	1, 64;
$L_done:`},
		{name: "exit-while-warp-waits", grid: 1, block: 32, body: `
	setp.lt.u32 	%p1, %r0, 16;
	@%p1 bra 	$L_wait;
	mov.u32 	%r2, 0;
$L_spin:
	add.u32 	%r2, %r2, 1;
	setp.lt.u32 	%p2, %r2, 200;
	@%p2 bra 	$L_spin;
	bra.uni 	$L_done;
$L_wait:
	bar.sync 	0; // BAR
$L_done:`, syncKind: "barrier-divergence"},
	}
}

func TestCheckerMemoryModel(t *testing.T) {
	for _, c := range rcCases() {
		t.Run(c.name, func(t *testing.T) {
			src := rcKernel(c.body)
			m := ptLoad(t, c.name, src)
			for _, s := range ptSchedules() {
				d := cpuemu.NewDevice()
				pin := ptBuf(t, d, 4096, nil)
				pout := ptBuf(t, d, 4096, nil)
				cfg := s.cfg(ptD1(c.grid), ptD1(c.block))
				cfg.Check = true
				cfg.MaxInstructions = 1 << 22
				res, err := m.Launch(d, "k", cfg, pin, pout)
				if res == nil || res.Report == nil {
					t.Fatalf("%s: no report: %v", s, err)
				}
				rep := res.Report
				var text strings.Builder
				rep.WriteText(&text)
				switch {
				case c.scope != "":
					var hz *cpuemu.Hazard
					if !errors.As(err, &hz) {
						t.Fatalf("%s: want a %s hazard, got %v\n%s", s, c.scope, err, text.String())
					}
					a, b := ptLine(t, src, c.lineA), ptLine(t, src, c.lineB)
					found := false
					for _, h := range rep.Hazards {
						p, l := h.Prior.Site.PTXLine, h.Later.Site.PTXLine
						if h.Scope == c.scope && (p == a && l == b || p == b && l == a) && h.Count >= 1 {
							found = true
						}
					}
					if !found {
						t.Errorf("%s: no %s hazard between ptx lines %d and %d:\n%s", s, c.scope, a, b, text.String())
					}
				case c.syncKind != "":
					var se *cpuemu.SyncError
					if !errors.As(err, &se) || len(rep.Sync) == 0 || rep.Sync[0].Kind != c.syncKind {
						t.Errorf("%s: want sync error %s, got %v\n%s", s, c.syncKind, err, text.String())
					}
					var dl *cpuemu.DeadlockError
					if c.deadlocks != errors.As(err, &dl) {
						t.Errorf("%s: deadlock %v, want %v: %v", s, !c.deadlocks, c.deadlocks, err)
					}
				default:
					if err != nil || !rep.CleanAt(cpuemu.SeverityWarning) {
						t.Errorf("%s: want a clean report, got %v\n%s", s, err, text.String())
					}
				}
			}
		})
	}
}

// TestCheckerDeterministicJSON: the same launch gives the same report, and
// its JSON form parses and holds the hazard.
func TestCheckerDeterministicJSON(t *testing.T) {
	var c rcCase
	for _, x := range rcCases() {
		if x.name == "shfl-orders-no-memory" {
			c = x
		}
	}
	src := rcKernel(c.body)
	m := ptLoad(t, c.name, src)
	var prev []byte
	for range 2 {
		d := cpuemu.NewDevice()
		res, _ := m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(32), Scheduler: cpuemu.Random, Seed: 9, Check: true},
			ptBuf(t, d, 128, nil), ptBuf(t, d, 128, nil))
		j, err := json.Marshal(res.Report)
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil && string(prev) != string(j) {
			t.Fatalf("two runs, two reports:\n%s\n%s", prev, j)
		}
		prev = j
	}
	var back struct {
		Kernel  string
		Clean   bool
		Hazards []struct {
			Type, Scope, Space string
			Prior, Later       struct {
				Site struct {
					PTXLine int `json:"ptx_line"`
				}
			}
		}
	}
	if err := json.Unmarshal(prev, &back); err != nil {
		t.Fatal(err)
	}
	if back.Kernel != "k" || back.Clean || len(back.Hazards) == 0 || back.Hazards[0].Space != "shared" || back.Hazards[0].Scope != "intra-warp" {
		t.Errorf("JSON report does not hold the hazard: %s", prev)
	}
	w, r := ptLine(t, src, "DATA-W"), ptLine(t, src, "DATA-R")
	if h := back.Hazards[0]; h.Prior.Site.PTXLine+h.Later.Site.PTXLine != w+r {
		t.Errorf("hazard lines %d and %d, want %d and %d", h.Prior.Site.PTXLine, h.Later.Site.PTXLine, w, r)
	}
}

// TestTrace: a traced launch records every lane's instructions in order,
// with the addresses of its memory accesses, and stops at the limit.
func TestTrace(t *testing.T) {
	src := rcKernel(`
	st.shared.u32 	[%rd8+128], %r0; // STORE`)
	m := ptLoad(t, "trace", src)
	d := cpuemu.NewDevice()
	res, err := m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(40), Trace: true}, ptBuf(t, d, 4096, nil), ptBuf(t, d, 4096, nil))
	if err != nil {
		t.Fatal(err)
	}
	line := ptLine(t, src, "STORE")
	stores := map[int]uint64{}
	var last int64
	for _, e := range res.Trace {
		if e.Step < last {
			t.Fatalf("steps go back: %d after %d", e.Step, last)
		}
		last = e.Step
		if e.PTXLine == line {
			if e.Op != "st.shared" || !e.HasAddr || e.Space != "shared" {
				t.Errorf("store event %+v", e)
			}
			stores[e.Warp*32+e.Lane] = e.Addr
		}
	}
	if len(stores) != 40 {
		t.Fatalf("%d lanes traced at the store, want 40", len(stores))
	}
	for tid, a := range stores {
		if a != uint64(4*tid+128) {
			t.Errorf("thread %d stored at %#x, want %#x", tid, a, 4*tid+128)
		}
	}
	res, _ = m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(40), Trace: true, TraceLimit: 10}, ptBuf(t, d, 4096, nil), ptBuf(t, d, 4096, nil))
	if len(res.Trace) != 10 || !res.TraceTruncated {
		t.Errorf("limit 10: %d events, truncated %v", len(res.Trace), res.TraceTruncated)
	}
}
