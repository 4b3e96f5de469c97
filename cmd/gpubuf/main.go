// Command gpubuf runs gpubuf's warp-level producer/consumer kernels on the
// PTX emulator and reports on them.
//
//	gpubuf bench     measure the ring, the transfer modes and the kernels; plot them
//	gpubuf demo      run every kernel, check it against its Go reference
//	gpubuf kernels   list the kernel catalogue, or a PTX file's entries and whether each runs
//	gpubuf launch    run any PTX kernel on the emulator, write its buffers out
//	gpubuf race      run a kernel under the race and sync checker
//	gpubuf run       run a batch pipeline through the staging ring, print its stats
//	gpubuf view      an OpenGL window onto the handoffs (-tags gl)
//	gpubuf sdf       print the ring bound b_min for two rates, prove it on the emulator
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/internal/kcheck"
	"github.com/gpubuf/gpubuf/internal/ptx"
	"github.com/gpubuf/gpubuf/kernels"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// stdin is what gpubuf run --input - reads; tests replace it.
var stdin io.Reader = os.Stdin

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // a check failed
	exitUsage = 2 // bad usage or input
)

const usage = `usage: gpubuf <command> [flags]

commands:
  bench     measure the staging ring (GB/s by slot size and depth), the
            transfer modes by message size with their crossover x* (on a GPU),
            and the batch kernels; --plot FILE.png|.svg draws them
  demo      run every kernel on the device (the emulator unless --backend or
            GPUBUF_BACKEND says otherwise), check each against its Go reference
  driver-lib  build gpubuf's libcuda.so.1 (the CUDA driver API served by the
            emulator) and print its directory
  exec      run a CUDA driver-API program on the emulator through that
            library; --check runs its launches under the race checker
  info      print the backend and device gpu.Open gives, and the build tags
  kernels   list the kernels with their parameters and purpose; with FILE.ptx,
            the file's entries and whether each runs on the emulator, or why not
  launch    run a kernel of any PTX file (or an embedded one) with --arg specs;
            --out N=PATH writes buffer argument N's final bytes
  race      the same, under the race and sync checker; when it finds hazards,
            search schedules for a differing output and print the replay command
  run       run a batch pipeline: records (generated, or from --input FILE or
            stdin) through the staging ring into batch kernels; --verify checks
            every result against the Go reference; prints the ring's stats
  sdf       print b_min = r_p + r_c - gcd(r_p, r_c) for --rp, --rc and prove it
            on the emulator: warp_ring never stalls at b_min, stalls at b_min - 1
  view      an OpenGL window onto the handoffs (build with -tags gl): particles
            from the device through a triple buffer, the staging ring's slots
            and stats, a warp's lanes over time with the races the checker found;
            --frames N --screenshot FILE.png draws N frames and saves the last
  help      show this text

run 'gpubuf <command> -h' for a command's flags
`

// command is a subcommand: its name, as the usage lists it, and what runs it.
type command struct {
	name string
	run  func(args []string, stdout, stderr io.Writer) int
}

// commands are gpubuf's subcommands; "help" is the usage itself.
var commands = []command{
	{"bench", benchCmd},
	{"demo", demo},
	{"driver-lib", driverLibCmd},
	{"driver-serve", driverServeCmd},
	{"exec", execCmd},
	{"info", info},
	{"kernels", listKernels},
	{"launch", func(args []string, stdout, stderr io.Writer) int { return launchCmd(false, args, stdout, stderr) }},
	{"race", func(args []string, stdout, stderr io.Writer) int { return launchCmd(true, args, stdout, stderr) }},
	{"run", func(args []string, stdout, stderr io.Writer) int { return runCmd(args, stdin, stdout, stderr) }},
	{"sdf", sdfCmd},
	{"view", viewCmd},
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "gpubuf: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("gpubuf "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// setUsage makes fs's usage, which -h and --help print, the synopsis and
// then the flags.
func setUsage(fs *flag.FlagSet, synopsis string) {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), synopsis, "\nflags:\n")
		fs.PrintDefaults()
	}
}

