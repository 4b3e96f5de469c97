package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gpubuf/gpubuf/driver/libcuda"
	"github.com/gpubuf/gpubuf/gpu"
	_ "github.com/gpubuf/gpubuf/gpu/emu" // the emulator backend, in every build
)

// backendFlagHelp documents --backend, shared by the commands that take it.
const backendFlagHelp = "device backend: emu or cuda (default: $" + gpu.EnvBackend + ", else the best this binary has)"

// openDevice opens the device a command's --backend (or GPUBUF_BACKEND)
// names, with the emulator settings given.
func openDevice(backend string, emu gpu.EmuOptions) (gpu.Device, error) {
	return gpu.Open(gpu.Options{Backend: backend, Emu: emu})
}

// infoJSON is info's --json output.
type infoJSON struct {
	Backend           string   `json:"backend"`
	Device            string   `json:"device"`
	ComputeCapability string   `json:"compute_capability"`
	MemoryBytes       int64    `json:"memory_bytes"`
	SMs               int      `json:"sms"`
	WarpSize          int      `json:"warp_size"`
	Driver            string   `json:"driver"`
	DriverLibrary     string   `json:"driver_library,omitempty"`
	BuildTags         []string `json:"build_tags"`
	Backends          []string `json:"backends"`
}

const infoUsage = `usage: gpubuf info [--backend NAME] [--json]

Prints the backend and device gpu.Open gives (its name, compute capability,
memory, SMs, warp size, driver) and the build tags this binary has. On the
cuda backend the driver line also says which libcuda.so the process loaded:
NVIDIA's, with its version, or gpubuf's emulated one (gpubuf exec), with
its path.

exit status: 0 the device opened; 1 it did not; 2 bad usage
`

// driverLibrary describes the CUDA driver library the process loaded, for
// the cuda backend; "" for another backend. It never fails info: what it
// cannot tell it says.
func driverLibrary(backend string) string {
	if backend != gpu.BackendCUDA {
		return ""
	}
	path, err := libcuda.Loaded()
	if err == nil && path == "" {
		err = errors.New("no libcuda.so is mapped into this process")
	}
	if err != nil {
		return fmt.Sprintf("library unknown (%v)", err)
	}
	d, err := libcuda.Describe(path)
	if err != nil {
		return fmt.Sprintf("library %s (%v)", path, err)
	}
	return d
}

// info prints what device gpu.Open gives and what the binary was built with.
// It exits 0 only when the device opened: the test script asks a
// cuda-tagged build whether there is a GPU this way.
func info(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("info", stderr)
	backend := fs.String("backend", "", backendFlagHelp)
	asJSON := fs.Bool("json", false, "print a JSON object")
	setUsage(fs, infoUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if strayArg(fs, "info", stderr) {
		return exitUsage
	}
	dev, err := openDevice(*backend, gpu.EmuOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf info: %v\n", err)
		return exitFail
	}
	defer dev.Close()
	in := dev.Info()
	lib := driverLibrary(in.Backend)
	tags := buildTags()
	if *asJSON {
		j := infoJSON{
			Backend: in.Backend, Device: in.Name,
			ComputeCapability: fmt.Sprintf("%d.%d", in.ComputeCapability[0], in.ComputeCapability[1]),
			MemoryBytes:       in.TotalMemory, SMs: in.SMCount, WarpSize: in.WarpSize, Driver: in.Driver, DriverLibrary: lib,
			BuildTags: tags, Backends: gpu.Backends(),
		}
		if j.BuildTags == nil {
			j.BuildTags = []string{}
		}
		return writeJSON(stdout, stderr, "info", j)
	}
	t := "none"
	if len(tags) > 0 {
		t = strings.Join(tags, ",")
	}
	fmt.Fprintf(stdout, "backend             %s\n", in.Backend)
	fmt.Fprintf(stdout, "device              %s\n", in.Name)
	fmt.Fprintf(stdout, "compute capability  %d.%d\n", in.ComputeCapability[0], in.ComputeCapability[1])
	fmt.Fprintf(stdout, "memory              %.1f GiB\n", float64(in.TotalMemory)/(1<<30))
	fmt.Fprintf(stdout, "SMs                 %d\n", in.SMCount)
	fmt.Fprintf(stdout, "warp size           %d\n", in.WarpSize)
	if lib != "" {
		fmt.Fprintf(stdout, "driver              %s: %s\n", in.Driver, lib)
	} else {
		fmt.Fprintf(stdout, "driver              %s\n", in.Driver)
	}
	fmt.Fprintf(stdout, "build tags          %s\n", t)
	fmt.Fprintf(stdout, "backends built in   %s\n", strings.Join(gpu.Backends(), ", "))
	return exitOK
}
