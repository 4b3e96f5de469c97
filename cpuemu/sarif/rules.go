package sarif

import (
	"fmt"
	"strings"
)

// Rule is one kind of finding: its SARIF rule id, stable across runs and
// versions (a new kind gets a new id; an id is never reused), and the text
// a reader of a code-scanning alert needs.
type Rule struct {
	ID    string // e.g. "race/RAW/intra-warp"
	Name  string // e.g. "IntraWarpReadAfterWriteRace"
	Short string // one sentence
	Full  string // what it means
	Help  string // what it means and how to fix it
	Level string // the default SARIF level: "error", "warning" or "note"
}

var scopes = []struct {
	id, name, what, fix string
}{
	{"intra-warp", "IntraWarp",
		"two lanes of one warp",
		"Since Volta (independent thread scheduling) the lanes of a warp are not ordered by running in the same warp: they may interleave in any way. " +
			"Put __syncwarp() (bar.warp.sync) between the two accesses, with a mask that names both lanes, or pass the value through a register with __shfl_sync instead of memory."},
	{"inter-warp", "InterWarp",
		"two warps of one block",
		"The warps of a block run in any order. Put __syncthreads() (bar.sync) between the two accesses, or a named barrier or cuda::barrier that both warps take part in, " +
			"or make both accesses atomic if their order does not matter."},
	{"inter-block", "InterBlock",
		"two blocks of the grid",
		"The blocks of a grid run in any order, and without a cooperative launch not necessarily at the same time. Split the work into two kernel launches, " +
			"use atomics, or order the blocks with a grid sync (cooperative_groups::this_grid().sync() in a cooperative launch) or with release and acquire operations."},
}

var types = []struct {
	id, name, what string
}{
	{"RAW", "ReadAfterWrite", "A write, then a read of the same bytes by a thread that nothing orders after the writer: the read may see the old value or the new one."},
	{"WAR", "WriteAfterRead", "A read, then a write of the same bytes by a thread that nothing orders after the reader: the read may see the value written after it."},
	{"WAW", "WriteAfterWrite", "Two writes of the same bytes by threads that nothing orders: which value remains depends on the schedule."},
}

// hazardRules are the rules of the checker's hazards: data races (error)
// and conflicting strong accesses that the PTX memory model allows but
// whose outcome the schedule decides (warning), by type and scope.
func hazardRules() []Rule {
	var out []Rule
	for _, t := range types {
		for _, s := range scopes {
			out = append(out, Rule{
				ID:    fmt.Sprintf("race/%s/%s", t.id, s.id),
				Name:  s.name + t.name + "Race",
				Short: fmt.Sprintf("%s data race between %s.", t.id, s.what),
				Full: t.what + " The two accesses are not morally strong (at least one is a plain, weak access, or they are strong at a scope that does not include both threads) " +
					"and no synchronisation orders them: a data race under the PTX memory model (PTX ISA, Memory Consistency Model), which leaves the program's behaviour undefined.",
				Help:  t.what + " " + s.fix,
				Level: "error",
			})
			out = append(out, Rule{
				ID:    fmt.Sprintf("schedule/%s/%s", t.id, s.id),
				Name:  s.name + t.name + "ScheduleDependent",
				Short: fmt.Sprintf("%s access between %s whose outcome depends on the schedule.", t.id, s.what),
				Full: t.what + " Both accesses are strong (volatile, relaxed or atomic), so this is not a data race under the PTX memory model, " +
					"but no synchronisation orders them and the value read is used: the outcome depends on how lanes are scheduled (independent thread scheduling). " +
					"The legacy warp-synchronous reduction on a volatile pointer is the classic case.",
				Help:  t.what + " " + s.fix,
				Level: "warning",
			})
		}
	}
	return out
}

