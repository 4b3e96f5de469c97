package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/kernels"
)

// ptxSource gives the PTX text the command runs: the file, or the
// embedded module that holds --kernel.
func (o *launchOpts) ptxSource() (name string, ptx []byte, err error) {
	if o.file != "" {
		ptx, err = readFileLimit(o.file, maxPTXFileBytes)
		if err != nil {
			err = fmt.Errorf("PTX file: %v", err)
		}
		return o.file, ptx, err
	}
	k, ok := kernels.Lookup(o.kernel)
	if !ok {
		var names []string
		for _, k := range kernels.All() {
			names = append(names, k.Name)
		}
		return "", nil, fmt.Errorf("no embedded kernel %q (there are %s)", o.kernel, strings.Join(names, ", "))
	}
	return k.File, k.PTX(), nil
}

// emuOnly names the flags given that only the emulator can honour.
func (o *launchOpts) emuOnly() []string {
	var flags []string
	if o.sched != cpuemu.Lockstep || o.seed != 0 {
		flags = append(flags, "--scheduler/--seed")
	}
	if o.trace != "" {
		flags = append(flags, "--trace")
	}
	if o.maxInstr != 0 {
		flags = append(flags, "--max-instructions")
	}
	if o.timeoutSet {
		flags = append(flags, "--timeout")
	}
	return flags
}

// launchOnDevice runs the launch through the device API, on a backend
// other than the emulator: buffers are allocated and filled on dev, the
// kernel runs on a stream, and --out buffers are copied back. What the
// kernel prints is the driver's to print, on the process's standard
// output; the summary goes to stderr.
func (o *launchOpts) launchOnDevice(dev gpu.Device, entry kernelEntry, stderr io.Writer) int {
	// A failure before the launch leaves none of the output files this
	// command created, as on the emulator; after it they get what the
	// buffers hold.
	launched := false
	defer func() {
		if !launched {
			o.removeCreated()
		}
	}()
	mod, err := dev.LoadModule(entry.file, entry.src)
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf %s: %v\n", o.cmd, err)
		return exitFail
	}
	defer mod.Close()
	k, err := mod.Kernel(entry.Name)
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf %s: %v\n", o.cmd, err)
		return exitFail
	}
	if o.coop {
		// A grid the device cannot hold at once is a bad command line.
		n, err := k.MaxCooperativeBlocks(gpu.Dim3(o.block), o.shared)
		if err != nil {
			fmt.Fprintf(stderr, "gpubuf %s: %v\n", o.cmd, err)
			return exitFail
		}
		if o.grid.Count() > int64(n) {
			return usageFail(stderr, o.cmd, "--cooperative --grid %s --block %s: %d blocks; %s holds at most %d of them at once", o.gridText, o.blockText, o.grid.Count(), dev.Info().Name, n)
		}
	}
	// The module's variables: a bad name is bad input.
	syms := map[string]gpu.DeviceBuffer{}
	err = o.resolveSymbols(func(name string) (int, error) {
		b, err := mod.Global(name)
		if err != nil {
			return 0, err
		}
		syms[name] = b
		return b.Size(), nil
	})
	if err != nil {
		return usageFail(stderr, o.cmd, "%v", err)
	}
	for _, sp := range o.syms {
		if err := syms[sp.Name].CopyFromHost(0, sp.fill.contents()); err != nil {
			fmt.Fprintf(stderr, "gpubuf %s: --symbol %q: %v\n", o.cmd, sp.Text, err)
			return exitFail
		}
	}
	args := make([]any, len(o.specs))
	bufs := make([]gpu.DeviceBuffer, len(o.specs))
	defer func() {
		for _, b := range bufs {
			if b != nil {
				b.Free()
			}
		}
	}()
	for i := range o.specs {
		s := &o.specs[i]
		if !s.isBuf() {
			args[i] = s.Value
			continue
		}
		b, err := dev.Alloc(s.Bytes)
		if err == nil {
			err = b.CopyFromHost(0, s.contents())
		}
		if err != nil {
			fmt.Fprintf(stderr, "gpubuf %s: --arg %q: %v\n", o.cmd, s.Text, err)
			return exitFail
		}
		args[i], bufs[i] = b, b
	}
	st, err := dev.NewStream()
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf %s: %v\n", o.cmd, err)
		return exitFail
	}
	defer st.Close()
	launched = true
	start := time.Now()
	err = st.Launch(k, gpu.LaunchConfig{Grid: gpu.Dim3(o.grid), Block: gpu.Dim3(o.block), SharedBytes: o.shared, Cooperative: o.coop}, args...)
	if err == nil {
		err = st.Synchronize()
	}
	elapsed := time.Since(start)
	code := exitOK
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf %s: %v\n", o.cmd, err)
		code = exitFail
	}
	for _, out := range o.outs {
		src := syms[out.Sym]
		switch {
		case out.Sym != "":
		case out.Arg < 0:
			continue
		default:
			src = bufs[out.Arg]
		}
		b := make([]byte, src.Size())
		rerr := src.CopyToHost(b, 0)
		if rerr == nil {
			rerr = os.WriteFile(out.Path, b, 0o644)
		}
		if rerr != nil {
			fmt.Fprintf(stderr, "gpubuf %s: %s: %v\n", o.cmd, out.flagText(), rerr)
			return exitFail
		}
	}
	in := dev.Info()
	status := "ok"
	var ge *gpu.Error
	if errors.As(err, &ge) {
		status = "FAILED: " + ge.Op
	}
	fmt.Fprintf(stderr, "%s: grid %s block %s on %s (%s backend), %d threads, %s, %s\n",
		entry.Name, o.grid, o.block, in.Name, in.Backend, o.grid.Count()*o.block.Count(), elapsed.Round(time.Microsecond), status)
	return code
}
