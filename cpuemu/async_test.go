package cpuemu_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// Tests of elect.sync, the bulk copies, the proxy fences, the arrive-on
// arithmetic of cp.async.mbarrier.arrive, and the checker's view of
// asynchronous copies. Every expected value is derived by hand from the
// PTX ISA text quoted at each test (PTX ISA 9.x, "Parallel
// Synchronization and Communication Instructions: mbarrier", "Data
// Movement and Conversion Instructions: Asynchronous copy", "membar/fence"
// and "elect.sync").

// asyncRun launches kernel k of src under every schedule of ptSchedules
// with the checker on, grid 1 and block threads, in and out being nIn and
// nOut bytes (in filled from inWords), and hands each result to check.
func asyncRun(t *testing.T, src string, threads uint32, inWords []uint32, nOut int,
	check func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error)) {
	t.Helper()
	m := ptLoad(t, "async", src)
	for _, s := range ptSchedules() {
		t.Run(s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			pin := ptBuf(t, d, max(4*len(inWords), 256), ptBytes(inWords...))
			pout := ptBuf(t, d, nOut, nil)
			cfg := s.cfg(ptD1(1), ptD1(threads))
			cfg.Check = true
			res, err := m.Launch(d, "k", cfg, pin, pout)
			check(t, s, ptWords(ptRead(t, d, pout, nOut)), res, err)
		})
	}
}

// asyncClean fails unless the launch ended without an error and with a
// clean report.
func asyncClean(t *testing.T, res *cpuemu.Result, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	if !res.Report.Clean() {
		var b strings.Builder
		res.Report.WriteText(&b)
		t.Fatalf("report not clean:\n%s", b.String())
	}
}

// asyncHazard fails unless the launch's report holds a hazard of type
// typ whose prior access is at PTX line prior and whose later one is at
// line later, and returns it.
func asyncHazard(t *testing.T, res *cpuemu.Result, err error, typ string, prior, later int) cpuemu.Hazard {
	t.Helper()
	var ce *cpuemu.CheckError
	if !errors.As(err, &ce) || res == nil || res.Report == nil {
		t.Fatalf("got %v, want a *CheckError with a %s hazard between lines %d and %d", err, typ, prior, later)
	}
	for _, h := range res.Report.Hazards {
		if h.Type == typ && h.Prior.Site.PTXLine == prior && h.Later.Site.PTXLine == later {
			if h.Severity != cpuemu.SeverityError {
				t.Errorf("hazard %v at severity %v, want error", &h, h.Severity)
			}
			return h
		}
	}
	t.Fatalf("no %s hazard from line %d to line %d in %+v", typ, prior, later, res.Report.Hazards)
	return cpuemu.Hazard{}
}

// TestElectSync: "elect.sync elects one predicated active leader thread
// from among a set of threads specified by membermask. laneid of the
// elected thread is returned in the 32-bit destination operand d. ... The
// predicate destination p is set to True for the leader thread, and False
// for all other threads. ... Election of a leader thread happens
// deterministically, i.e. the same leader thread is elected for the same
// membermask every time." Lanes 4-7 and 12-15 elect among membermask
// 0xf0f0 (a partial mask, the other lanes skip it), then the whole warp
// elects with 0xffffffff. Each lane stores d and p of both; lanes that
// skip the first keep 99.
func TestElectSync(t *testing.T) {
	src := mbarKernel(sm90Header, `
	mov.u32 %r10, 99;
	mov.u32 %r11, 99;
	mov.u32 %r5, 0xf0f0;
	shr.b32 %r4, %r5, %r0;
	and.b32 %r4, %r4, 1;
	setp.eq.u32 %p1, %r4, 0;
	@%p1 bra FULL;
	elect.sync %r10|%p2, 0xf0f0;
	selp.u32 %r11, 1, 0, %p2;
FULL:
	elect.sync %r12|%p3, -1;
	selp.u32 %r13, 1, 0, %p3;
	mul.wide.u32 %rd6, %r0, 16;
	add.s64 %rd7, %rd2, %rd6;
	st.global.v4.u32 [%rd7], {%r10, %r11, %r12, %r13};
`)
	const mask = 0xf0f0
	leaders := map[string]bool{}
	asyncRun(t, src, 32, nil, 32*16, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncClean(t, res, err)
		ptNoDiag(t, res)
		part, full := out[4*4], out[4*0+2] // lane 4 is in the mask
		if part > 31 || mask&(1<<part) == 0 {
			t.Fatalf("membermask %#x elected lane %d, not one of its lanes", mask, part)
		}
		for lane := range 32 {
			d, p, fd, fp := out[4*lane], out[4*lane+1], out[4*lane+2], out[4*lane+3]
			if mask&(1<<lane) == 0 {
				if d != 99 || p != 99 {
					t.Errorf("lane %d is not in the mask but got d=%d p=%d", lane, d, p)
				}
			} else if d != part || p != b2u(uint32(lane) == part) {
				t.Errorf("lane %d: d=%d p=%d, want d=%d p=%v", lane, d, p, part, uint32(lane) == part)
			}
			if fd != full || fp != b2u(uint32(lane) == full) {
				t.Errorf("lane %d (full mask): d=%d p=%d, want d=%d p=%v", lane, fd, fp, full, uint32(lane) == full)
			}
		}
		leaders[fmt.Sprintf("%d/%d", part, full)] = true
	})
	if len(leaders) != 1 {
		t.Errorf("the leaders differ between schedules: %v (the ISA: the same leader for the same membermask every time)", leaders)
	}
}

