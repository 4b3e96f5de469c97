package emu_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

// A checked launch's error names its first finding by both CUDA sites,
// with a count, and still gives the report to errors.As.
//
// lane_handoff_nosync, one block of two warps, n = 64, under the
// adversarial scheduler: the highest lane runs alone first, so in each
// warp the 16 consumers (lanes 16-31) read their slot (handoff.cu:66; the PTX's .file names it kernels/handoff.cu)
// before its producer (lane j) writes it (handoff.cu:56), once each as
// one trip covers the input: a WAR hazard 2 x 16 = 32 times, which the
// report lists first. The reads find slots no thread wrote: a memory
// error, the one more finding.
func TestEmuCheckErrorText(t *testing.T) {
	d := open(t, gpu.EmuOptions{Check: true, Scheduler: "adversarial"})
	k := handoff(t, d, "lane_handoff_nosync")
	s := newStream(t, d)
	in, out := alloc(t, d, 4*64), alloc(t, d, 4*64)
	must(t, s.Launch(k, gpu.LaunchConfig{Grid: gpu.D1(1), Block: gpu.D1(64)}, in, out, uint32(64)))
	err := s.Synchronize()
	if err == nil {
		t.Fatal("a racy kernel under Check synchronised clean")
	}
	msg := err.Error()
	for _, want := range []string{
		"gpu emu: launch lane_handoff_nosync: kernel lane_handoff_nosync: checker: ",
		"; first: WAR hazard (intra-warp, shared memory) between Read at kernels/handoff.cu:66 (ptx line ",
		") and Write at kernels/handoff.cu:56 (ptx line ",
		"), 32 times; 1 more finding in the report",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the launch error lacks %q:\n%s", want, msg)
		}
	}
	var ce *cpuemu.CheckError
	if !errors.As(err, &ce) || len(ce.Report.Hazards) != 1 || len(ce.Report.Memory) != 1 {
		t.Errorf("errors.As: %v", err)
	}
}
