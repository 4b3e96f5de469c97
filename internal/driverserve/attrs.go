package driverserve

import (
	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu/emu"
)

// deviceAttr is the emulated device's CUdevice_attribute a (cuda.h's
// numbers), as the library's cuDeviceGetAttribute gives it: the limits
// cpuemu enforces where it has one (SMs, shared memory per block), the
// compute capability gpu/emu reports, and an sm_70 GPU's otherwise. Attributes the emulator has no counterpart for
// (clocks, PCI ids) are 0, as the driver gives for what a device lacks.
func deviceAttr(a uint64) (int64, bool) {
	switch a {
	case 1: // MAX_THREADS_PER_BLOCK
		return 1024, true
	case 2, 3: // MAX_BLOCK_DIM_X, Y
		return 1024, true
	case 4: // MAX_BLOCK_DIM_Z
		return 64, true
	case 5: // MAX_GRID_DIM_X
		return 1<<31 - 1, true
	case 6, 7: // MAX_GRID_DIM_Y, Z
		return 65535, true
	case 8: // MAX_SHARED_MEMORY_PER_BLOCK
		return 48 << 10, true
	case 9: // TOTAL_CONSTANT_MEMORY
		return 64 << 10, true
	case 10: // WARP_SIZE
		return 32, true
	case 12, 82: // MAX_REGISTERS_PER_BLOCK, _PER_MULTIPROCESSOR
		return 65536, true
	case 16: // MULTIPROCESSOR_COUNT
		return cpuemu.DeviceSMs, true
	case 19: // CAN_MAP_HOST_MEMORY
		return 1, true
	case 20: // COMPUTE_MODE: default, any number of contexts
		return 0, true
	case 39: // MAX_THREADS_PER_MULTIPROCESSOR
		return cpuemu.MaxWarpsPerSM * 32, true
	case 40: // ASYNC_ENGINE_COUNT
		return 1, true
	case 41: // UNIFIED_ADDRESSING: host pointers are not device pointers here
		return 0, true
	case 75: // COMPUTE_CAPABILITY_MAJOR
		return int64(emu.ComputeCapability[0]), true
	case 76: // COMPUTE_CAPABILITY_MINOR
		return int64(emu.ComputeCapability[1]), true
	case 81: // MAX_SHARED_MEMORY_PER_MULTIPROCESSOR
		return cpuemu.SharedBytesPerSM, true
	case 97: // MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
		return cpuemu.MaxSharedBytes, true
	case 95: // COOPERATIVE_LAUNCH
		return 1, true
	case 106: // MAX_BLOCKS_PER_MULTIPROCESSOR
		return cpuemu.MaxBlocksPerSM, true
	}
	// CU_DEVICE_ATTRIBUTE_MAX is 124 in CUDA 11.8: below it, an attribute
	// the emulator has no counterpart for.
	return 0, a > 0 && a < 124
}