// TestMbarrierISAExample follows the arrivals of the ISA's "Example 1a"
// (mbarrier.test_wait) by one thread, each count worked out from the rules
// quoted in mbarrier.go:
//
//	init 32                      expected 32, pending 32, tx 0
//	expect_tx 512 (twice)        tx 1024
//	arrive                       pending 31
//	arrive 4                     pending 27
//	arrive.noComplete 4          pending 23; its state's pending_count is 27
//	arrive_drop                  expected 31, pending 22
//	arrive_drop 4                expected 27, pending 18
//	arrive.expect_tx 4           tx 1028, pending 17
//	arrive_drop.expect_tx 8      tx 1036, expected 26, pending 16
//	complete_tx 32               tx 1004: phase 0 incomplete (test_wait False)
//	complete_tx 1004, arrive 16  tx 0, pending 0: phase 0 completes (True),
//	                             pending reloaded from expected: 26
//	arrive.noComplete 1          its state's pending_count is 26
func TestMbarrierISAExample(t *testing.T) {
	src := mbarKernel(sm90Header, `
	mbarrier.init.shared.b64 [bar], 32;
	mbarrier.expect_tx.relaxed.cta.shared.b64 [bar], 512;
	mbarrier.expect_tx.shared.b64 [bar], 512;
	mbarrier.arrive.shared.b64 %rd6, [bar];
	mbarrier.arrive.shared.b64 %rd6, [bar], 4;
	mbarrier.arrive.noComplete.shared.b64 %rd7, [bar], 4;
	mbarrier.arrive_drop.shared.b64 %rd6, [bar];
	mbarrier.arrive_drop.shared.b64 %rd6, [bar], 4;
	mbarrier.arrive.expect_tx.shared.b64 %rd6, [bar], 4;
	mbarrier.arrive_drop.expect_tx.shared.b64 %rd6, [bar], 8;
	mbarrier.complete_tx.shared.b64 [bar], 32;
	mbarrier.test_wait.shared.b64 %p1, [bar], %rd6;
	selp.u32 %r10, 1, 0, %p1;
	mbarrier.pending_count.b64 %r11, %rd7;
	mbarrier.complete_tx.shared.b64 [bar], 1004;
	mbarrier.test_wait.shared.b64 %p2, [bar], %rd6;
	selp.u32 %r12, 1, 0, %p2;
	mbarrier.arrive.shared.b64 %rd8, [bar], 16;
	mbarrier.test_wait.shared.b64 %p3, [bar], %rd6;
	selp.u32 %r13, 1, 0, %p3;
	mbarrier.arrive.noComplete.shared.b64 %rd9, [bar], 1;
	mbarrier.pending_count.b64 %r14, %rd9;
	st.global.v4.u32 [%rd2], {%r10, %r11, %r12, %r13};
	st.global.u32 [%rd2+16], %r14;
`)
	want := []uint32{0, 27, 0, 1, 26}
	asyncRun(t, src, 1, nil, 20, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncClean(t, res, err)
		if !slices.Equal(out, want) {
			t.Errorf("got %v, want %v", out, want)
		}
	})
}

// The arrive-on of cp.async.mbarrier.arrive: "When .noinc modifier is not
// specified, the pending count of the mbarrier object is incremented by 1
// prior to the asynchronous arrive-on operation. This results in a
// zero-net change for the pending count from the asynchronous arrive-on
// operation during the current phase. ... When the .noinc modifier is
// specified, the increment to the pending count of the mbarrier object is
// not performed. Hence the decrement of the pending count done by the
// asynchronous arrive-on operation must be accounted for in the
// initialization of the mbarrier object." One thread copies in[0] into
// buf, makes bar track the copy, arrives once, and polls phase 0 as
// libcu++ does; then it reads buf.
func asyncArriveKernel(init int, noinc string) string {
	return mbarKernel(ptHeader80, fmt.Sprintf(`
	mbarrier.init.shared.b64 [bar], %d;
	cp.async.ca.shared.global [buf], [%%rd1], 4;
	cp.async.mbarrier.arrive%s.shared.b64 [bar];
	mbarrier.arrive.shared.b64 %%rd6, [bar];
WAIT:
	mbarrier.test_wait.parity.shared.b64 %%p1, [bar], 0;
	@%%p1 bra DONE;
	nanosleep.u32 20;
	bra.uni WAIT;
DONE:
	ld.shared.u32 %%r4, [buf];
	st.global.u32 [%%rd2], %%r4;
`, init, noinc))
}

