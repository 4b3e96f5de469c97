package host

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// KernelSpec is one stage of a pipeline: a batch kernel with the signature
//
//	kernel(const T* in, U* out, unsigned nrec, unsigned rec)
//
// that reads nrec records of rec units from in and writes its output to
// out. The batch kernels of package kernels are described by
// BatchKernel(name).Spec; for a kernel of your own, give its PTX and fill
// in the rest.
type KernelSpec struct {
	Name string // the .entry
	// PTX is the module that holds Name; nil for the embedded kernels.
	PTX []byte
	// Unit is the size of the rec parameter's unit in bytes: 4 when the
	// kernel counts 32-bit words per record, 1 when it counts bytes.
	Unit int
	// OutPerRecord and OutPerBatch give the size of out for a batch of
	// nrec records: nrec*OutPerRecord + OutPerBatch bytes. A stage after
	// this one reads records of OutPerRecord bytes, so it needs
	// OutPerBatch == 0. OutPerRecord < 0 means "as big as the input
	// record" (a scan).
	OutPerRecord int
	OutPerBatch  int
	// ZeroOut zeroes out before each launch, for kernels that accumulate
	// into it (a histogram).
	ZeroOut bool
	// ThreadsPerRecord is the number of threads the launch gives each
	// record (32 for a warp per record, the default; 1 for a thread per
	// record). The kernel must cover any record count with any grid
	// (grid-stride loops), because the grid is capped at MaxBlocks.
	ThreadsPerRecord int
	// Block is the threads per block (default 128, a multiple of 32).
	Block int
	// MaxBlocks caps the grid. The default is 8 blocks for each
	// processor that runs them: on a GPU its SMs (gpu.Info.SMCount), about
	// as many blocks as it holds at once; on the emulator, which runs a
	// launch's blocks on GOMAXPROCS goroutines, those. More blocks only
	// cost more to start: the emulator sets up each block's warps,
	// registers and barriers anew, which cost batch_reduce on 256-byte
	// records a third of its time at 1024 blocks.
	MaxBlocks int

	// bytesPerThread, for the embedded kernels that walk a batch by byte
	// (batch_histogram), replaces ThreadsPerRecord.
	bytesPerThread int
}

// BatchKernelInfo is an embedded batch kernel: its stage description and
// its Go reference.
type BatchKernelInfo struct {
	Spec KernelSpec
	// Reference computes what the kernel writes to out for the whole
	// records in in (len(in) a multiple of recordSize): the expected
	// Result.Out of a one-stage pipeline.
	Reference func(in []byte, recordSize int) []byte
	Purpose   string
}

// BatchKernels lists the embedded batch kernels, sorted by name.
func BatchKernels() []BatchKernelInfo {
	out := make([]BatchKernelInfo, 0, len(batchKernels))
	for _, name := range BatchKernelNames() {
		k, _ := BatchKernel(name)
		out = append(out, k)
	}
	return out
}

