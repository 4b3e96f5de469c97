package cpuemu

import "testing"

func TestToolkitHeader(t *testing.T) {
	for name, want := range map[string]bool{
		"sm_30_intrinsics.hpp":                           true,
		"/usr/include/sm_30_intrinsics.hpp":              true,
		"crt/math_functions.hpp":                         true,
		"/usr/local/cuda-11.8/include/crt/sm_70_rt.hpp":  true,
		"device_atomic_functions.hpp":                    true,
		"/opt/cuda/include/cuda_fp16.hpp":                true,
		"/usr/include/cooperative_groups.h":              true,
		"/usr/include/cooperative_groups/details/sync.h": true,
		"cooperative_groups/details/helpers.h":           true,
		"races.cu":                                       false,
		"/home/me/src/details/sync.h":                    false,
		"kernels/handoff.cu":                             false,
		"my_helpers.h":                                   false,
		"/home/me/src/ring.cuh":                          false,
		"/home/me/src/sm_utils.cu":                       false,
	} {
		if got := toolkitHeader(name); got != want {
			t.Errorf("toolkitHeader(%q) = %v, want %v", name, got, want)
		}
	}
}