// TestCpAsyncMbarrierArrive: with init count 1 and no .noinc, pending is
// 1, +1 (the increment), -1 (the arrive), -1 (the arrive-on once the copy
// landed): phase 0 completes after the copy, and buf holds in[0]. With
// .noinc the copy's arrive-on must be counted at init: init 2 gives 2 - 1
// - 1 = 0, the same. The copy happens before the read through the phase
// (the arrive-on releases it), so the checker finds nothing.
func TestCpAsyncMbarrierArrive(t *testing.T) {
	for _, c := range []struct {
		init  int
		noinc string
	}{{1, ""}, {2, ".noinc"}} {
		t.Run(fmt.Sprintf("init%d%s", c.init, c.noinc), func(t *testing.T) {
			asyncRun(t, asyncArriveKernel(c.init, c.noinc), 1, []uint32{0x1234}, 4, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
				asyncClean(t, res, err)
				if out[0] != 0x1234 {
					t.Errorf("buf after the wait = %#x, want in[0] = 0x1234", out[0])
				}
			})
		})
	}
}

// TestCpAsyncMbarrierArriveCounts: the same with counts that do not add
// up. Without .noinc and init 2, pending is 2 + 1 - 1 - 1 = 1 after every
// arrival: phase 0 never completes and the poll deadlocks, the message
// naming 2 of 3 arrivals (the increment made 3 pending in the phase).
// With .noinc and init 1, whichever of the plain arrive and the copy's
// arrive-on comes first completes phase 0 (1 - 1 = 0). When it is the
// plain arrive (always under the adversarial scheduler, which keeps the
// copy in flight), the wait returns before the copy has landed and the
// read of buf is a RAW hazard with the copy. When the copy lands first,
// the plain arrive falls in phase 1 before any wait observed phase 0,
// which the ISA forbids ("at least one test_wait or try_wait operation
// must be performed which returns True for waitComplete before an
// arrive-on operation in the subsequent phase"): mbarrier-over-arrival.
func TestCpAsyncMbarrierArriveCounts(t *testing.T) {
	src := asyncArriveKernel(2, "")
	asyncRun(t, src, 1, []uint32{0x1234}, 4, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		var de *cpuemu.DeadlockError
		if !errors.As(err, &de) {
			t.Fatalf("got %v, want a *DeadlockError", err)
		}
		for _, w := range []string{"poll the mbarrier at shared offset 0x0", "phase 0 (parity 0)", "2 of 3 arrivals came, tx-count 0"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	})
	src = asyncArriveKernel(1, ".noinc")
	asyncRun(t, src, 1, []uint32{0x1234}, 4, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		if s.s == cpuemu.Adversarial || res != nil && res.Report != nil && len(res.Report.Sync) == 0 {
			asyncHazard(t, res, err, "RAW", ptLine(t, src, "cp.async.ca"), ptLine(t, src, "ld.shared.u32 %r4, [buf]"))
			return
		}
		if d := ptDiag(t, res, "mbarrier-over-arrival"); d.Site.PTXLine != ptLine(t, src, "mbarrier.arrive.shared") {
			t.Errorf("over-arrival at line %d, want the plain arrive's", d.Site.PTXLine)
		}
	})
}

// bulkInKernel: thread 0 expects txBytes on bar and arrives (pending 0),
// then copies 64 bytes of in into buf with cp.async.bulk, whose
// "complete-tx operation, with completeCount argument equal to amount of
// data copied in bytes, will be performed on the mbarrier object". Its
// first poll's result goes to out[16]; it spins until phase 0 completes
// and copies buf to out[0..15]. early reads buf before the wait.
func bulkInKernel(txBytes int, early bool) string {
	e := ""
	if early {
		e = "ld.shared.u32 %r20, [buf+4]; // EARLY"
	}
	return mbarKernel(sm90Header, fmt.Sprintf(`
	mbarrier.init.shared.b64 [bar], 1;
	mbarrier.arrive.expect_tx.shared.b64 %%rd6, [bar], %d;
	cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [buf], [%%rd1], 64, [bar];
	%s
	mbarrier.test_wait.parity.shared.b64 %%p1, [bar], 0;
	selp.u32 %%r10, 1, 0, %%p1;
	st.global.u32 [%%rd2+64], %%r10;
WAIT:
	mbarrier.try_wait.parity.shared.b64 %%p2, [bar], 0;
	@!%%p2 bra WAIT;
	ld.shared.v4.u32 {%%r4, %%r5, %%r6, %%r7}, [buf];
	st.global.v4.u32 [%%rd2], {%%r4, %%r5, %%r6, %%r7};
	ld.shared.v4.u32 {%%r4, %%r5, %%r6, %%r7}, [buf+16];
	st.global.v4.u32 [%%rd2+16], {%%r4, %%r5, %%r6, %%r7};
	ld.shared.v4.u32 {%%r4, %%r5, %%r6, %%r7}, [buf+32];
	st.global.v4.u32 [%%rd2+32], {%%r4, %%r5, %%r6, %%r7};
	ld.shared.v4.u32 {%%r4, %%r5, %%r6, %%r7}, [buf+48];
	st.global.v4.u32 [%%rd2+48], {%%r4, %%r5, %%r6, %%r7};
`, txBytes, e))
}

func iota32(n int, base uint32) []uint32 {
	w := make([]uint32, n)
	for i := range w {
		w[i] = base + uint32(i)
	}
	return w
}

