package cpuemu_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// TestAsyncSamples runs testdata/async/samples.cu (nvcc 11.8, sm_80) under
// every schedule with the checker on: the three correct kernels give
// their CUDA source's results (derived by hand below) with no finding,
// and barrier_copy_racy, which reads the tile before arrive_and_wait,
// gives a hazard between the copy and its read at samples.cu:69.
func TestAsyncSamples(t *testing.T) {
	src, err := os.ReadFile("testdata/async/samples.ptx")
	if err != nil {
		t.Fatal(err)
	}
	m := ptLoad(t, "samples.ptx", string(src))
	iota := func(n int) []uint32 {
		w := make([]uint32, n)
		for i := range w {
			w[i] = uint32(3*i + 1)
		}
		return w
	}
	cases := []struct {
		kernel      string
		grid, block uint32
		in          []uint32
		out         int
		scalar      []any
		want        func(in []uint32) []uint32
	}{
		// out[b] = the sum of block b's 256 inputs.
		{"cg_memcpy", 4, 256, iota(1024), 4, nil, func(in []uint32) []uint32 {
			out := make([]uint32, 4)
			for i, x := range in {
				out[i/256] += x
			}
			return out
		}},
		// out[t] = 2 * in[t] over 4 tiles of 128.
		{"pipe_double", 1, 128, iota(512), 512, []any{int32(4)}, func(in []uint32) []uint32 {
			out := make([]uint32, 512)
			for i, x := range in {
				out[i] = 2 * x
			}
			return out
		}},
		// out[t] = in[(t+1) % 256].
		{"barrier_copy", 1, 256, iota(256), 256, nil, func(in []uint32) []uint32 {
			out := make([]uint32, 256)
			for i := range out {
				out[i] = in[(i+1)%256]
			}
			return out
		}},
	}
	for _, c := range cases {
		for _, s := range ptSchedules() {
			t.Run(fmt.Sprintf("%s/%s", c.kernel, s), func(t *testing.T) {
				d := cpuemu.NewDevice()
				pin, pout := ptBuf(t, d, 4*len(c.in), ptBytes(c.in...)), ptBuf(t, d, 4*c.out, nil)
				cfg := s.cfg(ptD1(c.grid), ptD1(c.block))
				cfg.Check = true
				res, err := m.Launch(d, c.kernel, cfg, append([]any{pin, pout}, c.scalar...)...)
				if err != nil {
					t.Fatal(err)
				}
				if !res.Report.CleanAt(cpuemu.SeverityWarning) {
					var b testWriter
					res.Report.WriteText(&b)
					t.Fatalf("findings in a correct kernel:\n%s", b.String())
				}
				got, want := ptWords(ptRead(t, d, pout, 4*c.out)), c.want(c.in)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("out[%d] = %d, want %d", i, got[i], want[i])
					}
				}
			})
		}
	}
	for _, s := range ptSchedules() {
		t.Run("barrier_copy_racy/"+s.String(), func(t *testing.T) {
			d := cpuemu.NewDevice()
			in := iota(256)
			cfg := s.cfg(ptD1(1), ptD1(256))
			cfg.Check = true
			res, _ := m.Launch(d, "barrier_copy_racy", cfg, ptBuf(t, d, 1024, ptBytes(in...)), ptBuf(t, d, 1024, nil))
			if res == nil || res.Report == nil {
				t.Fatal("no report")
			}
			found := false
			for _, h := range res.Report.Hazards {
				sites := h.Prior.Site.Instr + " " + h.Later.Site.Instr
				if h.Severity == cpuemu.SeverityError && (h.Later.Site.Loc == "samples.cu:69" || h.Prior.Site.Loc == "samples.cu:69") && (sites == "cp.async ld.shared" || sites == "ld.shared cp.async") {
					found = true
				}
			}
			if !found {
				var b testWriter
				res.Report.WriteText(&b)
				t.Errorf("no error between the copy and the early read at samples.cu:69:\n%s", b.String())
			}
		})
	}
}