// BatchKernelNames lists the embedded batch kernels' names, sorted.
func BatchKernelNames() []string {
	var names []string
	for n := range batchKernels {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// BatchKernel looks up an embedded batch kernel by name.
func BatchKernel(name string) (BatchKernelInfo, error) {
	k, ok := batchKernels[name]
	if !ok {
		return BatchKernelInfo{}, fmt.Errorf("host: %q is not a batch kernel; there are %s", name, strings.Join(BatchKernelNames(), ", "))
	}
	cat, ok := kernels.Lookup(name)
	if !ok {
		return BatchKernelInfo{}, fmt.Errorf("host: batch kernel %q is missing from the kernel catalogue", name)
	}
	k.Spec.PTX = cat.PTX()
	k.Purpose = cat.Purpose
	return k, nil
}

var batchKernels = map[string]BatchKernelInfo{
	"batch_reduce": {
		Spec: KernelSpec{Name: "batch_reduce", Unit: 4, OutPerRecord: 12, ThreadsPerRecord: 32},
		Reference: func(in []byte, rec int) []byte {
			return kernels.WordBytes(kernels.BatchReduce(kernels.Words(in), len(in)/rec, rec/4))
		},
	},
	"batch_scan": {
		Spec: KernelSpec{Name: "batch_scan", Unit: 4, OutPerRecord: -1, ThreadsPerRecord: 32},
		Reference: func(in []byte, rec int) []byte {
			return kernels.WordBytes(kernels.BatchScan(kernels.Words(in), len(in)/rec, rec/4))
		},
	},
	"batch_histogram": {
		Spec: KernelSpec{Name: "batch_histogram", Unit: 1, OutPerBatch: 256 * 4, ZeroOut: true, bytesPerThread: 16},
		Reference: func(in []byte, rec int) []byte {
			h := kernels.BatchHistogram(in, len(in)/rec, rec)
			return kernels.WordBytes(h[:])
		},
	},
	"batch_checksum": {
		Spec: KernelSpec{Name: "batch_checksum", Unit: 1, OutPerRecord: 4, ThreadsPerRecord: 1},
		Reference: func(in []byte, rec int) []byte {
			return kernels.WordBytes(kernels.BatchChecksum(in, len(in)/rec, rec))
		},
	},
}

// Words reads out (a stage's output) as the little-endian 32-bit words the
// device wrote.
func Words(out []byte) []uint32 { return kernels.Words(out) }

// withDefaults checks s for records of recordSize bytes and fills in its
// defaults for a device with processors processors running blocks.
func (s KernelSpec) withDefaults(recordSize, processors int) (KernelSpec, error) {
	if s.Name == "" {
		return s, fmt.Errorf("kernel has no Name")
	}
	if len(s.PTX) == 0 {
		return s, fmt.Errorf("kernel %s: no PTX (use BatchKernel(name).Spec for the embedded kernels)", s.Name)
	}
	switch s.Unit {
	case 1, 4:
	default:
		return s, fmt.Errorf("kernel %s: Unit %d: want 1 (bytes) or 4 (32-bit words)", s.Name, s.Unit)
	}
	if recordSize%s.Unit != 0 {
		return s, fmt.Errorf("kernel %s counts 32-bit words: record size %d is not a multiple of 4", s.Name, recordSize)
	}
	if s.OutPerRecord < 0 {
		s.OutPerRecord = recordSize
	}
	if s.OutPerBatch < 0 {
		return s, fmt.Errorf("kernel %s: OutPerBatch %d: must not be negative", s.Name, s.OutPerBatch)
	}
	if s.OutPerRecord == 0 && s.OutPerBatch == 0 {
		return s, fmt.Errorf("kernel %s writes nothing: set OutPerRecord or OutPerBatch", s.Name)
	}
	if s.ThreadsPerRecord == 0 && s.bytesPerThread == 0 {
		s.ThreadsPerRecord = 32
	}
	if s.ThreadsPerRecord < 0 {
		return s, fmt.Errorf("kernel %s: ThreadsPerRecord %d: must be positive", s.Name, s.ThreadsPerRecord)
	}
	if s.Block == 0 {
		s.Block = 128
	}
	if s.Block < 32 || s.Block > 1024 || s.Block%32 != 0 {
		return s, fmt.Errorf("kernel %s: Block %d: want a multiple of 32 in 32..1024", s.Name, s.Block)
	}
	if s.MaxBlocks == 0 {
		s.MaxBlocks = 8 * max(1, processors)
	}
	if s.MaxBlocks < 0 {
		return s, fmt.Errorf("kernel %s: MaxBlocks %d: must be positive", s.Name, s.MaxBlocks)
	}
	return s, nil
}

// blockProcessors is how many processors run a launch's blocks on dev: the
// emulator reports a GPU's SM count (what %nsmid reads and cooperative
// grids are sized by) but runs the blocks on GOMAXPROCS goroutines
// (gpu.EmuOptions.Workers, by default).
func blockProcessors(in gpu.Info) int {
	if in.Backend == gpu.BackendEmu {
		return runtime.GOMAXPROCS(0)
	}
	return in.SMCount
}

// blocks is the grid for nrec records of recordSize bytes.
func (s KernelSpec) blocks(nrec, recordSize int) uint32 {
	threads := nrec * s.ThreadsPerRecord
	if s.bytesPerThread > 0 {
		threads = (nrec*recordSize + s.bytesPerThread - 1) / s.bytesPerThread
	}
	b := (threads + s.Block - 1) / s.Block
	return uint32(max(1, min(b, s.MaxBlocks)))
}