// TestBulkCopyIn: "An mbarrier object completes the current phase when ...
// The count of the pending arrivals has reached zero. The tx-count has
// reached zero." After the arrive, pending is 0 but tx is 64 until the
// copy's complete-tx: the phase completes only when the bytes arrive. The
// adversarial scheduler keeps the copy in flight, so its first poll fails;
// under every schedule the wait returns once the bytes are there, buf
// holds in, and the complete-tx (".release semantics at the .cluster
// scope") orders the copy before the reads: the checker finds nothing.
func TestBulkCopyIn(t *testing.T) {
	in := iota32(16, 0x100)
	asyncRun(t, bulkInKernel(64, false), 1, in, 68, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncClean(t, res, err)
		if !slices.Equal(out[:16], in) {
			t.Errorf("buf after the wait = %v, want %v", out[:16], in)
		}
		if s.s == cpuemu.Adversarial && out[16] != 0 {
			t.Errorf("the first poll, with the copy in flight, returned True")
		}
	})
}

// TestBulkCopyInTxShort: 128 bytes expected, 64 copied: "A tx-count that
// never reaches zero" leaves phase 0 incomplete forever; the deadlock
// names the barrier, the phase, the arrivals (1 of 1) and the tx-count
// left (128 - 64 = 64).
func TestBulkCopyInTxShort(t *testing.T) {
	asyncRun(t, bulkInKernel(128, false), 1, iota32(16, 1), 68, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		var de *cpuemu.DeadlockError
		if !errors.As(err, &de) {
			t.Fatalf("got %v, want a *DeadlockError", err)
		}
		for _, w := range []string{"shared offset 0x0", "phase 0 (parity 0)", "1 of 1 arrivals came, tx-count 64"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q lacks %q", err, w)
			}
		}
	})
}

// TestBulkCopyInEarlyRead: "reading from the destination memory location
// before the asynchronous operation completes, exhibits undefined
// behavior": a read of buf before the wait is a RAW hazard from the bulk
// copy's line to the read's, under every schedule.
func TestBulkCopyInEarlyRead(t *testing.T) {
	src := bulkInKernel(64, true)
	asyncRun(t, src, 1, iota32(16, 1), 68, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncHazard(t, res, err, "RAW", ptLine(t, src, "cp.async.bulk"), ptLine(t, src, "// EARLY"))
	})
}

// bulkOutKernel: thread 0 writes 64 bytes of buf (1..16), fences the
// generic proxy against the async proxy ("For the async proxy,
// fence.proxy.async should be used to synchronize memory between generic
// proxy and the async proxy"), copies buf to out with
// cp.async.bulk.global.shared::cta.bulk_group, commits, and waits with
// wait_group.read ("the reading from their source locations") before it
// rewrites buf, then with wait_group (writes "made visible to the
// executing thread") before it reads out[0..3] back into out[16..19].
// between goes between the copy and the first wait, after the code after
// the .read wait.
func bulkOutKernel(between, afterRead string) string {
	return mbarKernel(sm90Header, `
	mov.u32 %r4, 1;
	mov.u32 %r5, 2;
	mov.u32 %r6, 3;
	mov.u32 %r7, 4;
	st.shared.v4.u32 [buf], {%r4, %r5, %r6, %r7};
	add.u32 %r4, %r4, 4;
	add.u32 %r5, %r5, 4;
	add.u32 %r6, %r6, 4;
	add.u32 %r7, %r7, 4;
	st.shared.v4.u32 [buf+16], {%r4, %r5, %r6, %r7};
	add.u32 %r4, %r4, 4;
	add.u32 %r5, %r5, 4;
	add.u32 %r6, %r6, 4;
	add.u32 %r7, %r7, 4;
	st.shared.v4.u32 [buf+32], {%r4, %r5, %r6, %r7};
	add.u32 %r4, %r4, 4;
	add.u32 %r5, %r5, 4;
	add.u32 %r6, %r6, 4;
	add.u32 %r7, %r7, 4;
	st.shared.v4.u32 [buf+48], {%r4, %r5, %r6, %r7};
	fence.proxy.async.shared::cta;
	cp.async.bulk.global.shared::cta.bulk_group [%rd2], [buf], 64;
	cp.async.bulk.commit_group;
	`+between+`
	cp.async.bulk.wait_group.read 0;
	mov.u32 %r8, 99;
	st.shared.u32 [buf], %r8; // REWRITE
	`+afterRead+`
	cp.async.bulk.wait_group 0;
	ld.global.v4.u32 {%r4, %r5, %r6, %r7}, [%rd2];
	st.global.v4.u32 [%rd2+64], {%r4, %r5, %r6, %r7};
`)
}

// TestBulkCopyOut: the copy reads buf before the .read wait returns, so
// out[0..15] = 1..16 whatever the rewrite, and out[16..19] = 1..4 read
// back after the full wait; each access is ordered by its wait, so the
// checker finds nothing.
func TestBulkCopyOut(t *testing.T) {
	want := append(iota32(16, 1), 1, 2, 3, 4)
	asyncRun(t, bulkOutKernel("", ""), 1, nil, 80, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncClean(t, res, err)
		if !slices.Equal(out, want) {
			t.Errorf("got %v, want %v", out, want)
		}
	})
}

