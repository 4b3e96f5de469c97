package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// failingGPU is the emulator dressed as a GPU (fakeGPU) whose step
// failAt fails: "kernel" (Module.Kernel), "coop" (MaxCooperativeBlocks)
// or "stream" (NewStream).
type failingGPU struct {
	fakeGPU
	failAt string
}

var errInjected = errors.New("injected failure")

func (d failingGPU) LoadModule(name string, ptx []byte) (gpu.Module, error) {
	m, err := d.fakeGPU.LoadModule(name, ptx)
	if err != nil {
		return nil, err
	}
	return failingModule{m, d.failAt}, nil
}

func (d failingGPU) NewStream() (gpu.Stream, error) {
	if d.failAt == "stream" {
		return nil, errInjected
	}
	return d.fakeGPU.NewStream()
}

type failingModule struct {
	gpu.Module
	failAt string
}

func (m failingModule) Kernel(name string) (gpu.Kernel, error) {
	if m.failAt == "kernel" {
		return nil, errInjected
	}
	k, err := m.Module.Kernel(name)
	if err != nil || m.failAt != "coop" {
		return k, err // the emulator's own, which its streams launch
	}
	return failingKernel{k, m.failAt}, nil
}

type failingKernel struct {
	gpu.Kernel
	failAt string
}

func (k failingKernel) MaxCooperativeBlocks(block gpu.Dim3, sharedBytes int) (int, error) {
	if k.failAt == "coop" {
		return 0, errInjected
	}
	return k.Kernel.MaxCooperativeBlocks(block, sharedBytes)
}

// TestLaunchOnDeviceFailsCleanly: a launch on a GPU backend that fails
// before the kernel runs (the cooperative limit cannot be read, the
// kernel cannot be had, no stream) exits 1 naming the failure and leaves
// no --out file it created; a file that was there stays.
func TestLaunchOnDeviceFailsCleanly(t *testing.T) {
	old := launchDevice
	defer func() { launchDevice = old }()
	for _, failAt := range []string{"coop", "kernel", "stream"} {
		launchDevice = func(backend string, emu gpu.EmuOptions) (gpu.Device, error) {
			d, err := openDevice(gpu.BackendEmu, emu)
			if err != nil {
				return nil, err
			}
			return failingGPU{fakeGPU{d}, failAt}, nil
		}
		dir := t.TempDir()
		out, kept := filepath.Join(dir, "out.bin"), filepath.Join(dir, "kept.bin")
		if err := os.WriteFile(kept, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCLI("launch", symbolsPTX, "--kernel", "narrow", "--grid", "1", "--block", "32", "--cooperative",
			"--arg", "u8:1", "--arg", "i8:1", "--arg", "u16:1", "--arg", "i16:1", "--arg", "buf:16", "--out", "4="+out, "--out", "4="+kept)
		if code != exitFail || !strings.Contains(stderr, errInjected.Error()) {
			t.Errorf("%s fails: exit %d, want %d naming the failure\n%s%s", failAt, code, exitFail, stdout, stderr)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s fails: --out %s, created by the command, is left behind (%v)", failAt, out, err)
		}
		if b, err := os.ReadFile(kept); err != nil || string(b) != "old" {
			t.Errorf("%s fails: --out %s, there before, is %q, %v; want it untouched", failAt, kept, b, err)
		}
	}
	// Without a failure the same command line runs and writes its output.
	launchDevice = func(backend string, emu gpu.EmuOptions) (gpu.Device, error) {
		d, err := openDevice(gpu.BackendEmu, emu)
		return failingGPU{fakeGPU{d}, ""}, err
	}
	out := filepath.Join(t.TempDir(), "out.bin")
	code, stdout, stderr := runCLI("launch", symbolsPTX, "--kernel", "narrow", "--grid", "1", "--block", "32", "--cooperative",
		"--arg", "u8:1", "--arg", "i8:1", "--arg", "u16:1", "--arg", "i16:1", "--arg", "buf:16", "--out", "4="+out)
	if code != exitOK {
		t.Fatalf("no failure: exit %d\n%s%s", code, stdout, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || len(b) != 16 {
		t.Errorf("no failure: --out is %d bytes, %v; want 16", len(b), err)
	}
}

// TestLoadEntryKeepsSource: the entry loadEntry finds carries the PTX it
// read, which the device loads without reading the file again.
func TestLoadEntryKeepsSource(t *testing.T) {
	want, err := os.ReadFile("testdata/mixed.ptx")
	if err != nil {
		t.Fatal(err)
	}
	o := &launchOpts{file: "testdata/mixed.ptx", kernel: "fill"}
	e, err := o.loadEntry()
	if err != nil || e.file != "testdata/mixed.ptx" || string(e.src) != string(want) {
		t.Errorf("entry %s from %q, %d bytes of PTX, %v", e.Name, e.file, len(e.src), err)
	}
}

// TestLaunchJSONOnGPU: on a GPU backend --json gives the launch's JSON
// too, naming the backend and device, without the emulator's schedule
// and instruction counts, which a GPU does not have.
func TestLaunchJSONOnGPU(t *testing.T) {
	old := launchDevice
	defer func() { launchDevice = old }()
	launchDevice = func(backend string, emu gpu.EmuOptions) (gpu.Device, error) {
		d, err := openDevice(gpu.BackendEmu, emu)
		return fakeGPU{d}, err
	}
	out := filepath.Join(t.TempDir(), "out.bin")
	code, stdout, stderr := runCLI(cat([]string{"launch", "--json", "--kernel", "lane_handoff", "--out", "1=" + out}, handoffArgs)...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	var j map[string]any
	if err := json.Unmarshal([]byte(stdout), &j); err != nil {
		t.Fatalf("--json on a GPU printed no JSON (%v):\n%s", err, stdout)
	}
	// One block of 64 threads.
	if j["backend"] != gpu.BackendCUDA || j["device"] != "fake GPU" || j["kernel"] != "lane_handoff" || j["threads"] != float64(64) || j["error"] != nil {
		t.Errorf("json: %v", j)
	}
	if ns, _ := j["elapsed_ns"].(float64); ns <= 0 {
		t.Errorf("json elapsed_ns %v, want the launch's time", j["elapsed_ns"])
	}
	for _, k := range []string{"scheduler", "seed", "lane_instructions", "warp_instructions", "lane_instr_per_s"} {
		if _, ok := j[k]; ok {
			t.Errorf("json on a GPU has the emulator's %q: %v", k, j[k])
		}
	}
	if outs, _ := j["outputs"].([]any); len(outs) != 1 {
		t.Errorf("json outputs: %v", j["outputs"])
	}
	if want := kernels.WordBytes(kernels.LaneHandoff(iotaWords(1024))); !bytes.Equal(readFile(t, out), want) {
		t.Error("--out on the GPU differs from kernels.LaneHandoff")
	}
}
