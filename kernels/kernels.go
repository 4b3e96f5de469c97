package kernels

import (
	"embed"
	"io/fs"
	"slices"
	"sort"
	"sync"

	"github.com/gpubuf/gpubuf/internal/ptx"
)

//go:embed *.ptx
var ptxFS embed.FS

// Kernel describes one kernel entry point.
type Kernel struct {
	Name    string  // entry name in the PTX (extern "C", so unmangled)
	File    string  // the PTX file that holds it, e.g. "handoff.ptx"
	Source  string  // the CUDA source it is compiled from, e.g. "handoff.cu"
	Params  []Param // in order
	Purpose string  // one line
	Launch  string  // constraints on the launch shape, beyond the package's
	Expect  Expect  // the bug a racy twin carries; ExpectOK for a correct kernel
	TwinOf  string  // for a racy twin, the correct kernel it is a copy of
	// Hangs, for a racy twin, says how it can also deadlock, depending on
	// the schedule (on a GPU, on timing): such a kernel, like one that
	// deadlocks by design, is never launched on a GPU.
	Hangs string
}

// MayHang reports whether a launch of k can wait forever: it deadlocks by
// design, or it is a racy twin that deadlocks under some schedules.
func (k Kernel) MayHang() bool { return k.Expect == ExpectDeadlock || k.Hangs != "" }

// Param is one kernel parameter.
type Param struct {
	Name string
	Type string // TypePtr or TypeU32
	Doc  string
}

// Parameter types, as PTX declares them (.param .u64 / .param .u32).
const (
	TypePtr = "u64 ptr" // a device pointer
	TypeU32 = "u32"
)

// Expect is what a run of a kernel should show.
type Expect string

const (
	ExpectOK       Expect = ""         // correct: no reports, outputs match ref.go
	ExpectRace     Expect = "race"     // a data race between lanes (and, for some schedule, wrong output)
	ExpectDeadlock Expect = "deadlock" // lanes wait for each other forever
)

// Racy reports whether k is a racy twin (a deliberate bug).
func (k Kernel) Racy() bool { return k.Expect != ExpectOK }

// PTX returns the PTX module that holds k (a fresh copy), or nil if k.File
// is not embedded (k did not come from All or Lookup).
func (k Kernel) PTX() []byte {
	b, err := ptxFS.ReadFile(k.File)
	if err != nil {
		return nil
	}
	return b
}

var fileSM sync.Map // PTX file name -> its target's SM number

// SM is the target of k's PTX as a number (70 for sm_70): a device runs k
// when its compute capability, as gpu.Info.SM gives it, is at least SM.
// The kernels that use cp.async and mbarrier are built for sm_80; the
// others for sm_70. It is 0 when k.File is not embedded.
func (k Kernel) SM() int {
	if v, ok := fileSM.Load(k.File); ok {
		return v.(int)
	}
	src := k.PTX()
	if src == nil {
		return 0
	}
	m, err := ptx.Parse(src)
	if err != nil {
		return 0 // TestCatalogueMatchesPTX fails on it
	}
	fileSM.Store(k.File, m.SM())
	return m.SM()
}