// kindRules are the rules of the other findings, by the report's section
// and the diagnostic's kind (or, for a fatal error, its type).
var kindRules = []Rule{
	{ID: "sync/mask-excludes-self", Name: "MaskExcludesSelf", Level: "error",
		Short: "A warp-synchronous instruction was executed by a lane its membermask does not name.",
		Full:  "__syncwarp, __shfl_sync, __ballot_sync and the other *_sync intrinsics (bar.warp.sync, shfl.sync, vote.sync, ...) require the executing lane to be in the membermask (PTX ISA); otherwise the behaviour is undefined.",
		Help:  "Include the calling lane in the mask: pass the mask of the lanes that take part, as computed before the branch (for example with __ballot_sync or __activemask)."},
	{ID: "sync/rendezvous-mismatch", Name: "RendezvousMismatch", Level: "error",
		Short: "Lanes that name each other in their membermasks met at different warp-synchronous instructions or with different masks.",
		Full:  "Every lane named in a membermask must execute the same warp-synchronous instruction with the same mask (PTX ISA, bar.warp.sync). Lanes that wait at different ones never meet, and a deadlock usually follows.",
		Help:  "Make every lane of the mask reach the same __syncwarp or *_sync call with the same mask, or give each group of lanes a mask that names only that group."},
	{ID: "sync/shfl-invalid-source", Name: "ShuffleInvalidSource", Level: "error",
		Short: "A shuffle read a lane that does not take part in it.",
		Full:  "shfl.sync reading a lane that is not in the membermask, or has exited, gives an undefined value (PTX ISA, shfl.sync).",
		Help:  "Include the source lane in the mask, or keep the source lane index within the lanes that take part."},
	{ID: "sync/barrier-count", Name: "BarrierCount", Level: "error",
		Short: "A barrier's thread count is not a positive multiple of 32.",
		Full:  "bar.sync and bar.arrive with a thread count require a multiple of the warp size (PTX ISA, bar).",
		Help:  "Give the barrier a thread count that is a multiple of 32, counting whole warps."},
	{ID: "sync/barrier-count-mismatch", Name: "BarrierCountMismatch", Level: "error",
		Short: "Threads reached one barrier with different thread counts.",
		Full:  "All threads that meet at a barrier in one phase must give it the same thread count (PTX ISA, bar).",
		Help:  "Use the same thread count at every bar.sync and bar.arrive of that barrier."},
	{ID: "sync/barrier-not-aligned", Name: "BarrierNotAligned", Level: "error",
		Short: "An aligned barrier was reached from different instructions.",
		Full:  "__syncthreads() compiles to an aligned barrier (bar.sync), which every thread of the block must execute as the same instruction (PTX ISA, bar); reaching it from two places is undefined.",
		Help:  "Move __syncthreads() out of divergent code so that every thread reaches the same call."},
	{ID: "sync/barrier-rearrive", Name: "BarrierRearrive", Level: "error",
		Short: "A thread reached a barrier again before it completed.",
		Full:  "A thread that arrives (bar.arrive) at a barrier must not arrive at it again before that phase of the barrier completes.",
		Help:  "Wait for the barrier (bar.sync) before arriving at it again, or use a second barrier for the next phase."},
	{ID: "sync/barrier-divergence", Name: "BarrierDivergence", Level: "error",
		Short: "Some threads of a warp exited while others waited at an aligned barrier.",
		Full:  "Every thread of a warp must reach an aligned barrier such as __syncthreads() (PTX ISA, bar); a thread that returns early while the others wait breaks that rule.",
		Help:  "Do not return before __syncthreads(): let every thread reach it and skip only the work."},
	{ID: "sync/legacy-warp-collective", Name: "LegacyWarpCollective", Level: "error",
		Short: "A vote or shuffle without .sync acts on the lanes that happen to run together.",
		Full:  "__any, __all, __ballot and __shfl without _sync (vote and shfl without .sync) are deprecated since PTX ISA 6.0 and removed for sm_70 and later; under independent thread scheduling which lanes take part depends on the schedule.",
		Help:  "Use the _sync intrinsics (__ballot_sync, __shfl_sync, ...) with an explicit membermask."},
	{ID: "sync/barrier-exited-threads", Name: "BarrierExitedThreads", Level: "warning",
		Short: "Threads of the block exited while the others completed a barrier that is not .aligned.",
		Full:  "A barrier that is not .aligned (barrier.sync, as cooperative groups' sync() compiles to) completes without the threads that have exited, as the PTX ISA allows, but cooperative groups require every thread of the group to call sync().",
		Help:  "Let every thread of the group reach the sync, and skip only the work."},
	{ID: "sync/mbarrier-uninitialised", Name: "MbarrierUninitialised", Level: "error",
		Short: "An mbarrier operation on shared memory that no mbarrier.init made an mbarrier object.",
		Full:  "Every mbarrier operation except mbarrier.init on memory that is not an initialised mbarrier object is undefined behaviour (PTX ISA, mbarrier).",
		Help:  "Initialise the barrier (mbarrier.init, cuda::barrier's init) before any thread uses it, and order the init before the use (__syncthreads())."},
	{ID: "sync/mbarrier-invalidated", Name: "MbarrierInvalidated", Level: "error",
		Short: "An mbarrier operation after mbarrier.inval.",
		Full:  "Using an mbarrier object after mbarrier.inval, other than to initialise it again, is undefined behaviour (PTX ISA, mbarrier.inval).",
		Help:  "Invalidate a barrier only when every thread is done with it, and initialise it again before reusing it."},
	{ID: "sync/mbarrier-reinit", Name: "MbarrierReinit", Level: "error",
		Short: "mbarrier.init on a valid mbarrier object.",
		Full:  "An mbarrier object must be invalidated (mbarrier.inval) before its memory is initialised again (PTX ISA, mbarrier.init and mbarrier.inval).",
		Help:  "Initialise each barrier once, by one thread, or run mbarrier.inval first."},
	{ID: "sync/mbarrier-over-arrival", Name: "MbarrierOverArrival", Level: "error",
		Short: "More arrivals on an mbarrier phase than it expects, or an arrival ahead of the wait for the phase before.",
		Full:  "An arrive-on with a count above the pending arrivals, or an arrive-on in a phase before any test_wait or try_wait observed the previous phase complete, is undefined behaviour (PTX ISA, mbarrier).",
		Help:  "Make the barrier's expected count match the threads (and cp.async.mbarrier.arrive.noinc arrive-ons) that arrive in each phase, and wait for a phase before arriving on the next."},
	{ID: "sync/mbarrier-tx-count", Name: "MbarrierTxCount", Level: "error",
		Short: "An mbarrier's tx-count left its range: more bytes completed than were expected, or too many expected.",
		Full:  "The tx-count of an mbarrier object must stay within -(2^20-1) .. 2^20-1 (PTX ISA, mbarrier contents); expect_tx and complete_tx that leave it are undefined behaviour.",
		Help:  "Expect (mbarrier.expect_tx, arrive.expect_tx) exactly the bytes the bulk copies tracked by the phase deliver."},
	{ID: "sync/mbarrier-count-range", Name: "MbarrierCountRange", Level: "error",
		Short: "An mbarrier count outside 1 .. 2^20-1.",
		Full:  "mbarrier.init's count, an arrive's count, and the expected count left by arrive_drop must lie in 1 .. 2^20-1 (PTX ISA, mbarrier).",
		Help:  "Give the barrier a positive count below 2^20, and drop no more arrivals than it expects."},
	{ID: "sync/mbarrier-nocomplete", Name: "MbarrierNoComplete", Level: "error",
		Short: "An arrive with .noComplete completed the mbarrier's phase.",
		Full:  "mbarrier.arrive.noComplete must not cause the current phase to complete (PTX ISA, mbarrier.arrive).",
		Help:  "Use a plain arrive for the arrival that may complete the phase."},
	{ID: "sync/mbarrier-stale-phase", Name: "MbarrierStalePhase", Level: "error",
		Short: "test_wait or try_wait on a phase older than the one before the current.",
		Full:  "test_wait and try_wait may only test the current incomplete phase or the immediately preceding one (PTX ISA, mbarrier.test_wait); an older state is undefined behaviour.",
		Help:  "Wait on the state of the latest arrive, or on the phase parity the thread tracks."},
	{ID: "sync/mbarrier-bad-state", Name: "MbarrierBadState", Level: "error",
		Short: "A state operand that no mbarrier.arrive returned.",
		Full:  "test_wait, try_wait and pending_count take the state an arrive returned (pending_count only that of a .noComplete arrive) (PTX ISA, mbarrier).",
		Help:  "Pass the token the arrive returned, unchanged."},
	{ID: "sync/mbarrier-not-shared", Name: "MbarrierNotShared", Level: "error",
		Short: "An mbarrier operation on an address outside shared memory.",
		Full:  "An mbarrier object lives in shared memory; a generic address outside the shared window is undefined behaviour (PTX ISA, mbarrier).",
		Help:  "Place the barrier in __shared__ memory and pass its address."},
	{ID: "sync/cp-async-src-size", Name: "CpAsyncSrcSize", Level: "error",
		Short: "cp.async with a src-size larger than its cp-size.",
		Full:  "Specifying src-size larger than cp-size results in undefined behaviour (PTX ISA, cp.async).",
		Help:  "Keep the source size within 0 .. the copy size (4, 8 or 16 bytes)."},
	{ID: "sync/cp-async-bulk-size", Name: "CpAsyncBulkSize", Level: "error",
		Short: "cp.async.bulk of a size that is not a non-zero multiple of 16 within shared memory.",
		Full:  "The size of a bulk copy must be a multiple of 16 and its ranges must not overflow their state spaces (PTX ISA, cp.async.bulk); otherwise the behaviour is undefined.",
		Help:  "Copy whole 16-byte chunks at 16-byte aligned addresses."},
	{ID: "sync/deadlock", Name: "Deadlock", Level: "error",
		Short: "Every live thread of a block waits forever.",
		Full:  "The launch stopped: the block's live threads all wait at barriers or warp-synchronous instructions that the others never reach.",
		Help:  "Make sure every thread that a barrier or membermask counts reaches it: look for __syncthreads() or __syncwarp() in divergent code or after an early return."},
	{ID: "memory/uninitialised-shared-read", Name: "UninitialisedSharedRead", Level: "error",
		Short: "A read of shared memory that no thread has written.",
		Full:  "Shared memory starts undefined in every block; reading it before any write gives an undefined value.",
		Help:  "Write shared memory before reading it, and order the write before the read (__syncthreads() when another thread reads it)."},
	{ID: "memory/out-of-bounds", Name: "OutOfBoundsAccess", Level: "error",
		Short: "An access outside every allocation; the launch stopped.",
		Full:  "The kernel read or wrote memory outside every allocation of its state space (global, shared, local or constant), as cuda-memcheck's invalid access.",
		Help:  "Check the index against the buffer's size, and the size of the allocation or of the shared array."},
	{ID: "memory/misaligned", Name: "MisalignedAccess", Level: "error",
		Short: "An access at an address that is not a multiple of its size; the launch stopped.",
		Full:  "PTX requires every memory access to be aligned to its size (PTX ISA, Data Types: alignment).",
		Help:  "Align the data to the access size, or access it in narrower pieces."},
	{ID: "memory/write-to-read-only", Name: "WriteToReadOnlyMemory", Level: "error",
		Short: "A write to read-only memory; the launch stopped.",
		Full:  "The kernel wrote to constant memory or another read-only region.",
		Help:  "Write only to global, shared or local memory; set __constant__ data from the host."},
	{ID: "memory/fault", Name: "MemoryFault", Level: "error",
		Short: "A faulting memory access; the launch stopped.",
		Full:  "The kernel made a memory access the device refuses.",
		Help:  "Look at the access's address and the allocations it should fall in."},
	{ID: "ub/integer-division-by-zero", Name: "IntegerDivisionByZero", Level: "error",
		Short: "An integer division or remainder by zero.",
		Full:  "Integer division by zero gives an unspecified result in PTX (PTX ISA, div and rem).",
		Help:  "Check the divisor before dividing."},
	{ID: "ub/cvta-wrong-window", Name: "ConvertToWrongSpace", Level: "error",
		Short: "cvta.to converted a generic address that is not in the target state space.",
		Full:  "cvta.to.shared (or .local, .const, .global) of a generic address that points elsewhere gives an address whose use is undefined (PTX ISA, cvta).",
		Help:  "Convert only addresses of that state space; check which space a generic pointer points to with isspacep."},
	{ID: "ub/printf-format-unterminated", Name: "PrintfFormatUnterminated", Level: "error",
		Short: "A printf format ends inside a conversion.",
		Full:  "The device printf's format string ends in the middle of a % conversion.",
		Help:  "Finish the conversion, or write %% for a literal percent sign."},
	{ID: "note/printf-buffer-full", Name: "PrintfBufferFull", Level: "note",
		Short: "The kernel's printf output outgrew the printf buffer; later output was dropped.",
		Full:  "The device printf writes into a fixed buffer (1 MiB by default, as CUDA's); output that does not fit is lost.",
		Help:  "Print less, or raise the buffer: cudaDeviceSetLimit(cudaLimitPrintfFifoSize, ...) on a GPU, LaunchConfig.PrintfBytes on the emulator."},
	{ID: "fatal/assert", Name: "AssertFailed", Level: "error",
		Short: "A device-side assert() failed; the launch stopped.",
		Full:  "A kernel's assert() found its condition false (CUDA's __assertfail): the launch stops with the assertion's message.",
		Help:  "The message names the condition, the thread and the block; find why it is false for them."},
	{ID: "fatal/fault", Name: "KernelFault", Level: "error",
		Short: "The kernel faulted or trapped; the launch stopped.",
		Full:  "A trap, a call through a bad function pointer or another fault stopped the launch.",
		Help:  "The message says what faulted, in which thread and block."},
	{ID: "fatal/limit", Name: "LimitReached", Level: "error",
		Short: "The launch hit a limit and stopped before the kernel ended.",
		Full:  "The launch reached an instruction or resource limit (the instruction limit stops kernels that do not end); the checker saw only what ran before it.",
		Help:  "If the kernel should end, look for a loop that does not; otherwise raise the limit (--max-instructions)."},
	{ID: "fatal/timeout", Name: "Timeout", Level: "error",
		Short: "The launch ran past its wall-clock timeout.",
		Full:  "The launch was stopped by its wall-clock limit; how far it got depends on the machine.",
		Help:  "If the kernel should end, look for a loop that does not; otherwise raise the limit (--timeout)."},
	{ID: "fatal/error", Name: "LaunchFailed", Level: "error",
		Short: "The launch stopped with an error.",
		Full:  "The launch stopped before the kernel ended.",
		Help:  "The message says why."},
}