// TestBulkCopyOutHazards: rewriting the source before any wait ("modifying
// the source memory location ... before the asynchronous operation
// completes") is a WAR hazard from the copy to the store; reading the
// destination after only the .read wait, which does not make the writes
// visible, is a RAW hazard from the copy to the load.
func TestBulkCopyOutHazards(t *testing.T) {
	src := bulkOutKernel("st.shared.u32 [buf+8], %r8; // EARLY", "")
	asyncRun(t, src, 1, nil, 80, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncHazard(t, res, err, "WAR", ptLine(t, src, "cp.async.bulk.global"), ptLine(t, src, "// EARLY"))
	})
	src = bulkOutKernel("", "ld.global.u32 %r9, [%rd2+4]; // EARLY")
	asyncRun(t, src, 1, nil, 80, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncHazard(t, res, err, "RAW", ptLine(t, src, "cp.async.bulk.global"), ptLine(t, src, "// EARLY"))
	})
}

// fenceHandoffKernel: thread 0 writes buf[0], runs fence, then sets a flag
// with a relaxed store; thread 32 (another warp) polls the flag with an
// acquire load and reads buf[0] into out[0]. With fence.acq_rel the fence
// and the relaxed store form a release pattern that the acquire load
// synchronizes with (PTX ISA, Memory Consistency Model), so the read is
// ordered after the write.
func fenceHandoffKernel(fence string) string {
	return mbarKernel(sm90Header, `
	.shared .align 4 .u32 flag;
	setp.eq.u32 %p1, %r0, 0;
	@!%p1 bra INIT;
	st.shared.u32 [flag], 0;
INIT:
	bar.sync 0;
	@%p1 bra PRODUCER;
	setp.ne.u32 %p2, %r0, 32;
	@%p2 bra END;
SPIN:
	ld.acquire.cta.shared.u32 %r4, [flag];
	setp.eq.u32 %p3, %r4, 0;
	@%p3 bra SPIN;
	ld.shared.u32 %r5, [buf]; // READ
	st.global.u32 [%rd2], %r5;
	bra.uni END;
PRODUCER:
	st.shared.u32 [buf], 42; // WRITE
	`+fence+`
	st.relaxed.cta.shared.u32 [flag], 1;
END:
`)
}

// TestAsyncFences: the sm_90 fences are accepted (and refused for sm_80:
// "fence.proxy.async requires sm_90 or higher", ".op_restrict qualifier
// requires sm_90 or higher"), and order only what the ISA says. A
// bi-directional proxy fence orders a thread's accesses across proxies
// but "Bi-directional proxy fences do not directly synchronize with other
// fences in the sense that fences with .release or .acquire semantics
// do", and "When .op_restrict is .mbarrier_init, the synchronizing effect
// of the fence only applies to the prior mbarrier.init operations
// executed by the same thread": neither makes the handoff of buf a
// release pattern, so the read races with the write, which fence.acq_rel
// orders.
func TestAsyncFences(t *testing.T) {
	for _, f := range []string{"fence.proxy.async", "fence.proxy.async.global", "fence.proxy.async.shared::cta",
		"fence.proxy.async.shared::cluster", "fence.mbarrier_init.release.cluster"} {
		m := ptLoad(t, "sm80", mbarKernel(ptHeader80, "\t"+f+";\n"))
		d := cpuemu.NewDevice()
		_, err := m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1)}, ptBuf(t, d, 4, nil), ptBuf(t, d, 4, nil))
		if err == nil || !strings.Contains(err.Error(), "sm_90") {
			t.Errorf("%s under sm_80: %v, want a refusal naming sm_90", f, err)
		}
	}
	src := fenceHandoffKernel("fence.acq_rel.cta;")
	asyncRun(t, src, 64, nil, 4, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncClean(t, res, err)
		if out[0] != 42 {
			t.Errorf("read %d, want 42", out[0])
		}
	})
	for _, f := range []string{"fence.proxy.async;", "fence.proxy.async.shared::cta;",
		"mbarrier.init.shared.b64 [bar], 1;\n\tfence.mbarrier_init.release.cluster;"} {
		t.Run(strings.Fields(f)[0], func(t *testing.T) {
			src := fenceHandoffKernel(f)
			asyncRun(t, src, 64, nil, 4, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
				asyncHazard(t, res, err, "RAW", ptLine(t, src, "// WRITE"), ptLine(t, src, "// READ"))
			})
		})
	}
}

