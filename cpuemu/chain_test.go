package cpuemu_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// ptChain is a module whose entry calls f0, f0 calls f1, ..., and each
// function returns its callee's result plus one: the entry stores n.
func ptChain(n int) string {
	var b strings.Builder
	b.WriteString(ptHeader)
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, ".func (.param .b32 r) f%d(.param .b32 x)\n{\n\t.reg .b32 %%t<3>;\n\tld.param.b32 %%t1, [x];\n\tadd.u32 %%t2, %%t1, 1;\n", i)
		if i < n-1 {
			fmt.Fprintf(&b, "\t{\n\t.param .b32 a;\n\t.param .b32 rv;\n\tst.param.b32 [a], %%t2;\n\tcall (rv), f%d, (a);\n\tld.param.b32 %%t2, [rv];\n\t}\n", i+1)
		}
		b.WriteString("\tst.param.b32 [r], %t2;\n\tret;\n}\n")
	}
	b.WriteString(`.visible .entry k(.param .u64 out)
{
	.reg .b32 %r<2>;
	.reg .b64 %rd<3>;
	ld.param.u64 %rd1, [out];
	cvta.to.global.u64 %rd2, %rd1;
	{
	.param .b32 a;
	.param .b32 rv;
	st.param.b32 [a], 0;
	call (rv), f0, (a);
	ld.param.b32 %r1, [rv];
	}
	st.global.u32 [%rd2], %r1;
	ret;
}
`)
	return b.String()
}

// TestCallChain: a chain of 1000 calls runs, each function lowered once;
// a chain of 5000 loads, and its entry says why it cannot run (every
// active function needs its own registers: 45 000 of them).
func TestCallChain(t *testing.T) {
	m := ptLoad(t, "chain", ptChain(1000))
	d := cpuemu.NewDevice()
	out := ptBuf(t, d, 4, nil)
	if _, err := m.Launch(d, "k", cpuemu.LaunchConfig{Grid: ptD1(1), Block: ptD1(2)}, out); err != nil {
		t.Fatal(err)
	}
	if got := ptWords(ptRead(t, d, out, 4))[0]; got != 1000 {
		t.Errorf("chain of 1000: got %d", got)
	}
	e, _ := m.Entry("k")
	// An op per PTX instruction, plus an end per function: each of f0..f998
	// has 7 instructions (ld.param, add, st.param, call, ld.param,
	// st.param, ret), f999 4 (no call), and the entry 7.
	if want := 999*8 + 5 + 8; e.Ops != want {
		t.Errorf("Ops = %d, want %d: each function once", e.Ops, want)
	}
	m = ptLoad(t, "chain", ptChain(5000))
	_, err := m.Kernel("k")
	var le *cpuemu.LimitError
	if !errors.As(err, &le) || !strings.Contains(le.Limit, "registers") {
		t.Errorf("chain of 5000: %v, want a *LimitError on registers", err)
	}
}

// BenchmarkLoadChain loads call chains of two lengths and reports the
// cost per function of each: equal figures mean Load is linear.
func BenchmarkLoadChain(b *testing.B) {
	for _, n := range []int{500, 5000} {
		src := []byte(ptChain(n))
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := cpuemu.Load("chain", src); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/func")
		})
	}
}