// All returns the catalogue, sorted by name.
func All() []Kernel {
	out := make([]Kernel, len(catalogue))
	for i, k := range catalogue {
		k.Params = slices.Clone(k.Params) // callers may not edit the catalogue
		out[i] = k
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup finds a kernel by name.
func Lookup(name string) (Kernel, bool) {
	for _, k := range catalogue {
		if k.Name == name {
			k.Params = slices.Clone(k.Params)
			return k, true
		}
	}
	return Kernel{}, false
}

// Files lists the embedded PTX files, sorted.
func Files() []string {
	names, _ := fs.Glob(ptxFS, "*.ptx")
	return names
}

// ReadFile returns an embedded PTX file by name (e.g. "batch.ptx").
func ReadFile(name string) ([]byte, error) { return ptxFS.ReadFile(name) }

func ptr(name, doc string) Param { return Param{name, TypePtr, doc} }
func u32(name, doc string) Param { return Param{name, TypeU32, doc} }

var handoffParams = []Param{
	ptr("in", "n input words"),
	ptr("out", "n output words, all written: see LaneHandoff"),
	u32("n", "number of words; any value, not only multiples of 32"),
}

var pingpongParams = []Param{
	ptr("in", "nitems*16 input words: item i is in[16i .. 16i+16)"),
	ptr("out", "nitems*16 output words: see Pingpong"),
	u32("nitems", "number of 16-word items"),
}

var asyncPipelineParams = []Param{
	ptr("in", "ntiles*tile_words input words, 16-byte aligned: tile t is in[t*tile_words ..]"),
	ptr("sums", "ntiles*3 words: {sum mod 2^32, min, max} of each tile, unsigned (batch_reduce's, with a tile for a record)"),
	ptr("timeline", "ntiles*2 words: {ready, start} of each tile on the pipeline's logical clock, see AsyncPipelineTimeline"),
	u32("ntiles", "number of tiles"),
	u32("tile_words", "words per tile, a multiple of 4 in 4..1024 (else the kernel writes nothing)"),
	u32("stages", "shared-memory stages S, 1..8 (else the kernel writes nothing)"),
	u32("latency", "logical ticks L from a copy's issue to its landing"),
	u32("work", "logical ticks T a consumer spends on a tile"),
}

var catalogue = []Kernel{
	{
		Name: "lane_handoff", File: "handoff.ptx", Source: "handoff.cu",
		Params:  handoffParams,
		Purpose: "producer lanes 0-15 pass transformed words to consumer lanes 16-31 through shared slots, ordered by __syncwarp",
	},
	{
		Name: "lane_handoff_nosync", File: "handoff.ptx", Source: "handoff.cu",
		Params:  handoffParams,
		Purpose: "lane_handoff without the handoff __syncwarp: a consumer may read its slot before its producer writes it",
		Expect:  ExpectRace, TwinOf: "lane_handoff",
	},
	{
		Name: "lane_handoff_badmask", File: "handoff.ptx", Source: "handoff.cu",
		Params:  handoffParams,
		Purpose: "lane_handoff whose handoff sync is __syncwarp(0x0000FFFF) in producers and __syncwarp(0xFFFF0000) in consumers: two groups, no ordering between them",
		Expect:  ExpectRace, TwinOf: "lane_handoff",
	},
	{
		Name: "pingpong", File: "pingpong.ptx", Source: "pingpong.cu",
		Params:  pingpongParams,
		Purpose: "per-warp double buffer: in step k producer lanes 16-31 fill buffer k&1 while consumer lanes 0-15 drain buffer (k-1)&1, one __syncwarp per step",
	},
	{
		Name: "pingpong_war", File: "pingpong.ptx", Source: "pingpong.cu",
		Params:  pingpongParams,
		Purpose: "pingpong with a single buffer: producers overwrite item k-1 with item k while consumers may still be reading it (write after read)",
		Launch:  "the bug needs at least 2 items per warp (nitems >= 2*warps); with one item per warp the buffer is never reused",
		Expect:  ExpectRace, TwinOf: "pingpong",
	},
	{
		Name: "warp_ring", File: "warp_ring.ptx", Source: "warp_ring.cu",
		Params: []Param{
			ptr("out", "warps*total words: warp w stores its consumed items, in order, at out[w*total ..]; item values are w*total, w*total+1, ..."),
			ptr("status", "warps*4 words: warp w writes {result (0 done, 1 stalled, 2 bad params), steps fired, items consumed, items left in the ring}"),
			u32("capacity", "ring capacity C in items, 1..64 (else status result 2)"),
			u32("rp", "producer rate: items per producer firing, 1..16 (else status result 2)"),
			u32("rc", "consumer rate: items per consumer firing, 1..16 (else status result 2)"),
			u32("total", "items each warp consumes before it stops"),
		},
		Purpose: "per-warp shared-memory ring run by the fused schedule (consumer if it can, else producer if it can, else stall); never stalls iff capacity >= BMin(rp, rc)",
		Launch:  "outputs are per warp: size out and status for gridDim.x*blockDim.x/32 warps",
	},
	{
		Name: "warp_specialized", File: "warp_specialized.ptx", Source: "warp_specialized.cu",
		Params: []Param{
			ptr("in", "ntiles*256 input words: tile t is in[256t ..], 8 rows of 32 words"),
			ptr("out", "ntiles*256 output words: see WarpSpecialized"),
			ptr("row_sums", "ntiles*8 words: the sum of each output row"),
			u32("ntiles", "number of 256-word tiles"),
			u32("stages", "shared-memory stages in the producer/consumer ring, 1..4 (else the kernel writes nothing)"),
		},
		Purpose: "warp 0 copies tiles into shared stages, warps 1.. transform them; full/empty per stage through named barriers (bar.sync / bar.arrive, ids 1-8)",
		Launch:  "blockDim.x >= 64 (one producer warp, at least one consumer warp); otherwise the kernel writes nothing",
	},
	{
		Name: "warp_specialized_barrier", File: "warp_specialized_barrier.ptx", Source: "warp_specialized_barrier.cu",
		Params: []Param{
			ptr("in", "ntiles*256 input words: tile t is in[256t ..], 8 rows of 32 words"),
			ptr("out", "ntiles*256 output words: see WarpSpecialized"),
			ptr("row_sums", "ntiles*8 words: the sum of each output row"),
			u32("ntiles", "number of 256-word tiles"),
			u32("stages", "shared-memory stages in the producer/consumer ring, 1..4 (else the kernel writes nothing)"),
		},
		Purpose: "warp_specialized with full/empty per stage as cuda::barrier<thread_scope_block> (mbarrier on sm_80: arrive, arrive_and_wait) instead of named barriers; the same output",
		Launch:  "blockDim.x >= 64 (one producer warp, at least one consumer warp); otherwise the kernel writes nothing",
	},
	{
		Name: "async_pipeline", File: "async_pipeline.ptx", Source: "async_pipeline.cu",
		Params:  asyncPipelineParams,
		Purpose: "warp 0 streams tiles into S shared stages with cp.async, warps 1.. reduce them; full/empty per stage are mbarriers (CUTLASS's PipelineAsync written out), with a logical clock for the stage bound S >= 1 + ceil(L/T)",
		Launch:  "blockDim.x >= 64 (one producer warp, at least one consumer warp); otherwise the kernel writes nothing. The timeline depends on gridDim.x (each block's clock starts at 0), the sums do not",
	},
	{
		Name: "async_pipeline_nowait", File: "async_pipeline.ptx", Source: "async_pipeline.cu",
		Params:  asyncPipelineParams,
		Purpose: "async_pipeline whose consumers read the stage before the \"full\" wait: read after write against the producer's cp.async",
		Expect:  ExpectRace, TwinOf: "async_pipeline",
	},
	{
		Name: "async_pipeline_early_empty", File: "async_pipeline.ptx", Source: "async_pipeline.cu",
		Params:  asyncPipelineParams,
		Purpose: "async_pipeline whose consumers arrive on \"empty\" before they read the stage: write after read, the producer's next cp.async overwrites it",
		Launch:  "the bug needs more tiles per block than stages: a stage must be refilled",
		Expect:  ExpectRace, TwinOf: "async_pipeline",
	},
	{
		Name: "async_pipeline_full_parity", File: "async_pipeline.ptx", Source: "async_pipeline.cu",
		Params:  asyncPipelineParams,
		Purpose: "async_pipeline whose consumers wait on \"full\" with the wrong parity: a wait that comes before the copy lands asks for the phase before, complete, and returns at once, so the stage is read too early (read after write)",
		Launch:  "one round (tiles per block <= stages) keeps most consumers ahead of the copies",
		Expect:  ExpectRace, TwinOf: "async_pipeline",
		Hangs: "a consumer that reaches its wrong-parity wait after the copy has landed waits for the next phase, which needs its own release; and consumers that never wait release stages ahead of the producer, whose empty waits then alias a later phase",
	},
	{
		Name: "async_pipeline_parity", File: "async_pipeline.ptx", Source: "async_pipeline.cu",
		Params:  asyncPipelineParams,
		Purpose: "async_pipeline whose producer starts in phase 0 (CUTLASS's start-state bug): its first \"empty\" wait is for a phase only consumers of a tile never sent can complete, a deadlock on empty[0] phase 0",
		Expect:  ExpectDeadlock, TwinOf: "async_pipeline",
	},
	{
		Name: "batch_reduce", File: "batch.ptx", Source: "batch.cu",
		Params: []Param{
			ptr("in", "nrec*rec_words words; record r is in[r*rec_words ..]"),
			ptr("out", "nrec*3 words: {sum mod 2^32, min, max} of each record, unsigned"),
			u32("nrec", "number of records"),
			u32("rec_words", "32-bit words per record"),
		},
		Purpose: "per-record sum, min and max, one warp per record, reduced with __shfl_down_sync",
	},
	{
		Name: "batch_scan", File: "batch.ptx", Source: "batch.cu",
		Params: []Param{
			ptr("in", "nrec*rec_words words; record r is in[r*rec_words ..]"),
			ptr("out", "nrec*rec_words words: the inclusive prefix sums (mod 2^32) of each record"),
			u32("nrec", "number of records"),
			u32("rec_words", "32-bit words per record"),
		},
		Purpose: "per-record inclusive prefix sum, one warp per record, __shfl_up_sync scans of 32-word chunks with a carry between them",
	},
	{
		Name: "batch_histogram", File: "batch.ptx", Source: "batch.cu",
		Params: []Param{
			ptr("in", "nrec*rec_bytes bytes"),
			ptr("hist", "256 words: hist[b] += count of byte value b (accumulates; zero it first)"),
			u32("nrec", "number of records"),
			u32("rec_bytes", "bytes per record"),
		},
		Purpose: "byte histogram of a batch: warp-aggregated (__match_any_sync) shared-memory atomics, then one global atomic per bin and block",
	},
	{
		Name: "batch_checksum", File: "batch.ptx", Source: "batch.cu",
		Params: []Param{
			ptr("in", "nrec*rec_bytes bytes"),
			ptr("out", "nrec words: the CRC-32C of each record"),
			u32("nrec", "number of records"),
			u32("rec_bytes", "bytes per record"),
		},
		Purpose: "per-record CRC-32C (Castagnoli), one thread per record, table built in shared memory",
	},
	{
		Name: "particles_step", File: "particles.ptx", Source: "particles.cu",
		Params: []Param{
			ptr("in", "n*4 floats: particle i is {x, y, vx, vy} at in[4i ..], positions in [0,1)"),
			ptr("out", "n*4 floats: the particles one step later, see ParticlesStep; must not overlap in (steps ping-pong between two buffers)"),
			u32("n", "number of particles"),
			u32("dt_bits", "the time step's float32 bits, math.Float32bits(dt)"),
		},
		Purpose: "one step of a particle simulation in the unit box: a block loads a tile of positions into shared memory (__syncthreads), each particle is pulled toward its group of 32's centroid and the box centre, walls reflect; float ops never fused, so bit-exact",
		Launch:  "blockDim.x at most 1024 (the shared tile); the output does not depend on the launch shape",
	},
	{
		Name: "divergent_syncwarp", File: "divergent.ptx", Source: "divergent.cu",
		Params: []Param{
			ptr("out", "one word per thread: 1 when it reached the syncs, 2 if it got past them (it never does)"),
		},
		Purpose: "lanes 0-15 wait at __syncwarp() while lanes 16-31 wait at __syncthreads(): neither can complete",
		Expect:  ExpectDeadlock,
	},
}