// TestMbarrierMisuse: each misuse the ISA leaves undefined is a
// diagnostic of its own kind at the misusing instruction (marked // X),
// and under the checker a sync error. The rules, from the ISA:
//   - uninitialised: operations on memory no mbarrier.init made an object
//     ("performing any mbarrier operation except mbarrier.init on
//     uninitialized memory ... results in undefined behavior");
//   - invalidated: after mbarrier.inval ("any mbarrier operation except
//     mbarrier.init on an invalidated mbarrier object ... undefined");
//   - reinit: mbarrier.init of a valid object ("mbarrier.inval ... must be
//     performed before ... repurposing the memory", the object is valid);
//   - over-arrival: an arrive count above the pending arrivals;
//   - tx-count: "tx-count ... -(2^20-1) .. 2^20-1": complete_tx of 2^20 on
//     a fresh object underflows;
//   - count-range: "count ... in the range 1 through 2^20-1";
//   - nocomplete: ".noComplete ... must not cause the mbarrier to complete
//     its current phase, otherwise the behavior is undefined";
//   - stale-phase: test_wait "only on the current incomplete phase ... or
//     the immediately preceding phase";
//   - bad-state: a state no arrive returned;
//   - not-shared: "If the address ... does not fall within the address
//     window of .shared::cta state space then the behavior is undefined";
//   - cp-async-src-size: "Specifying src-size larger than cp-size results
//     in undefined behavior";
//   - cp-async-bulk-size: "size must be a multiple of 16. If the value is
//     not a multiple of 16, then the behavior is undefined".
func TestMbarrierMisuse(t *testing.T) {
	cases := []struct{ kind, body string }{
		{"mbarrier-uninitialised", `
	mbarrier.arrive.shared.b64 %rd6, [bar]; // X`},
		{"mbarrier-invalidated", `
	mbarrier.init.shared.b64 [bar], 1;
	mbarrier.inval.shared.b64 [bar];
	mbarrier.arrive.shared.b64 %rd6, [bar]; // X`},
		{"mbarrier-reinit", `
	mbarrier.init.shared.b64 [bar], 1;
	mbarrier.init.shared.b64 [bar], 2; // X`},
		{"mbarrier-over-arrival", `
	mbarrier.init.shared.b64 [bar], 1;
	mbarrier.arrive.shared.b64 %rd6, [bar], 2; // X`},
		{"mbarrier-tx-count", `
	mbarrier.init.shared.b64 [bar], 1;
	mbarrier.complete_tx.shared.b64 [bar], 1048576; // X`},
		{"mbarrier-count-range", `
	mbarrier.init.shared.b64 [bar], 0; // X`},
		{"mbarrier-nocomplete", `
	mbarrier.init.shared.b64 [bar], 1;
	mbarrier.arrive.noComplete.shared.b64 %rd6, [bar], 1; // X`},
		{"mbarrier-stale-phase", `
	mbarrier.init.shared.b64 [bar], 1;
	mbarrier.arrive.shared.b64 %rd6, [bar];
	mbarrier.test_wait.shared.b64 %p1, [bar], %rd6;
	mbarrier.arrive.shared.b64 %rd7, [bar];
	mbarrier.test_wait.shared.b64 %p1, [bar], %rd7;
	mbarrier.test_wait.shared.b64 %p1, [bar], %rd6; // X`},
		{"mbarrier-bad-state", `
	mbarrier.init.shared.b64 [bar], 1;
	mov.b64 %rd6, 5;
	mbarrier.test_wait.shared.b64 %p1, [bar], %rd6; // X`},
		{"mbarrier-not-shared", `
	mbarrier.arrive.b64 %rd6, [%rd1]; // X`},
		{"cp-async-src-size", `
	mov.u32 %r4, 8;
	cp.async.ca.shared.global [buf], [%rd1], 4, %r4; // X
	cp.async.wait_all;`},
		{"cp-async-bulk-size", `
	mbarrier.init.shared.b64 [bar], 1;
	mov.u32 %r4, 20;
	cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [buf], [%rd1], %r4, [bar]; // X`},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			src := mbarKernel(sm90Header, c.body)
			line := ptLine(t, src, "// X")
			m := ptLoad(t, c.kind, src)
			for _, check := range []bool{false, true} {
				d := cpuemu.NewDevice()
				cfg := cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(1), Check: check}
				res, err := m.Launch(d, "k", cfg, ptBuf(t, d, 256, nil), ptBuf(t, d, 256, nil))
				if res == nil {
					t.Fatalf("check %v: no result: %v", check, err)
				}
				var got []cpuemu.Diagnostic
				for _, dg := range res.Diagnostics {
					if dg.Kind == c.kind {
						got = append(got, dg)
					}
				}
				if len(got) != 1 || got[0].Site.PTXLine != line {
					t.Errorf("check %v: diagnostics %v, want one %s at ptx line %d", check, res.Diagnostics, c.kind, line)
				}
				if !check {
					continue
				}
				var ce *cpuemu.CheckError
				found := false
				for _, dg := range res.Report.Sync {
					found = found || dg.Kind == c.kind && dg.Site.PTXLine == line
				}
				if !errors.As(err, &ce) || !found {
					t.Errorf("under the checker: %v, sync errors %v; want a *CheckError with the %s", err, res.Report.Sync, c.kind)
				}
			}
		})
	}
}

// handoffKernel: warp 0 writes buf[lane] = in[lane] and arrives on bar
// (expecting 32); warp 1 polls phase `parity` of bar as libcu++ does and
// reads buf[lane] into out[lane]. "When mbarrier.test_wait and
// mbarrier.try_wait operations with .acquire qualifier returns True, they
// form the acquire pattern"; arrive is .release by default: the phase
// orders every producer's write before every consumer's read. early puts
// the consumer's read before its wait.
func handoffKernel(parity int, early bool) string {
	read := "ld.shared.u32 %r5, [%r6]; // READ"
	before, after := "", read
	if early {
		before, after = read, ""
	}
	return mbarKernel(ptHeader80, fmt.Sprintf(`
	setp.ne.u32 %%p1, %%r0, 0;
	@%%p1 bra INIT;
	mbarrier.init.shared.b64 [bar], 32;
INIT:
	bar.sync 0;
	setp.ge.u32 %%p2, %%r0, 32;
	@%%p2 bra CONSUMER;
	ld.global.u32 %%r4, [%%rd4];
	st.shared.u32 [%%r3], %%r4; // WRITE
	mbarrier.arrive.shared.b64 %%rd6, [bar];
	bra.uni END;
CONSUMER:
	sub.u32 %%r6, %%r3, 128;     // &buf[lane]
	%s
WAIT:
	mbarrier.test_wait.parity.shared.b64 %%p3, [bar], %d;
	@%%p3 bra DONE;
	nanosleep.u32 20;
	bra.uni WAIT;
DONE:
	%s
	sub.u64 %%rd7, %%rd5, 128;   // &out[lane]
	st.global.u32 [%%rd7], %%r5;
END:
`, before, parity, after))
}