// parseFlags parses a subcommand's flags, as Go's flag package does for a
// program's: -h and --help print the usage on stderr and the command
// exits 0 (flag.ErrHelp); a bad flag, which the flag package names, exits
// 2. ok says whether the command goes on; code is its exit status if not.
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	switch err := fs.Parse(args); {
	case err == nil:
		return exitOK, true
	case errors.Is(err, flag.ErrHelp):
		return exitOK, false
	}
	return exitUsage, false
}

// strayArg reports, and says on stderr, that fs was left an argument the
// command takes none of: every command words it the same way.
func strayArg(fs *flag.FlagSet, cmd string, stderr io.Writer) bool {
	if fs.NArg() == 0 {
		return false
	}
	fmt.Fprintf(stderr, "gpubuf %s: unexpected argument %q\n", cmd, fs.Arg(0))
	return true
}

const demoUsage = `usage: gpubuf demo [flags]

Runs every kernel of the catalogue on the device (the emulator unless
--backend or GPUBUF_BACKEND says otherwise) and checks each against its Go
reference. On the emulator it also shows each kernel's lane-instructions,
the race checker's verdict, and a schedule that breaks each racy twin.

exit status: 0 every kernel behaves as expected; 1 one does not; 2 bad usage
`

func demo(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("demo", stderr)
	backend := fs.String("backend", "", backendFlagHelp)
	sched := fs.String("scheduler", "lockstep", "emulator: scheduler for the correct kernels: lockstep, roundrobin, random or adversarial")
	seed := fs.Uint64("seed", 1, "emulator: seed of the random scheduler")
	size := fs.Int("size", 1, "input size multiplier (1 = a few hundred thousand lane-instructions per kernel)")
	seeds := fs.Int("seeds", 50, "emulator: random schedules to try when looking for a racy twin's wrong result")
	setUsage(fs, demoUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if strayArg(fs, "demo", stderr) {
		return exitUsage
	}
	s, err := cpuemu.ParseScheduler(*sched)
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf demo: --scheduler: %v\n", err)
		return exitUsage
	}
	if *size < 1 || *size > 1000 {
		fmt.Fprintf(stderr, "gpubuf demo: --size %d: want 1..1000\n", *size)
		return exitUsage
	}
	if *seeds < 0 || *seeds > maxSeeds {
		fmt.Fprintf(stderr, "gpubuf demo: --seeds %d: want 0..%d\n", *seeds, maxSeeds)
		return exitUsage
	}
	dev, err := openDevice(*backend, gpu.EmuOptions{Scheduler: s.String(), Seed: *seed})
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf demo: %v\n", err)
		return exitUsage
	}
	defer dev.Close()
	in := dev.Info()
	if in.Backend != gpu.BackendEmu {
		return demoDevice(dev, kcheck.Size(*size), stdout)
	}
	// On the emulator the demo also shows what only it can: instruction
	// counts, the race checker's verdict, and a schedule that breaks each
	// racy twin.
	c, err := kcheck.New(kcheck.Size(*size))
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf demo: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "gpubuf demo: every kernel on the %s (%s backend, %s scheduler), checked against its Go reference and by the race checker\n\n", in.Name, in.Backend, s)
	tw := newTable("kernel", "lanes", "lane-instr", "lane-instr/s", "schedule", "result", "race checker").alignRight(1, 2, 3)
	failed := 0
	for _, k := range kernels.All() {
		var rep kcheck.Report
		if k.Expect == kernels.ExpectRace {
			rep, _ = c.FindFailure(k.Name, *seeds)
		} else {
			// Through the device API, then once more in the emulator for
			// its instruction counts.
			rep = kcheck.RunOnDevice(dev, k.Name, kcheck.Size(*size))
			if emu := c.Check(k.Name, kcheck.Schedule{Scheduler: s, Seed: *seed}); rep.OK && !emu.OK {
				rep = emu
			} else {
				rep.LaneInstructions, rep.Elapsed, rep.Schedule = emu.LaneInstructions, emu.Elapsed, emu.Schedule
			}
		}
		result, ok := verdict(rep)
		switch {
		case !ok:
			failed++
		case k.Expect == kernels.ExpectRace && strings.HasPrefix(rep.Detail, "deadlocked"):
			result = "race reproduced: deadlock"
		case k.Expect == kernels.ExpectRace:
			result = "race reproduced: wrong result"
		case k.Expect == kernels.ExpectDeadlock:
			result = "deadlock, as expected"
		}
		rate := "-"
		if rep.LaneInstructions > 0 {
			rate = humanRate(rep.LaneInstrPerSec())
		}
		checker, ok := checkerVerdict(k, c.CheckRaced(k.Name, kcheck.Schedule{Scheduler: s, Seed: *seed}))
		if !ok {
			failed++
		}
		tw.add(k.Name, rep.Threads, rep.LaneInstructions, rate, rep.Schedule, result, checker)
	}
	tw.write(stdout)
	if failed > 0 {
		fmt.Fprintf(stdout, "\n%d kernel(s) failed\n", failed)
		return exitFail
	}
	fmt.Fprintf(stdout, "\nall %d kernels behave as expected\n", len(kernels.All()))
	return exitOK
}

