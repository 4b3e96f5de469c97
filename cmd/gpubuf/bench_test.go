package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/bench"
	"github.com/gpubuf/gpubuf/gpu"
)

// tinyBench are flags that make every section quick.
var tinyBench = []string{"--backend", "emu", "--batches", "2", "--slot-sizes", "4K,8K", "--depths", "1,3",
	"--sizes", "4K,16K", "--kernel-bytes", "4K"}

// tableRows returns the rows of the table whose header starts with head,
// split into fields (the cells of these tables hold no blanks).
func tableRows(out, head string) [][]string {
	var rows [][]string
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, head):
			in = true
		case in && strings.TrimSpace(l) == "":
			return rows
		case in:
			rows = append(rows, strings.Fields(l))
		}
	}
	return rows
}

func TestBenchEmulator(t *testing.T) {
	plot := filepath.Join(t.TempDir(), "bench.png")
	code, out, errs := runCLI(append([]string{"bench", "--plot", plot}, tinyBench...)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	// Ring: a row per slot size and depth; bytes are batches * slot size;
	// the last two columns are the time per batch and the ring's own.
	rows := tableRows(out, "slot size")
	if len(rows) != 4 {
		t.Fatalf("ring table has %d rows, want 4:\n%s", len(rows), out)
	}
	if !strings.Contains(out, "ring's own: time per batch of the same ring on streams that do no work") {
		t.Errorf("the ring section does not say what the ring's own work is:\n%s", out)
	}
	for _, r := range rows {
		for _, cell := range r[len(r)-2:] {
			if d, err := time.ParseDuration(cell); err != nil || d <= 0 {
				t.Errorf("ring row %q: per batch and ring's own %q are not durations", r, r[len(r)-2:])
			}
		}
	}
	var cases []string
	for _, r := range rows {
		size, err := parseBenchSize(r[0])
		batches, err1 := strconv.Atoi(r[3])
		byteCount, err2 := strconv.Atoi(r[4])
		if err != nil || err1 != nil || err2 != nil || batches != 2 || byteCount != batches*size {
			t.Errorf("ring row %q: bytes should be batches (2) * slot size", r)
		}
		cases = append(cases, r[0]+"/"+r[1])
	}
	if !slices.Equal(cases, []string{"4K/1", "4K/3", "8K/1", "8K/3"}) {
		t.Errorf("ring rows are for %v", cases)
	}
	// Transfer: every mode, not applicable, and no x*.
	var modes []string
	for _, r := range tableRows(out, "mode ") {
		modes = append(modes, r[0])
		if strings.Join(r[1:], " ") != bench.NotOnEmulator {
			t.Errorf("transfer row %q: want %q", r, bench.NotOnEmulator)
		}
	}
	if want := []string{"pageable", "staged", "zero-copy"}; !slices.Equal(modes, want) {
		t.Errorf("transfer rows for %v, want %v", modes, want)
	}
	if n := strings.Count(out, bench.NotOnEmulator); n != len(bench.Modes())+1 {
		t.Errorf("%q appears %d times, want once per mode and once for x*:\n%s", bench.NotOnEmulator, n, out)
	}
	_, transfer, _ := strings.Cut(out, "\ntransfer:")
	transfer, _, _ = strings.Cut(transfer, "\nkernels:")
	if strings.Contains(transfer, "x* =") || strings.Contains(transfer, "µs") || strings.Contains(transfer, "GB/s") {
		t.Errorf("the emulator run invents transfer numbers:\n%s", transfer)
	}
	// Kernels: every batch kernel, in lane-instr/s.
	krows := tableRows(out, "kernel ")
	var names []string
	for _, r := range krows {
		names = append(names, r[0])
		if r[1] != "4K" || r[2] != "2" {
			t.Errorf("kernel row %q: want 4K input, 2 launches", r)
		}
	}
	if !slices.Equal(names, bench.DefaultKernels()) || !strings.Contains(out, "lane-instr/s") {
		t.Errorf("kernel rows %v:\n%s", names, out)
	}
	f, err := os.Open(plot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("--plot %s: %v", plot, err)
	}
	if !strings.Contains(out, "plot: "+plot+" (3 panels)") {
		t.Errorf("the output does not name the plot:\n%s", out)
	}
}

func TestBenchJSON(t *testing.T) {
	plot := filepath.Join(t.TempDir(), "bench.svg")
	code, out, errs := runCLI(append([]string{"bench", "--json", "--section", "ring,kernels", "--plot", plot}, tinyBench...)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	var res bench.Results
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if res.Backend != gpu.BackendEmu || len(res.Ring) != 4 || res.Transfer != nil || len(res.Kernels) != len(bench.DefaultKernels()) {
		t.Fatalf("backend %q, %d ring results, transfer %v, %d kernel results", res.Backend, len(res.Ring), res.Transfer, len(res.Kernels))
	}
	for _, r := range res.Ring {
		secs := r.Elapsed.Seconds()
		if r.Bytes != int64(r.Batches*r.SlotSize) || r.Batches != 2 || math.Abs(r.GBps*1e9*secs-float64(r.Bytes)) > 1e-6*float64(r.Bytes) {
			t.Errorf("ring %+v: bytes should be batches*slot size, GB/s bytes per second", r)
		}
		if r.Streams != min(2, r.Depth) {
			t.Errorf("ring depth %d ran %d streams", r.Depth, r.Streams)
		}
		if r.PerBatch <= 0 || r.OwnBatches != 2 || r.OwnPerBatch <= 0 {
			t.Errorf("ring %+v: per batch %v, the ring's own work %d batches of %v; want 2 batches, positive times", r, r.PerBatch, r.OwnBatches, r.OwnPerBatch)
		}
	}
	for _, k := range res.Kernels {
		if k.Unit != bench.UnitLaneInstr || k.LaneInstr <= 0 || k.Launches != 2 {
			t.Errorf("kernel %+v", k)
		}
	}
	b, err := os.ReadFile(plot)
	if err != nil || !bytes.HasPrefix(b, []byte("<?xml")) || !bytes.Contains(b[:min(len(b), 400)], []byte("<svg")) {
		t.Errorf("--plot %s: %v, %.60q", plot, err, b)
	}
}

// On a GPU the transfer section measures every mode at every size and
// states x*; here the emulator stands in for the GPU.
func TestBenchTransferOnGPUPath(t *testing.T) {
	dev, err := openDevice("emu", gpu.EmuOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	o, code := parseBenchFlags([]string{"--section", "transfer,kernels", "--batches", "2", "--sizes", "16K,4K,64K", "--kernel-bytes", "8K"}, new(bytes.Buffer))
	if o == nil {
		t.Fatalf("parse: exit %d", code)
	}
	var out bytes.Buffer
	res, err := runBench(fakeGPU{dev}, o, &out)
	if err != nil {
		t.Fatal(err)
	}
	rows := tableRows(out.String(), "message")
	var sizes []string
	for _, r := range rows {
		sizes = append(sizes, r[0])
		if len(r) != 1+2*len(bench.Modes()) {
			t.Errorf("transfer row %q: want a time and a rate per mode", r)
		}
		for _, cell := range r[1:] {
			if v, err := strconv.ParseFloat(cell, 64); err != nil || v <= 0 {
				t.Errorf("transfer row %q: cell %q is not a positive number", r, cell)
			}
		}
	}
	if !slices.Equal(sizes, []string{"4K", "16K", "64K"}) {
		t.Errorf("transfer rows for %v, want 4K, 16K, 64K in order:\n%s", sizes, out.String())
	}
	c := res.Transfer.Crossover
	want := "x*: none in the range"
	switch {
	case c.Found && c.AtSmallest:
		want = "x* <= 4 KiB"
	case c.Found:
		want = "x* = " + bench.SizeString(c.Size)
	}
	if !strings.Contains(out.String(), want) || strings.Contains(out.String(), bench.NotOnEmulator) {
		t.Errorf("crossover %+v, but the output lacks %q:\n%s", c, want, out.String())
	}
	if krows := tableRows(out.String(), "kernel "); len(krows) != len(bench.DefaultKernels()) || !strings.Contains(out.String(), "GB/s") || strings.Contains(out.String(), "lane-instr") {
		t.Errorf("kernels on a GPU are in GB/s:\n%s", out.String())
	}
}

// fakeGPU is the emulator dressed as a GPU backend.
type fakeGPU struct{ gpu.Device }

func (d fakeGPU) Info() gpu.Info {
	i := d.Device.Info()
	i.Backend, i.Name = gpu.BackendCUDA, "fake GPU"
	return i
}

func TestBenchBadInput(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		frag string
	}{
		{[]string{"--slot-sizes", "0"}, "--slot-sizes"},
		{[]string{"--slot-sizes", "64K,-4K"}, "--slot-sizes"},
		{[]string{"--slot-sizes", "2G"}, "--slot-sizes"},
		{[]string{"--slot-sizes", "12X"}, "--slot-sizes"},
		{[]string{"--sizes", "4K,0"}, "--sizes"},
		{[]string{"--sizes", "6"}, "--sizes"},
		{[]string{"--sizes", ""}, "--sizes"},
		{[]string{"--depths", "0"}, "--depths"},
		{[]string{"--depths", "2,x"}, "--depths"},
		// 4 slots and 4 staging buffers of 1 GiB: 8 GiB, on the emulator's 4.
		{[]string{"--slot-sizes", "64K,1G", "--depths", "2,4"}, "--slot-sizes 1G with --depths 4: a ring of 4 slots of 1G and as many staging buffers needs 8.0 GiB of device memory, more than the 4.0 GiB"},
		{[]string{"--plot", filepath.Join(dir, "big.png"), "--slot-sizes", "1M", "--depths", "1024,2048"}, "--depths: \"2048\": at most 1024"},
		{[]string{"--plot", filepath.Join(dir, "big.png"), "--slot-sizes", "3M", "--depths", "1024"}, "--slot-sizes 3M with --depths 1024"},
		{[]string{"--streams", "0"}, "--streams"},
		{[]string{"--kernel-bytes", "1000"}, "--kernel-bytes"},
		{[]string{"--kernel-bytes", "-4K"}, "--kernel-bytes"},
		{[]string{"--section", "ring,disk"}, `unknown section "disk"`},
		{[]string{"--section", ""}, "--section"},
		{[]string{"--batches", "0"}, "--batches"},
		{[]string{"--batches", "-3"}, "--batches"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--duration", "-1s"}, "--duration"},
		{[]string{"--batches", "2", "--duration", "1s"}, "--batches and --duration"},
		{[]string{"--plot", filepath.Join(dir, "out.jpg")}, `".jpg"`},
		{[]string{"--plot", filepath.Join(dir, "out")}, "no extension"},
		{[]string{"--plot", filepath.Join(dir, "missing", "out.png")}, "--plot"},
		{[]string{"--plot", filepath.Join(dir, "sub.png")}, "is a directory"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--batches", "many"}, "-batches"},
		{[]string{"--duration", "soon"}, "-duration"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
	} {
		code, out, errs := runCLI(append([]string{"bench"}, c.args...)...)
		if code != exitUsage {
			t.Errorf("bench %q: exit %d, want %d", c.args, code, exitUsage)
		}
		if lines := strings.Split(strings.TrimSpace(errs), "\n"); len(lines) != 1 || !strings.Contains(errs, c.frag) || !strings.HasPrefix(errs, "gpubuf bench: ") {
			t.Errorf("bench %q: stderr %q, want one line naming %s", c.args, errs, c.frag)
		}
		if out != "" {
			t.Errorf("bench %q measured something:\n%s", c.args, out)
		}
	}
	// Nothing was written: no plot, no temporary file.
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("bad input left files behind: %v", left)
	}
}

func TestBenchHelp(t *testing.T) {
	code, _, errs := runCLI("bench", "-h")
	if code != exitOK || !strings.Contains(errs, "usage: gpubuf bench") || !strings.Contains(errs, "-slot-sizes") {
		t.Errorf("bench -h: exit %d\n%s", code, errs)
	}
}

func TestParseBenchSize(t *testing.T) {
	for s, want := range map[string]int{"4096": 4096, "4K": 4096, "4k": 4096, "4KiB": 4096, "1M": 1 << 20, "1G": 1 << 30, " 64K ": 64 << 10} {
		if got, err := parseBenchSize(s); got != want || err != nil {
			t.Errorf("parseBenchSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "K", "0", "-1", "1.5M", "2G", "99999999999999999999", "4T"} {
		if n, err := parseBenchSize(s); err == nil {
			t.Errorf("parseBenchSize(%q) = %d, no error", s, n)
		}
	}
	for _, n := range []int{1, 1000, 4096, 3 << 20, 1 << 30} {
		if got, err := parseBenchSize(formatSize(n)); got != n || err != nil {
			t.Errorf("formatSize(%d) = %q reads back as %d, %v", n, formatSize(n), got, err)
		}
	}
}
