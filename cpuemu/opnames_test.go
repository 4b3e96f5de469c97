package cpuemu

import "testing"

// TestOpNames: every opcode has its own name in dumps and reports.
func TestOpNames(t *testing.T) {
	if len(opNames) != int(opCount) {
		t.Fatalf("%d names for %d opcodes", len(opNames), opCount)
	}
	seen := map[string]opcode{}
	for c := opcode(0); c < opCount; c++ {
		n := c.String()
		if prev, dup := seen[n]; dup || n == "" {
			t.Errorf("opcode %d is named %q, as %d is", c, n, prev)
		}
		seen[n] = c
	}
	if opHalf.String() != "half" || opCvtPack.String() != "cvt.pack" || opBrx.String() != "brx.idx" {
		t.Errorf("names out of step: %s %s %s", opHalf, opCvtPack, opBrx)
	}
}