// TestMbarrierHandoff: the cross-warp handoff is clean under every
// schedule and hands in over; its twin whose consumer reads before its
// wait races under every schedule: a hazard between the producer's store
// and the consumer's load, RAW where the store ran first, WAR where the
// load did (both happen among the schedules tried).
func TestMbarrierHandoff(t *testing.T) {
	in := iota32(32, 500)
	asyncRun(t, handoffKernel(0, false), 64, in, 128, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncClean(t, res, err)
		if !slices.Equal(out, in) {
			t.Errorf("got %v, want %v", out, in)
		}
	})
	src := handoffKernel(0, true)
	asyncHazardEither(t, src, in, true)
}

// asyncHazardEither runs the handoff twin src and wants, under every
// schedule, a hazard between the lines marked WRITE and READ: RAW when
// the write came first, WAR otherwise; with both, each type under some
// schedule.
func asyncHazardEither(t *testing.T, src string, in []uint32, both bool) {
	t.Helper()
	w, r := ptLine(t, src, "// WRITE"), ptLine(t, src, "// READ")
	types := map[string]bool{}
	defer func() {
		if both && (!types["RAW"] || !types["WAR"]) {
			t.Errorf("hazard types over the schedules %v, want RAW and WAR", types)
		}
	}()
	asyncRun(t, src, 64, in, 128, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		var de *cpuemu.DeadlockError
		if errors.As(err, &de) {
			t.Fatalf("a deadlock, want a race: %v", err)
		}
		var ce *cpuemu.CheckError
		if !errors.As(err, &ce) {
			t.Fatalf("got %v, want a *CheckError", err)
		}
		for _, h := range res.Report.Hazards {
			p, l := h.Prior.Site.PTXLine, h.Later.Site.PTXLine
			if p == w && l == r && h.Type == "RAW" || p == r && l == w && h.Type == "WAR" {
				types[h.Type] = true
				return
			}
		}
		t.Errorf("no hazard between lines %d and %d: %+v", w, r, res.Report.Hazards)
	})
}

// TestMbarrierWrongParity: a consumer that waits on parity 1 while bar is
// in phase 0 names "the immediately preceding phase, for which
// waitComplete returns True": its wait returns at once, so its read races
// with the producer's write (a hazard naming both), and it is no deadlock.
// (Once the producer has completed phase 0, parity 1 names phase 1, which
// no arrival completes: schedules where the producer ran first deadlock,
// and the checker reports the race only when the read ran.) The consumer
// therefore signals a second barrier before it waits, and the producer
// waits on that one (parity 0, right) before it writes; the consumer
// reads as soon as it has signalled, so the hazard is a WAR in the
// schedules tried (a RAW where the write runs first).
func TestMbarrierWrongParity(t *testing.T) {
	src := handoffKernel(1, false)
	src = strings.Replace(src, ".shared .align 8 .b64 bar;", ".shared .align 8 .b64 bar;\n.shared .align 8 .b64 ready;", 1)
	src = strings.Replace(src, "mbarrier.init.shared.b64 [bar], 32;", "mbarrier.init.shared.b64 [bar], 32;\n\tmbarrier.init.shared.b64 [ready], 32;", 1)
	src = strings.Replace(src, "\tld.global.u32 %r4, [%rd4];", `PWAIT:
	mbarrier.test_wait.parity.shared.b64 %p4, [ready], 0;
	@!%p4 bra PWAIT;
	ld.global.u32 %r4, [%rd4];`, 1)
	src = strings.Replace(src, "\tsub.u32 %r6, %r3, 128;     // &buf[lane]", "\tsub.u32 %r6, %r3, 128;     // &buf[lane]\n\tmbarrier.arrive.shared.b64 %rd8, [ready];", 1)
	asyncHazardEither(t, src, iota32(32, 500), false)
}

// copySourceKernel: each thread copies in[t] into buf[t] with cp.async
// and then writes in[t]; overwrite says whether the write comes before
// the wait_all. "modifying the source memory location ... before the
// asynchronous operation completes, exhibits undefined behavior".
func copySourceKernel(early bool) string {
	st := "st.global.u32 [%rd4], %r0; // WRITE"
	before, after := "", st
	if early {
		before, after = st, ""
	}
	return mbarKernel(ptHeader80, `
	cp.async.ca.shared.global [%r3], [%rd4], 4; // COPY
	`+before+`
	cp.async.wait_all;
	`+after+`
	ld.shared.u32 %r4, [%r3];
	st.global.u32 [%rd5], %r4;
`)
}

