// Package cpuemu is a pure-Go emulator of NVIDIA PTX: it reads PTX with
// gpubuf's one front end (internal/ptx), lowers each function once to a
// compact IR, links each kernel with the functions it calls, and runs it
// on the CPU with Volta's independent thread scheduling. A module whose
// text parses loads; a kernel that uses something the emulator does not
// implement fails alone, with an *UnsupportedError naming the instruction
// and its PTX line (Module.Kernel, Entry.Err).
//
// Every lane of a warp has its own program counter. A scheduler decides
// which lanes step: Lockstep (the default) runs the lanes at the lowest PC
// together, which reconverges them after a branch; RoundRobin, Random
// (reproducible from a seed) and Adversarial let lanes run ahead of each
// other, so that a missing or wrong __syncwarp shows up as a wrong result.
// The blocks of a lockstep grid run on LaunchConfig.Workers goroutines,
// each block whole on one, global memory reached through sync/atomic;
// under the other schedulers, the checker, a trace or printf they run one
// after another, in order, so that a seed replays exactly. Those of a
// cooperative launch (LaunchConfig.Cooperative) are all resident and take
// turns, with the grid workspace at %envreg1:%envreg2, so that
// cooperative_groups::this_grid().sync() works, on a device of DeviceSMs
// multiprocessors that bounds how large such a grid may be.
//
// Warp collectives (bar.warp.sync, shfl.sync, vote.sync, match.sync,
// redux.sync) follow the PTX ISA: a lane waits until every non-exited lane
// named in the membermask has arrived at an instruction of the same kind
// and mask, partners may sit at different PCs, and exited lanes count as
// arrived. CTA barriers count warps, take ids and thread counts (named
// barriers, bar.arrive), and are released by exiting threads.
//
// Memory is checked: each launch sees the allocations of its Device, every
// access is bounds- and alignment-checked, and shared memory starts filled
// with 0xCD so that reading before writing gives a visibly wrong value.
// A module's .global and .const variables (__device__ and __constant__
// data) live on each Device it runs on, from its initialisers; Module.Global
// gives their address there, as cuModuleGetGlobal does, for the host to
// write and read between launches.
// Undefined behaviour that the hardware would run through (a membermask
// without the calling lane, a shuffle from an inactive lane, an integer
// division by zero) becomes a Diagnostic on the Result; faults, deadlocks
// and limits abort the launch with a typed error: the deterministic
// instruction limit (MaxInstructions, a *LimitError) and, when one is set,
// the wall-clock Timeout (a *TimeoutError).
//
// printf and assert run as on a GPU (printf.go): the emulator provides
// vprintf and __assertfail, the functions nvcc calls for them. A launch
// writes its kernel's printf text to LaunchConfig.Stdout when it ends (nil
// discards it), in the order the lanes ran their printf, keeping the first
// LaunchConfig.PrintfBytes; a failed assert stops the launch with an
// *AssertError in CUDA's words.
//
// The race and sync checker (LaunchConfig.Check, race.go) follows the PTX
// memory model: a vector clock per lane, shadow state per shared and
// global word, and happens-before edges from bar.warp.sync, CTA and named
// barriers, release/acquire patterns and fences. shfl, vote, match and
// redux order no memory, and a lockstep warp is not trusted to: two lanes
// of one warp race unless something orders them. Shadow state is per byte
// wherever a word is touched below full width. Findings have a Severity:
// schedule-dependent strong accesses, races ordered only by relaxed
// atomics within a block and same-value write-write races are warnings
// (Hazard.Reason). It reports RAW, WAR and
// WAW hazards (intra-warp, inter-warp, inter-block) with both sites, sync
// errors and memory errors in a Report (text in the manner of
// compute-sanitizer, or JSON), and a launch with findings returns a
// *CheckError that errors.As opens into *Hazard, *SyncError and
// *MemcheckError. SearchSchedules finds a schedule under which a race changes
// the output, for replay from its seed; LaunchConfig.Trace records what
// every lane ran. Package emutest puts all of it behind a Go test.
//
// The package knows nothing of GPUs, of the device API or of the staging
// ring; LoadKernel is a shortcut to the kernels that gpubuf embeds.
package cpuemu
