package libcuda

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// requireHeaders skips t unless the CUDA 11.8 driver headers the
// committed files come from are installed (./test.sh installs them).
func requireHeaders(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(IncludeDir, "cuda.h"))
	if err != nil {
		t.Skip("cuda.h not found: run ./test.sh, which installs nvidia-cuda-dev")
	}
	if !bytes.Contains(b, []byte("#define CUDA_VERSION 11080")) {
		t.Skip("cuda.h is not CUDA 11.8's, which the committed files come from")
	}
}

// TestGeneratedUpToDate: regenerating from the headers gives the committed
// bytes.
func TestGeneratedUpToDate(t *testing.T) {
	requireHeaders(t)
	files, err := GenerateFromSystem(IncludeDir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("csrc", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("csrc/%s differs from what the headers generate: run go run ./driver/libcuda/gen", name)
		}
	}
}

// TestExports checks, by hand-picked cases from cuda.h, what each name
// becomes: implemented, alias of the implementation, or stub.
func TestExports(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("csrc", ExportsFile))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	cases := []struct{ name, want string }{
		// cuCtxDestroy's old declaration has the same parameters as v2.
		{"cuCtxDestroy", `gpubuf_alias_cuCtxDestroy() __asm__("cuCtxDestroy") __attribute__((alias("cuCtxDestroy_v2")))`},
		// cuMemAlloc's old one takes a 32-bit CUdeviceptr_v1: a stub.
		{"cuMemAlloc", `gpubuf_stub_cuMemAlloc(void) __asm__("cuMemAlloc")`},
		// The per-thread default stream variant has the same ABI.
		{"cuMemcpyHtoD_v2_ptds", `__asm__("cuMemcpyHtoD_v2_ptds") __attribute__((alias("cuMemcpyHtoD_v2")))`},
		{"cuLaunchKernel_ptsz", `__asm__("cuLaunchKernel_ptsz") __attribute__((alias("cuLaunchKernel")))`},
		// Not implemented at all.
		{"cuGraphCreate", `gpubuf_stub_cuGraphCreate(void) __asm__("cuGraphCreate")`},
		// CUDA 12 only.
		{"cuLaunchKernelEx", `gpubuf_stub_cuLaunchKernelEx(void) __asm__("cuLaunchKernelEx")`},
	}
	for _, c := range cases {
		if !bytes.Contains(b, []byte(c.want)) {
			t.Errorf("%s: want %q in %s", c.name, c.want, ExportsFile)
		}
	}
	// cuGetProcAddress's table: cuCtxCreate_v2 since CUDA 3.2 (3020),
	// cuCtxCreate_v3 since 11.4 (11040), as cudaTypedefs.h's PFNs say.
	for _, want := range []string{
		`{"cuCtxCreate", 3020, 0, (void *)cuCtxCreate_v2}`,
		`{"cuCtxCreate", 11040, 0, (void *)gpubuf_stub_cuCtxCreate_v3}`,
		`{"cuMemAlloc", 3020, 0, (void *)cuMemAlloc_v2}`,
		`{"cuMemcpyHtoD", 3020, 1, (void *)gpubuf_alias_cuMemcpyHtoD_v2_ptds}`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("want %s in the proc table", want)
		}
	}
	// Every name is defined once.
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`__asm__\("(\w+)"\)`).FindAllStringSubmatch(text, -1) {
		if seen[m[1]] {
			t.Errorf("%s is defined twice", m[1])
		}
		seen[m[1]] = true
	}
}

// TestErrors: names and codes from cuda.h's enum.
func TestErrors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("csrc", ErrorsFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{0, "CUDA_SUCCESS",`, `{1, "CUDA_ERROR_INVALID_VALUE",`, `{700, "CUDA_ERROR_ILLEGAL_ADDRESS",`,
		`{710, "CUDA_ERROR_ASSERT",`, `{702, "CUDA_ERROR_LAUNCH_TIMEOUT",`, `{801, "CUDA_ERROR_NOT_SUPPORTED",`,
		`{999, "CUDA_ERROR_UNKNOWN",`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("want %s in %s", want, ErrorsFile)
		}
	}
}