// TestCpAsyncSourceOverwrite: after the wait the write is ordered and
// out = in; before it, the issuing thread's own write of the source is a
// WAR hazard from the copy (its read of the source) to the store, under
// every schedule.
func TestCpAsyncSourceOverwrite(t *testing.T) {
	in := iota32(32, 7)
	asyncRun(t, copySourceKernel(false), 32, in, 128, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncClean(t, res, err)
		if !slices.Equal(out, in) {
			t.Errorf("got %v, want %v", out, in)
		}
	})
	src := copySourceKernel(true)
	asyncRun(t, src, 32, in, 128, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncHazard(t, res, err, "WAR", ptLine(t, src, "// COPY"), ptLine(t, src, "// WRITE"))
	})
}

// TestCpAsyncSameBytes: two copies of one thread into the same bytes.
// "There is no ordering between two cp.async operations that are not
// synchronized with cp.async.wait_all or cp.async.wait_group or mbarrier
// objects", and "two or more cp.async operations within a cp.async-group
// copying data to the same location results in undefined behavior": with
// no wait between them the copies race, a WAW hazard from the first to the
// second, whether they share a group or not; a wait_group covering the
// first orders them (buf then holds the second's in[1]). A bulk copy out
// of buf issued before the wait for a cp.async into buf reads it early:
// RAW from the cp.async to the bulk copy.
func TestCpAsyncSameBytes(t *testing.T) {
	kernel := func(between string) string {
		return mbarKernel(sm90Header, `
	cp.async.ca.shared.global [buf], [%rd1], 4; // FIRST
	`+between+`
	cp.async.ca.shared.global [buf], [%rd1+4], 4; // SECOND
	cp.async.wait_all;
	ld.shared.u32 %r4, [buf];
	st.global.u32 [%rd2], %r4;
`)
	}
	in := []uint32{11, 22}
	for _, between := range []string{"", "cp.async.commit_group;"} {
		src := kernel(between)
		asyncRun(t, src, 1, in, 4, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
			asyncHazard(t, res, err, "WAW", ptLine(t, src, "// FIRST"), ptLine(t, src, "// SECOND"))
		})
	}
	for _, between := range []string{"cp.async.wait_all;", "cp.async.commit_group;\n\tcp.async.wait_group 0;"} {
		asyncRun(t, kernel(between), 1, in, 4, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
			asyncClean(t, res, err)
			if out[0] != 22 {
				t.Errorf("buf = %d, want the second copy's 22", out[0])
			}
		})
	}
	src := mbarKernel(sm90Header, `
	cp.async.cg.shared.global [buf], [%rd1], 16; // FIRST
	cp.async.bulk.global.shared::cta.bulk_group [%rd2], [buf], 16; // SECOND
	cp.async.bulk.commit_group;
	cp.async.wait_all;
	cp.async.bulk.wait_group 0;
`)
	asyncRun(t, src, 1, in, 16, func(t *testing.T, s ptSched, out []uint32, res *cpuemu.Result, err error) {
		asyncHazard(t, res, err, "RAW", ptLine(t, src, "// FIRST"), ptLine(t, src, "// SECOND"))
	})
}

// TestAsyncArriveDiagnosticThread: a diagnostic of an arrive-on that a
// cp.async.mbarrier.arrive triggers names the thread that issued it, as
// one of a plain arrive does. Thread 33 of block 1 (warp 1, lane 1) alone
// completes phase 0 of bar (init 1, one arrive), then, with no wait having
// observed that phase, issues cp.async.mbarrier.arrive.noinc; with no
// copies in flight its arrive-on happens at once, in phase 1 before any
// wait observed phase 0: "at least one test_wait or try_wait operation
// must be performed which returns True for waitComplete before an
// arrive-on operation in the subsequent phase", mbarrier-over-arrival.
func TestAsyncArriveDiagnosticThread(t *testing.T) {
	src := mbarKernel(ptHeader80, `
	mov.u32 %r4, %ctaid.x;
	setp.ne.u32 %p1, %r0, 33;
	setp.ne.or.u32 %p1, %r4, 1, %p1;
	@%p1 bra END;
	mbarrier.init.shared.b64 [bar], 1;
	mbarrier.arrive.shared.b64 %rd6, [bar];
	cp.async.mbarrier.arrive.noinc.shared.b64 [bar]; // X
END:
`)
	m := ptLoad(t, "arrivethread", src)
	d := cpuemu.NewDevice()
	res, _ := m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(2), Block: ptD1(64)}, ptBuf(t, d, 256, nil), ptBuf(t, d, 256, nil))
	if res == nil {
		t.Fatal("no result")
	}
	dg := ptDiag(t, res, "mbarrier-over-arrival")
	if dg.Site.PTXLine != ptLine(t, src, "// X") || dg.CTA != (cpuemu.Dim3{X: 1, Y: 0, Z: 0}) || dg.Warp != 1 || dg.Lanes != 1<<1 || !strings.HasPrefix(dg.Msg, "lane 1: ") {
		t.Errorf("diagnostic %+v; want the cp.async.mbarrier.arrive's, of block (1,0,0), warp 1, lane 1", dg)
	}
}
