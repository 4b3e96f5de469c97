package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxRegisters: a kernel that declares 40 000 PTX virtual registers is
// over the default limit of 2^15; the message says what is counted and
// names --max-registers, which raises the limit; a limit outside 0..2^17
// is bad usage.
func TestMaxRegisters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regs.ptx")
	src := `.version 7.0
.target sm_70
.address_size 64
.visible .entry k(.param .u64 out)
{
	.reg .b32 %r<40000>;
	.reg .b64 %rd<3>;
	ld.param.u64 %rd1, [out];
	cvta.to.global.u64 %rd2, %rd1;
	mov.u32 %r39999, 7;
	st.global.u32 [%rd2], %r39999;
	ret;
}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"launch", path, "--kernel", "k", "--grid", "1", "--block", "1", "--arg", "buf:4"}
	code, _, stderr := runCLI(args...)
	if code == exitOK || !strings.Contains(stderr, "not the hardware registers") || !strings.Contains(stderr, "--max-registers") {
		t.Errorf("default limit: exit %d, stderr:\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(append(args, "--max-registers", "50000")...); code != exitOK {
		t.Errorf("--max-registers 50000: exit %d, stderr:\n%s", code, stderr)
	}
	for _, bad := range []string{"-1", "131073"} {
		if code, _, stderr := runCLI(append(args, "--max-registers", bad)...); code != exitUsage || !strings.Contains(stderr, "--max-registers "+bad+": want 0") {
			t.Errorf("--max-registers %s: exit %d, stderr:\n%s", bad, code, stderr)
		}
	}
}
