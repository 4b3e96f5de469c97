package cuda

import (
	"strings"
	"testing"
)

// The limits below are the CUDA documentation's, not this package's: a
// block may have 48 KiB of shared memory, static and dynamic together,
// without opting in (CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK), so
// a kernel's CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES is at most
// 48 KiB less its static memory, the value the cases take for a kernel
// that has not opted in; opted in, a block may have what the
// Programming Guide's table of compute capabilities gives as the maximum
// shared memory per thread block (CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN):
// 96 KB on 7.0, 163 KB on 8.0, 227 KB on 9.0; and cuFuncSetAttribute
// says that the attribute plus CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES may
// not exceed that.
const (
	kib      = 1 << 10
	perBlock = 48 * kib  // 49152
	optin70  = 96 * kib  // 98304
	optin80  = 163 * kib // 166912
	optin90  = 227 * kib // 232448
)

func TestSharedPlan(t *testing.T) {
	for _, c := range []struct {
		name                        string
		static, dyn, allowed, optin int
		raise                       int
		problem                     string // a part of it; "" for none
	}{
		{"no shared memory", 0, 0, perBlock, optin90, 0, ""},
		{"48 KiB dynamic, the default limit", 0, perBlock, perBlock, optin90, 0, ""},
		{"a byte over 48 KiB dynamic opts in", 0, perBlock + 1, perBlock, optin90, perBlock + 1, ""},
		// 16 KiB static + 40 KiB dynamic = 56 KiB: the dynamic part alone
		// is under 48 KiB, yet the block is over it and must opt in.
		{"static and dynamic together over 48 KiB", 16 * kib, 40 * kib, perBlock - 16*kib, optin90, 40 * kib, ""},
		{"static and dynamic together exactly 48 KiB", 16 * kib, 32 * kib, perBlock - 16*kib, optin90, 0, ""},
		{"all the opt-in memory, with static", 40 * kib, optin90 - 40*kib, perBlock - 40*kib, optin90, optin90 - 40*kib, ""},
		{"a word past it with static", 40 * kib, optin90 - 40*kib + 4, perBlock - 40*kib, optin90, 0,
			"make 232452; the device allows a block at most 232448 in all, so this kernel at most 191488 dynamic"},
		{"all the opt-in memory, no static", 0, optin90, perBlock, optin90, optin90, ""},
		{"a byte past it", 0, optin90 + 1, perBlock, optin90, 0, "at most 232448 in all"},
		{"already raised far enough", 0, 60 * kib, 64 * kib, optin90, 0, ""},
		{"raised, and raised again", 0, 100 * kib, 64 * kib, optin90, 100 * kib, ""},
		{"sm_70: 96 KB", 0, optin70, perBlock, optin70, optin70, ""},
		{"sm_70: past 96 KB", 0, optin70 + 4, perBlock, optin70, 0, "at most 98304 in all"},
		{"sm_80: 163 KB with 3 KB static", 3 * kib, 160 * kib, perBlock - 3*kib, optin80, 160 * kib, ""},
		{"sm_80: 163 KB with 3 KB static and a word more", 3 * kib, 160*kib + 4, perBlock - 3*kib, optin80, 0, "so this kernel at most 163840 dynamic"},
		{"static alone over the limit", optin70 + 4, 0, 0, optin70, 0, "so this kernel at most 0 dynamic"},
		{"negative", 0, -1, perBlock, optin90, 0, "negative dynamic shared memory size -1"},
	} {
		raise, problem := sharedPlan(c.static, c.dyn, c.allowed, c.optin)
		if raise != c.raise {
			t.Errorf("%s: raise the attribute to %d, want %d", c.name, raise, c.raise)
		}
		switch {
		case c.problem == "" && problem != "":
			t.Errorf("%s: refused (%s), want it allowed", c.name, problem)
		case c.problem != "" && !strings.Contains(problem, c.problem):
			t.Errorf("%s: problem %q, want one saying %q", c.name, problem, c.problem)
		}
	}
}

func TestContextFor(t *testing.T) {
	for _, c := range []struct {
		mode int
		want contextKind
		err  string
	}{
		{computeModeDefault, ownContext, ""},
		{computeModeExclusiveProcess, primaryContext, ""},
		{computeModeProhibited, 0, "GPU 1 is in CU_COMPUTEMODE_PROHIBITED: no CUDA context may be created on it"},
		{1, ownContext, ""}, // exclusive-thread, gone since CUDA 8: let the driver answer
	} {
		got, err := contextFor(1, c.mode)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("mode %d: %v", c.mode, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("mode %d: error %v, want one saying %q", c.mode, err, c.err)
		case err == nil && got != c.want:
			t.Errorf("mode %d: context kind %d, want %d", c.mode, got, c.want)
		}
	}
	if got := computeModeName(1); !strings.Contains(got, "does not know") {
		t.Errorf("computeModeName(1) = %q, want it to say the mode is unknown", got)
	}
}

func TestLentHostMessage(t *testing.T) {
	for _, c := range []struct {
		sizes []int
		want  string
	}{
		{[]int{4096}, "a host buffer from AllocHost (4096 bytes) whose Bytes were taken has not been freed;"},
		{[]int{64, 4096}, "2 host buffers from AllocHost (64 and 4096 bytes) whose Bytes were taken have not been freed;"},
		{[]int{1, 2, 3}, "3 host buffers from AllocHost (1, 2 and 3 bytes) whose Bytes were taken have not been freed;"},
	} {
		if got := lentHostMessage(c.sizes); !strings.HasPrefix(got, c.want) || !strings.HasSuffix(got, "then Close") {
			t.Errorf("lentHostMessage(%v) = %q, want it to begin %q and say what to do", c.sizes, got, c.want)
		}
	}
}