// Rules lists every rule, in a fixed order: the hazards', then the
// others'. A diagnostic of a kind not listed (one newer than this list)
// gets a rule made from its section and kind, with general text.
func Rules() []Rule {
	return append(hazardRules(), kindRules...)
}

var ruleByID = func() map[string]Rule {
	m := map[string]Rule{}
	for _, r := range Rules() {
		m[r.ID] = r
	}
	return m
}()

// sections name the report's sections in rule ids.
var sections = map[string]string{"sync": "sync error", "memory": "memory error", "ub": "undefined behaviour", "note": "note"}

// ruleFor is the rule with id, made up for a kind the list lacks.
func ruleFor(id string) Rule {
	if r, ok := ruleByID[id]; ok {
		return r
	}
	sec, kind, _ := strings.Cut(id, "/")
	what := sections[sec]
	if what == "" {
		what = "finding"
	}
	name := ""
	for _, w := range strings.FieldsFunc(kind, func(r rune) bool { return r == '-' || r == '/' }) {
		name += strings.ToUpper(w[:1]) + w[1:]
	}
	return Rule{ID: id, Name: name, Level: "error",
		Short: fmt.Sprintf("The checker's %s %q.", what, kind),
		Full:  fmt.Sprintf("A %s of kind %q, reported by gpubuf's race and sync checker.", what, kind),
		Help:  "The result's message says what happened and where."}
}

// slug keeps a diagnostic kind usable in a rule id: lower-case letters,
// digits and dashes.
func slug(kind string) string {
	b := []byte(strings.ToLower(kind))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	s := strings.Trim(string(b), "-")
	if s == "" {
		return "unknown"
	}
	return s
}