// demoDevice runs the demo on a GPU: every kernel through the device API,
// checked against its Go reference and timed. Racy twins are run for
// information (whether the race shows is up to the hardware), and the
// kernel that deadlocks by design is not launched.
func demoDevice(dev gpu.Device, size kcheck.Size, stdout io.Writer) int {
	in := dev.Info()
	fmt.Fprintf(stdout, "gpubuf demo: every kernel on %s (%s backend, compute capability %d.%d), checked against its Go reference\n\n",
		in.Name, in.Backend, in.ComputeCapability[0], in.ComputeCapability[1])
	tw := newTable("kernel", "threads", "time", "result").alignRight(1, 2)
	failed := 0
	for _, k := range kernels.All() {
		rep := kcheck.RunOnDevice(dev, k.Name, size)
		result, ok := verdict(rep)
		switch {
		case !ok:
			failed++
		case rep.Skipped || k.Expect != kernels.ExpectOK:
			result = rep.Detail
		}
		t := "-"
		if rep.Elapsed > 0 {
			t = rep.Elapsed.Round(time.Microsecond).String()
		}
		tw.add(k.Name, rep.Threads, t, result)
	}
	tw.write(stdout)
	if failed > 0 {
		fmt.Fprintf(stdout, "\n%d kernel(s) failed\n", failed)
		return exitFail
	}
	fmt.Fprintf(stdout, "\nevery correct kernel matches its Go reference on %s\n", in.Name)
	return exitOK
}

// verdict is a demo row's result, "ok" or what failed, and whether the
// kernel passed.
func verdict(rep kcheck.Report) (string, bool) {
	switch {
	case rep.Err != nil:
		return "FAIL: " + firstLine(rep.Err.Error()), false
	case !rep.OK:
		return "FAIL: " + rep.Detail, false
	}
	return "ok", true
}

// checkerVerdict sums up what the race checker said of a kernel, and
// whether that is what the catalogue expects: nothing for a correct kernel,
// a hazard for a racy twin, a deadlock for divergent_syncwarp.
func checkerVerdict(k kernels.Kernel, rep kcheck.Report) (string, bool) {
	r := rep.Race
	if r == nil {
		return "FAIL: " + firstLine(fmt.Sprint(rep.Err)), false
	}
	var dl *cpuemu.DeadlockError
	switch {
	case k.Expect == kernels.ExpectDeadlock:
		if errors.As(r.Fatal, &dl) {
			return "deadlock", true
		}
		return "FAIL: no deadlock", false
	case k.Expect == kernels.ExpectRace:
		if len(r.Hazards) == 0 {
			return "FAIL: no hazard found", false
		}
		h := r.Hazards[0]
		return fmt.Sprintf("%s %s %s -> %s", h.Type, h.Scope, h.Prior.Site.Loc, h.Later.Site.Loc), true
	case r.Clean():
		return "clean", true
	}
	return "FAIL: " + firstLine((&cpuemu.CheckError{Report: r}).Error()), false
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func humanRate(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.2fG", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.1fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func listKernels(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("kernels", stderr)
	asJSON := fs.Bool("json", false, "with FILE.ptx: print the entries as JSON")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: gpubuf kernels [FILE.ptx] [--json]

Without FILE, lists the embedded kernels with their parameters and purpose.
With FILE, lists the module's entries and, for each, whether it runs on the
emulator and, if not, why (the instruction and its PTX line).

exit status: 0 listed; 2 bad usage, or a FILE that cannot be read or parsed

flags:
`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch fs.NArg() {
	case 0:
	case 1:
		// An argument that names no file is a stray one, not a PTX file
		// that failed to load.
		if _, err := os.Stat(fs.Arg(0)); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "gpubuf kernels: unexpected argument %q: no PTX file of that name\n", fs.Arg(0))
			return exitUsage
		}
		return listModule(fs.Arg(0), *asJSON, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "gpubuf kernels: unexpected argument %q: give at most one PTX file\n", fs.Arg(1))
		return exitUsage
	}
	if *asJSON {
		fmt.Fprintln(stderr, "gpubuf kernels: --json lists the entries of a FILE.ptx")
		return exitUsage
	}
	for _, k := range kernels.All() {
		tag := ""
		switch k.Expect {
		case kernels.ExpectRace:
			tag = " [racy twin of " + k.TwinOf + "]"
		case kernels.ExpectDeadlock:
			tag = " [deadlocks by design]"
		}
		fmt.Fprintf(stdout, "%s (%s)%s\n  %s\n", k.Name, k.Source, tag, k.Purpose)
		for _, p := range k.Params {
			fmt.Fprintf(stdout, "    %-10s %-8s %s\n", p.Name, p.Type, p.Doc)
		}
	}
	return exitOK
}

// entryJSON is one entry of 'gpubuf kernels FILE.ptx --json'.
type entryJSON struct {
	Name        string      `json:"name"`
	Params      []ptx.Param `json:"params"`
	Runs        bool        `json:"runs"`
	Ops         int         `json:"ops,omitempty"`
	SharedBytes int         `json:"shared_bytes,omitempty"`
	LocalBytes  int         `json:"local_bytes,omitempty"`
	Error       *errJSON    `json:"error,omitempty"`
}

// listModule lists the entries of a PTX file and whether each runs on
// the emulator.
func listModule(path string, asJSON bool, stdout, stderr io.Writer) int {
	src, err := readFileLimit(path, maxPTXFileBytes)
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf kernels: PTX file: %v\n", err)
		return exitUsage
	}
	m, err := cpuemu.Load(path, src)
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf kernels: %v\n", err)
		return exitUsage
	}
	es := m.Entries()
	if asJSON {
		out := []entryJSON{}
		for _, e := range es {
			j := entryJSON{Name: e.Name, Params: e.Params, Runs: e.Err == nil, Error: newErrJSON(e.Err)}
			if e.Err == nil {
				j.Ops, j.SharedBytes, j.LocalBytes = e.Ops, e.SharedBytes, e.LocalBytes
			}
			out = append(out, j)
		}
		return writeJSON(stdout, stderr, "kernels", out)
	}
	runs := 0
	for _, e := range es {
		if e.Err == nil {
			runs++
		}
	}
	fmt.Fprintf(stdout, "%s: %d entries, %d run on the emulator\n", path, len(es), runs)
	for _, e := range es {
		fmt.Fprintf(stdout, "%s(%s)\n", e.Name, ptx.ParamList(e.Params))
		if e.Err == nil {
			fmt.Fprintf(stdout, "  runs: %d ops, %d shared bytes, %d local bytes per thread\n", e.Ops, e.SharedBytes, e.LocalBytes)
		} else {
			fmt.Fprintf(stdout, "  does not run on the emulator: %v\n", e.Err)
		}
	}
	return exitOK
}
