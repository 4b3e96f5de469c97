package main

// gpubuf launch and gpubuf race: run any PTX kernel on the emulator with
// arguments built from --arg specs, write its buffers out, and (race) run it
// under the race and sync checker and look for a schedule that shows the
// hazard as a different output.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/internal/kcheck"
	"github.com/gpubuf/gpubuf/internal/ptx"
)

const launchSynopsis = `usage: gpubuf %[1]s [FILE.ptx] --kernel NAME --grid X[,Y,Z] --block X[,Y,Z] [--arg SPEC ...] [flags]

%[2]s
FILE.ptx is any PTX module; without it, --kernel names an embedded kernel
(see 'gpubuf kernels'). Flags may come before or after FILE.

What the kernel prints (printf, and a failed assert's message) goes to
standard output, and nothing else does: gpubuf's own lines go to standard
error, so '> out.txt' captures exactly the kernel's text. With --json,
standard output holds the JSON object alone, the kernel's text in its
"stdout" field.

Two limits stop a kernel that does not end: --max-instructions counts
lane-instructions, and stops it at the same point on every machine;
--timeout is wall-clock time, so how far a kernel gets within it depends
on the machine's speed and load.

exit status: 0 clean; 1 the kernel faulted, failed an assert, deadlocked
or hit a limit (--max-instructions or --timeout)%[3]s;
2 bad usage or input

`

const (
	launchBlurb = `Runs one kernel on the PTX emulator. --out N=PATH writes the final bytes of
buffer argument N (counted from 0) to PATH, raw and little-endian, also when
the kernel fails (what it left there); --out NAME=PATH writes those of the
module variable NAME (a __device__ or __constant__ variable, by its PTX
name). --symbol NAME=FILL sets such a variable before the launch.
`
	raceBlurb = `Runs one kernel on the PTX emulator under the race and sync checker and
prints its report. When it finds hazards, it searches schedules (lockstep,
adversarial, then --seeds random seeds) for one whose output differs from
lockstep, rebuilding the inputs from the specs for every run, and prints
the 'gpubuf launch' command that replays it.
`
)

// launchOpts is a parsed launch or race command line.
type launchOpts struct {
	cmd        string // "launch" or "race"
	race       bool
	file       string // "" for an embedded kernel
	kernel     string
	grid       cpuemu.Dim3
	block      cpuemu.Dim3
	gridText   string
	blockText  string
	sharedText string
	shared     int
	coop       bool // --cooperative
	specs      []argSpec
	syms       []symSpec // --symbol, in order
	outs       []outSpec
	sched      cpuemu.Scheduler
	seed       uint64
	seeds      int
	json       bool
	trace      string
	traceLimit int
	backend    string
	maxInstr   int64
	workers    int
	maxRegs    int           // --max-registers: cpuemu.LoadLimits.Registers, 0 the default
	timeout    time.Duration // in effect: --timeout, or the default for the launch's size
	timeoutSet bool          // --timeout was given
	// race's report: what it prints, what fails it, what it leaves out
	printLevel cpuemu.Severity      // --print-level
	failLevel  cpuemu.Severity      // error, or warning with --warnings-as-errors
	suppress   *cpuemu.Suppressions // the --suppress files' rules, in order

	// The formats for other tools (formats.go).
	traceFormat string // --trace-format: json or perfetto
	sarif       string // race's --sarif FILE
}

// outSpec is one --out N=PATH or --out NAME=PATH.
type outSpec struct {
	Arg     int    // the buffer argument; -1 for a variable, or the trace file
	Sym     string // the module variable, "" for an argument
	Path    string
	created bool // the file did not exist before this command
}

// flagText is the --out as given.
func (out outSpec) flagText() string {
	if out.Sym != "" {
		return fmt.Sprintf("--out %s=%s", out.Sym, out.Path)
	}
	return fmt.Sprintf("--out %d=%s", out.Arg, out.Path)
}

// usageFail prints a message naming the problem and gives exitUsage.
func usageFail(stderr io.Writer, cmd, format string, a ...any) int {
	fmt.Fprintf(stderr, "gpubuf %s: %s\n", cmd, fmt.Sprintf(format, a...))
	return exitUsage
}

// parseLaunchFlags reads the command line of launch or race. It returns nil
// and the exit code when the command should stop.
func parseLaunchFlags(race bool, args []string, stderr io.Writer) (*launchOpts, int) {
	o := &launchOpts{cmd: "launch", race: race}
	blurb, failures := launchBlurb, ""
	if race {
		o.cmd, blurb, failures = "race", raceBlurb, ",\nor the checker found hazards, sync or memory errors (with\n--warnings-as-errors, warnings too) that no --suppress rule leaves out"
	}
	fs := newFlags(o.cmd, stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, launchSynopsis, o.cmd, blurb, failures)
		fmt.Fprint(stderr, argSpecHelp)
		fmt.Fprint(stderr, "\nflags:\n")
		fs.PrintDefaults()
	}
	var rawArgs, rawOuts, rawSyms []string
	fs.StringVar(&o.kernel, "kernel", "", "kernel entry `NAME`; without FILE, an embedded kernel")
	fs.StringVar(&o.gridText, "grid", "", "grid dimensions `X[,Y,Z]` (required)")
	fs.StringVar(&o.blockText, "block", "", "block dimensions `X[,Y,Z]` (required)")
	fs.StringVar(&o.sharedText, "shared", "", "dynamic shared memory per block, `BYTES` (k and M suffixes allowed)")
	fs.BoolVar(&o.coop, "cooperative", false, "launch cooperatively (cuLaunchCooperativeKernel): every block resident at once, so that a grid sync (cooperative_groups::this_grid().sync()) works; the grid must fit the device at once")
	fs.Func("arg", "kernel argument `SPEC`, once per parameter in order (see above)", func(s string) error {
		rawArgs = append(rawArgs, s)
		return nil
	})
	fs.Func("out", "write buffer argument N's, or module variable NAME's, final bytes to PATH (`N=PATH` or NAME=PATH; repeatable)", func(s string) error {
		rawOuts = append(rawOuts, s)
		return nil
	})
	fs.Func("symbol", "set module variable NAME (a __device__ or __constant__ variable, by its PTX name) before the launch (`NAME=FILL`, FILL as for buf; the size is the variable's; repeatable)", func(s string) error {
		rawSyms = append(rawSyms, s)
		return nil
	})
	sched := fs.String("scheduler", "lockstep", "scheduler: lockstep, roundrobin, random or adversarial")
	fs.Uint64Var(&o.seed, "seed", 0, "scheduler seed `N`: for random (replays a reported schedule), and the adversarial lane order when not 0")
	var printLevel string
	var rawSuppress []string
	var warningsAsErrors bool
	if race {
		fs.IntVar(&o.seeds, "seeds", 32, "random schedules to search when the checker finds hazards")
		fs.StringVar(&printLevel, "print-level", "info", "the least severity of the findings the report prints: `info`, warn, error or fatal (the fatal error alone); the exit status does not depend on it")
		fs.BoolVar(&warningsAsErrors, "warnings-as-errors", false, "exit 1 on warnings too (schedule-dependent accesses, broken cooperative-groups rules)")
		fs.Func("suppress", "leave out the findings the rules of `FILE` match (see docs/suppressions.md; repeatable)", func(s string) error {
			rawSuppress = append(rawSuppress, s)
			return nil
		})
		fs.StringVar(&o.sarif, "sarif", "", sarifHelp)
	}
	fs.BoolVar(&o.json, "json", false, "print a JSON object on stdout, with the kernel's printf text in its \"stdout\" field")
	fs.StringVar(&o.backend, "backend", "", backendFlagHelp+"; race runs on the emulator only")
	fs.StringVar(&o.trace, "trace", "", "record every lane's instructions and write them to `FILE` as JSON")
	fs.StringVar(&o.traceFormat, "trace-format", traceFormatJSON, traceFormatHelp)
	fs.IntVar(&o.traceLimit, "trace-limit", cpuemu.DefaultTraceLimit, fmt.Sprintf("the most trace events to keep (`N`, at most %d); the file says when more happened", cpuemu.MaxTraceLimit))
	fs.Int64Var(&o.maxInstr, "max-instructions", 0, "deterministic bound on lane-instructions, the same on every machine (0: the emulator's default, 2^32)")
	fs.DurationVar(&o.timeout, "timeout", 0, timeoutHelp)
	fs.IntVar(&o.maxRegs, "max-registers", 0, fmt.Sprintf("emulator: the most PTX virtual registers (what .reg declares, not hardware registers) a kernel with its callees may have (`N`; 0: %d; at most %d)", cpuemu.DefaultMaxRegisters, cpuemu.MaxRegisters))
	fs.IntVar(&o.workers, "workers", 0, "emulator: goroutines that run the blocks (`N`; 0: one per CPU); only a lockstep launch without the checker, a trace or printf runs blocks in parallel")

	// The flag package stops at the first non-flag: parse, take one
	// positional, parse the rest again.
	var positional []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK
			}
			return nil, exitUsage
		}
		left := fs.Args()
		if len(left) == 0 {
			break
		}
		if n := len(rest) - len(left); n > 0 && rest[n-1] == "--" {
			positional = append(positional, left...)
			break
		}
		positional = append(positional, left[0])
		rest = left[1:]
	}
	if len(positional) > 1 {
		return nil, usageFail(stderr, o.cmd, "unexpected argument %q: give one PTX file", positional[1])
	}
	if len(positional) == 1 {
		o.file = positional[0]
	}
	if o.file == "" && o.kernel == "" {
		return nil, usageFail(stderr, o.cmd, "give a PTX FILE, or --kernel NAME of an embedded kernel (see 'gpubuf kernels')")
	}
	var err error
	if o.gridText == "" {
		return nil, usageFail(stderr, o.cmd, "--grid is required")
	}
	if o.grid, err = parseDim(o.gridText); err != nil {
		return nil, usageFail(stderr, o.cmd, "--grid %v", err)
	}
	if o.blockText == "" {
		return nil, usageFail(stderr, o.cmd, "--block is required")
	}
	if o.block, err = parseDim(o.blockText); err != nil {
		return nil, usageFail(stderr, o.cmd, "--block %v", err)
	}
	if o.sharedText != "" {
		n, err := parseBytes(o.sharedText)
		if err != nil {
			return nil, usageFail(stderr, o.cmd, "--shared: %v", err)
		}
		if n > cpuemu.MaxSharedBytes {
			return nil, usageFail(stderr, o.cmd, "--shared %s: more than the %d bytes of shared memory a block may have", o.sharedText, cpuemu.MaxSharedBytes)
		}
		o.shared = int(n)
	}
	if o.sched, err = cpuemu.ParseScheduler(*sched); err != nil {
		return nil, usageFail(stderr, o.cmd, "--scheduler: %v", err)
	}
	if o.seeds < 0 || o.seeds > maxSeeds {
		return nil, usageFail(stderr, o.cmd, "--seeds %d: want 0..%d", o.seeds, maxSeeds)
	}
	if race && o.backend != "" && o.backend != gpu.BackendEmu {
		return nil, usageFail(stderr, o.cmd, "--backend %s: the race checker runs on the emulator only (--backend emu)", o.backend)
	}
	if o.traceLimit < 1 || o.traceLimit > cpuemu.MaxTraceLimit {
		return nil, usageFail(stderr, o.cmd, "--trace-limit %d: want 1..%d (a trace is held in memory, about 250 bytes an event)", o.traceLimit, cpuemu.MaxTraceLimit)
	}
	if err := o.checkFormats(); err != nil {
		return nil, usageFail(stderr, o.cmd, "%v", err)
	}
	if o.maxInstr < 0 {
		return nil, usageFail(stderr, o.cmd, "--max-instructions %d: must not be negative", o.maxInstr)
	}
	if o.maxRegs < 0 || o.maxRegs > cpuemu.MaxRegisters {
		return nil, usageFail(stderr, o.cmd, "--max-registers %d: want 0 (the default, %d) to %d", o.maxRegs, cpuemu.DefaultMaxRegisters, cpuemu.MaxRegisters)
	}
	if o.workers < 0 || o.workers > cpuemu.MaxWorkers {
		return nil, usageFail(stderr, o.cmd, "--workers %d: want 0 (one per CPU) to %d", o.workers, cpuemu.MaxWorkers)
	}
	if race {
		if o.printLevel, err = cpuemu.ParseSeverity(printLevel); err != nil {
			return nil, usageFail(stderr, o.cmd, "--print-level %s: want info, warn, error or fatal", printLevel)
		}
		o.failLevel = cpuemu.SeverityError
		if warningsAsErrors {
			o.failLevel = cpuemu.SeverityWarning
		}
		o.suppress = &cpuemu.Suppressions{}
		for _, f := range rawSuppress {
			s, err := cpuemu.LoadSuppressions(f)
			if err == nil {
				err = o.suppress.Add(s)
			}
			if err != nil {
				return nil, usageFail(stderr, o.cmd, "--suppress: %v", err)
			}
		}
	}
	fs.Visit(func(f *flag.Flag) { o.timeoutSet = o.timeoutSet || f.Name == "timeout" })
	switch {
	case o.timeout < 0:
		return nil, usageFail(stderr, o.cmd, "--timeout %v: must not be negative (0: none)", o.timeout)
	case !o.timeoutSet:
		o.timeout = defaultTimeout(o.grid.Count()*o.block.Count(), race)
	}
	for _, s := range rawArgs {
		a, err := parseArgSpec(s)
		if err != nil {
			return nil, usageFail(stderr, o.cmd, "%v", err)
		}
		o.specs = append(o.specs, a)
	}
	for _, s := range rawSyms {
		sp, err := parseSymbolSpec(s)
		if err != nil {
			return nil, usageFail(stderr, o.cmd, "%v", err)
		}
		o.syms = append(o.syms, sp)
	}
	for _, s := range rawOuts {
		n, path, ok := strings.Cut(s, "=")
		idx, err := strconv.Atoi(n)
		switch {
		case ok && path != "" && err == nil && idx >= 0:
			o.outs = append(o.outs, outSpec{Arg: idx, Path: path})
		case ok && path != "" && validName(n):
			o.outs = append(o.outs, outSpec{Arg: -1, Sym: n, Path: path})
		default:
			return nil, usageFail(stderr, o.cmd, "--out %q: want N=PATH, N the index of a buffer argument (from 0), or NAME=PATH, NAME a module variable", s)
		}
	}
	return o, exitOK
}

// kernelEntry is the kernel a command runs: its name and parameters, and
// the PTX text it came from, which a GPU loads.
type kernelEntry struct {
	Name   string
	Params []ptx.Param
	err    error  // why the backend cannot run it, ready to print
	file   string // the module's name: the file, or the embedded kernel's
	src    []byte // the module's PTX text
}

// loadEntry reads the PTX and finds the kernel and its parameters with
// the front end, which every backend shares: nothing is lowered for the
// emulator here, so an entry only the emulator cannot run is found, and
// refused, when the device loads it (launchRun.loadKernel).
func (o *launchOpts) loadEntry() (kernelEntry, error) {
	name, src, err := o.ptxSource()
	if err != nil {
		return kernelEntry{}, err
	}
	ast, err := ptx.Parse(src)
	if err != nil {
		return kernelEntry{}, fmt.Errorf("%s: %w", name, err)
	}
	var names []string
	var entries []kernelEntry
	for _, e := range ast.Entries() {
		ke := kernelEntry{Name: e.Name, Params: e.Params, file: name, src: src}
		if e.Err != nil {
			ke.err = fmt.Errorf("%s: entry %s: %w", name, e.Name, e.Err)
		}
		entries = append(entries, ke)
		names = append(names, e.Name)
	}
	if len(names) == 0 {
		return kernelEntry{}, fmt.Errorf("%s has no kernel entries", name)
	}
	slices.Sort(names) // as gpu.Module.Kernels lists them
	if o.kernel == "" {
		if len(names) > 1 {
			return kernelEntry{}, fmt.Errorf("--kernel is required: %s has entries %s", name, strings.Join(names, ", "))
		}
		o.kernel = names[0]
	}
	for _, e := range entries {
		if e.Name != o.kernel {
			continue
		}
		if e.err != nil {
			return kernelEntry{}, e.err
		}
		return e, nil
	}
	return kernelEntry{}, fmt.Errorf("no kernel %q in %s; its entries are %s", o.kernel, name, strings.Join(names, ", "))
}

// checkOutputArgs checks that each --out N names a buffer argument.
func (o *launchOpts) checkOutputArgs() error {
	for _, out := range o.outs {
		if out.Sym != "" { // a variable: the module says whether it has it, later
			continue
		}
		if out.Arg >= len(o.specs) {
			return fmt.Errorf("--out %d=%s: there is no argument %d (%d --arg given)", out.Arg, out.Path, out.Arg, len(o.specs))
		}
		if s := o.specs[out.Arg]; !s.isBuf() {
			return fmt.Errorf("--out %d=%s: argument %d is %q, not a buffer", out.Arg, out.Path, out.Arg, s.Text)
		}
	}
	return nil
}

// createOutputs checks that every --out file, the --trace file and race's
// --sarif file can be written, creating each that does not exist;
// removeCreated removes those again.
func (o *launchOpts) createOutputs() error {
	for i := range o.outs {
		out := &o.outs[i]
		created, err := touch(out.Path)
		if err != nil {
			return fmt.Errorf("%s: cannot write: %v", out.flagText(), err)
		}
		out.created = out.created || created
	}
	if err := o.touchFile("--trace", o.trace); err != nil {
		return err
	}
	return o.touchFile("--sarif", o.sarif)
}

// touchFile checks that the file of flag (none when path is empty) can be
// written, creating it if need be, as --out does; a file it created goes
// when the command gives up before the launch.
func (o *launchOpts) touchFile(flag, path string) error {
	if path == "" {
		return nil
	}
	created, err := touch(path)
	if err != nil {
		return fmt.Errorf("%s %s: cannot write: %v", flag, path, err)
	}
	if created {
		o.outs = append(o.outs, outSpec{Arg: -1, Path: path, created: true})
	}
	return nil
}

// touch opens path for writing without truncating it, creating it if it
// does not exist, and says whether it created it.
func touch(path string) (bool, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return false, err
	}
	return statErr != nil, f.Close()
}

// baseConfig is the launch configuration of the command line.
func (o *launchOpts) baseConfig() cpuemu.LaunchConfig {
	return cpuemu.LaunchConfig{
		Grid: o.grid, Block: o.block, SharedBytes: o.shared, Cooperative: o.coop,
		Scheduler: o.sched, Seed: o.seed, MaxInstructions: o.maxInstr,
		Timeout: o.timeout, Workers: o.workers,
	}
}

// errKind classifies a launch error for JSON.
func errKind(err error) string {
	var (
		te *cpuemu.TimeoutError
		as *cpuemu.AssertError
		ce *cpuemu.CheckError
		fe *cpuemu.FaultError
		de *cpuemu.DeadlockError
		le *cpuemu.LimitError
		ae *cpuemu.ArgError
		ie *cpuemu.InternalError
		ue *cpuemu.UnsupportedError
		se *cpuemu.SyntaxError
	)
	switch {
	case errors.As(err, &te): // first: a checked launch's timeout is inside its *CheckError
		return "timeout"
	case errors.As(err, &as): // so is its assert
		return "assert"
	case errors.As(err, &ce):
		return "check"
	case errors.As(err, &fe):
		return "fault"
	case errors.As(err, &de):
		return "deadlock"
	case errors.As(err, &le):
		return "limit"
	case errors.As(err, &ae):
		return "argument"
	case errors.As(err, &ie):
		return "internal"
	case errors.As(err, &ue):
		return "unsupported"
	case errors.As(err, &se):
		return "syntax"
	}
	return "error"
}

type errJSON struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func newErrJSON(err error) *errJSON {
	if err == nil {
		return nil
	}
	return &errJSON{Type: errKind(err), Message: err.Error()}
}

type outJSON struct {
	Arg    int    `json:"arg"`              // -1 for a module variable
	Symbol string `json:"symbol,omitempty"` // the module variable
	Path   string `json:"path"`
	Bytes  int    `json:"bytes"`
}

// launchJSON is launch's --json output. Backend and Device name a GPU;
// on the emulator, where they are omitted, the schedule and the
// instruction counts are given instead.
type launchJSON struct {
	Kernel           string              `json:"kernel"`
	Module           string              `json:"module"`
	Grid             cpuemu.Dim3         `json:"grid"`
	Block            cpuemu.Dim3         `json:"block"`
	SharedBytes      int                 `json:"shared_bytes"`
	Cooperative      bool                `json:"cooperative"`
	Backend          string              `json:"backend,omitempty"`
	Device           string              `json:"device,omitempty"`
	Scheduler        *string             `json:"scheduler,omitempty"`
	Seed             *uint64             `json:"seed,omitempty"`
	Threads          int64               `json:"threads"`
	LaneInstructions *int64              `json:"lane_instructions,omitempty"`
	WarpInstructions *int64              `json:"warp_instructions,omitempty"`
	Diagnostics      []cpuemu.Diagnostic `json:"diagnostics"`
	Outputs          []outJSON           `json:"outputs"`
	Trace            string              `json:"trace,omitempty"`
	TimeoutSeconds   float64             `json:"timeout_s"` // the wall-clock limit in effect, 0 for none
	Stdout           string              `json:"stdout"`    // what the kernel printed
	Error            *errJSON            `json:"error"`
	// ElapsedNs is the launch's wall-clock time, from its queuing to the
	// end of its stream's Synchronize; LaneInstrPerSec, on the emulator,
	// its lane-instructions per second of it.
	ElapsedNs       time.Duration `json:"elapsed_ns"`
	LaneInstrPerSec *float64      `json:"lane_instr_per_s,omitempty"`
}

// traceJSON is the --trace file.
type traceJSON struct {
	Kernel    string              `json:"kernel"`
	Truncated bool                `json:"truncated"`
	Events    []cpuemu.TraceEvent `json:"events"`
}

func writeTrace(path string, res *cpuemu.Result) error {
	t := traceJSON{Kernel: res.Kernel, Truncated: res.TraceTruncated, Events: res.Trace}
	if t.Events == nil {
		t.Events = []cpuemu.TraceEvent{}
	}
	return writeFile(path, func(w *bufio.Writer) error { return encodeTrace(w, t) })
}

// encodeTrace writes t as json.Encoder would, one event at a time, so that
// the encoding of a long trace is never held in memory whole.
func encodeTrace(w io.Writer, t traceJSON) error {
	head, err := json.Marshal(struct {
		Kernel    string `json:"kernel"`
		Truncated bool   `json:"truncated"`
	}{t.Kernel, t.Truncated})
	if err != nil {
		return err
	}
	head = append(head[:len(head)-1], `,"events":[`...)
	if _, err := w.Write(head); err != nil {
		return err
	}
	for i, e := range t.Events {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if i > 0 {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, "]}\n")
	return err
}

// launchDevice opens launch's device; tests replace it.
var launchDevice = openDevice

// launchCmd runs 'gpubuf launch' (race false) and 'gpubuf race' (race
// true), one path through the device API on every backend: validate the
// command line, open the device, load the kernel, create the output
// files, make the arguments, launch, write the outputs, report.
func launchCmd(race bool, args []string, stdout, stderr io.Writer) int {
	o, code := parseLaunchFlags(race, args, stderr)
	if o == nil {
		return code
	}
	entry, err := o.validate()
	if err != nil {
		return usageFail(stderr, o.cmd, "%v", err)
	}
	// The kernel's printf text: standard output, or the JSON's field.
	var printed bytes.Buffer
	printTo := stdout
	if o.json {
		printTo = &printed
	}
	// Race runs on the emulator, under the checker; launch runs where
	// --backend says.
	backend, cfg := o.backend, o.baseConfig()
	if race {
		backend, cfg.Check = gpu.BackendEmu, true
	}
	dev, err := launchDevice(backend, o.emuOptions(cfg, printTo))
	if err != nil {
		return usageFail(stderr, o.cmd, "%v", err)
	}
	defer dev.Close()
	r := newLaunchRun(o, dev, entry)
	if !r.emu {
		if flags := o.emuOnly(); len(flags) > 0 {
			return usageFail(stderr, o.cmd, "%v: the emulator's options; the %s backend cannot honour them", flags, dev.Info().Backend)
		}
	}
	// Bad input is exit 2 on the emulator, which checks it all; on a GPU
	// a failure of the driver is exit 1.
	fail := func(err error) int {
		err = launchErr(err)
		if r.emu {
			return usageFail(stderr, o.cmd, "%v", err)
		}
		fmt.Fprintf(stderr, "gpubuf %s: %v\n", o.cmd, err)
		return exitFail
	}
	if err := r.loadKernel(); err != nil {
		return fail(err)
	}
	// From here on the command may create files: one that it created is
	// removed again unless the kernel runs, and then it gets what the
	// kernel left.
	launched := false
	defer func() {
		if !launched {
			o.removeCreated()
		}
	}()
	if err := o.createOutputs(); err != nil {
		return usageFail(stderr, o.cmd, "%v", err)
	}
	if usage, err := r.checkCooperative(); usage {
		return usageFail(stderr, o.cmd, "%v", err)
	} else if err != nil {
		return fail(err)
	}
	if err := r.makeArgs(true); err != nil {
		return fail(err)
	}
	res, elapsed, started, lerr := r.launch(o.trace != "")
	var ae *cpuemu.ArgError
	switch {
	case !started || errors.As(lerr, &ae):
		return fail(lerr)
	case r.emu && res == nil:
		fmt.Fprintf(stderr, "gpubuf %s: %v\n", o.cmd, launchErr(lerr))
		return exitFail
	}
	launched = true
	lerr = launchErr(lerr)

	// The kernel ran (perhaps to a failure): write what it left.
	outs, err := r.writeOutputs()
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf %s: %v\n", o.cmd, err)
		return exitFail
	}
	if o.trace != "" {
		if terr := o.writeTraceFile(res, lerr); terr != nil {
			fmt.Fprintf(stderr, "gpubuf %s: --trace %s: %v\n", o.cmd, o.trace, terr)
			return exitFail
		}
	}
	if race {
		// The report holds the diagnostics.
		return o.raceReport(entry, res, elapsed, lerr, printed.String(), stdout, stderr)
	}
	return o.launchReport(r, res, elapsed, lerr, outs, printed.String(), stdout, stderr)
}

// validate checks what the command line names before any device is
// opened: the kernel and its parameters against the --arg specs, whose
// files it reads, and the --out buffers.
func (o *launchOpts) validate() (kernelEntry, error) {
	entry, err := o.loadEntry()
	if err != nil {
		return entry, err
	}
	if err := checkSpecs(entry, o.specs); err != nil {
		return entry, err
	}
	for i := range o.specs {
		if err := o.specs[i].load(); err != nil {
			return entry, err
		}
	}
	return entry, o.checkOutputArgs()
}

// launchReport prints launch's summary (on stderr: stdout has the
// kernel's own text) or its JSON, and gives the exit status.
func (o *launchOpts) launchReport(r *launchRun, res *cpuemu.Result, elapsed time.Duration, lerr error, outs []outJSON, printed string, stdout, stderr io.Writer) int {
	var diags []cpuemu.Diagnostic
	if res != nil {
		diags = res.Diagnostics
	}
	for _, d := range diags {
		fmt.Fprintf(stderr, "gpubuf %s: diagnostic: %s\n", o.cmd, d)
	}
	if lerr != nil {
		fmt.Fprintf(stderr, "gpubuf %s: %v\n", o.cmd, lerr)
		o.explainTimeout(lerr, stderr)
	}
	threads := o.grid.Count() * o.block.Count()
	if o.json {
		j := launchJSON{
			Kernel: r.entry.Name, Module: r.mod.Name(), Grid: o.grid, Block: o.block, SharedBytes: o.shared, Cooperative: o.coop,
			Threads: threads, Diagnostics: diags, Outputs: outs, Trace: o.trace, Error: newErrJSON(lerr),
			TimeoutSeconds: o.timeout.Seconds(), Stdout: printed, ElapsedNs: elapsed,
		}
		if res != nil {
			sched, seed := o.sched.String(), o.seed
			j.Scheduler, j.Seed = &sched, &seed
			j.Threads, j.LaneInstructions, j.WarpInstructions = res.Threads, &res.LaneInstructions, &res.WarpInstructions
			rate := laneRate(res.LaneInstructions, elapsed)
			j.LaneInstrPerSec = &rate
		} else {
			in := r.dev.Info()
			j.Backend, j.Device = in.Backend, in.Name
		}
		if j.Diagnostics == nil {
			j.Diagnostics = []cpuemu.Diagnostic{}
		}
		if j.Outputs == nil {
			j.Outputs = []outJSON{}
		}
		if code := writeJSON(stdout, stderr, o.cmd, j); code != exitOK {
			return code
		}
	} else if res != nil {
		line := fmt.Sprintf("%s: grid %s block %s, %s scheduler, %d threads, %s",
			r.entry.Name, o.grid, o.block, cpuemu.Schedule{Scheduler: o.sched, Seed: o.seed}, res.Threads, speed(res.LaneInstructions, elapsed))
		if n := len(res.Diagnostics); n > 0 {
			line += fmt.Sprintf(", %d diagnostics", n)
		}
		if lerr != nil {
			line += ", FAILED: " + errKind(lerr)
		}
		fmt.Fprintln(stderr, line)
	} else {
		in := r.dev.Info()
		status := "ok"
		var ge *gpu.Error
		if errors.As(lerr, &ge) {
			status = "FAILED: " + ge.Op
		} else if lerr != nil {
			status = "FAILED: " + errKind(lerr)
		}
		fmt.Fprintf(stderr, "%s: grid %s block %s on %s (%s backend), %d threads, %s, %s\n",
			r.entry.Name, o.grid, o.block, in.Name, in.Backend, threads, elapsed.Round(time.Microsecond), status)
	}
	if lerr != nil {
		return exitFail
	}
	return exitOK
}

// laneRate is n lane-instructions per second of elapsed, as the demo
// counts them; 0 for no time.
func laneRate(n int64, elapsed time.Duration) float64 {
	return kcheck.Report{LaneInstructions: n, Elapsed: elapsed}.LaneInstrPerSec()
}

// speed is "N lane-instructions in T (R lane-instr/s)".
func speed(n int64, elapsed time.Duration) string {
	return fmt.Sprintf("%d lane-instructions in %v (%s lane-instr/s)", n, elapsed.Round(time.Microsecond), humanRate(laneRate(n, elapsed)))
}

// removeCreated removes the output files this command created before it
// gave up without running the kernel.
func (o *launchOpts) removeCreated() {
	for _, out := range o.outs {
		if out.created {
			os.Remove(out.Path)
		}
	}
}

// writeJSON prints v on stdout as indented JSON, the form of every
// command's --json, and gives the exit status: exitFail, said on stderr,
// when v does not encode.
func writeJSON(stdout, stderr io.Writer, cmd string, v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf %s: json: %v\n", cmd, err)
		return exitFail
	}
	b = append(b, '\n')
	stdout.Write(b)
	return exitOK
}

// reproJSON is race's "reproduction" object.
type reproJSON struct {
	// Searched: the report had hazards, so schedules were searched.
	Searched   bool                 `json:"searched"`
	Seeds      int                  `json:"seeds"`
	Reproduced bool                 `json:"reproduced"`
	Schedule   string               `json:"schedule,omitempty"`
	Replay     string               `json:"replay,omitempty"` // the gpubuf launch command line
	Search     *cpuemu.SearchResult `json:"search"`
	Error      *errJSON             `json:"error,omitempty"` // the search failed: the lockstep reference launch, say
	Message    string               `json:"message"`
}

// raceJSON is race's --json output: docs/race-report.md describes it.
type raceJSON struct {
	Schema         string         `json:"schema"` // cpuemu.ReportSchema
	Report         *cpuemu.Report `json:"report"`
	Reproduction   *reproJSON     `json:"reproduction"`
	TimeoutSeconds float64        `json:"timeout_s"` // the wall-clock limit in effect, 0 for none
	Stdout         string         `json:"stdout"`    // what the kernel printed in the checked launch
	Error          *errJSON       `json:"error,omitempty"`
	// The checked launch's lane-instructions, its wall-clock time
	// (queuing to Synchronize, the checker's work included) and their
	// rate.
	LaneInstructions int64         `json:"lane_instructions"`
	ElapsedNs        time.Duration `json:"elapsed_ns"`
	LaneInstrPerSec  float64       `json:"lane_instr_per_s"`
}

// raceReport prints the checker's report (on stderr: stdout has the
// kernel's own text) and, when it has hazards, searches for a schedule
// that reproduces one as a different output. With --json, the JSON
// object, with printed, is all that goes to stdout.
func (o *launchOpts) raceReport(entry kernelEntry, res *cpuemu.Result, elapsed time.Duration, lerr error, printed string, stdout, stderr io.Writer) int {
	rep := res.Report
	var ce *cpuemu.CheckError
	if rep == nil && errors.As(lerr, &ce) {
		rep = ce.Report
	}
	if rep == nil {
		if lerr == nil {
			lerr = errors.New("the emulator returned no checker report")
		}
		fmt.Fprintf(stderr, "gpubuf race: %v\n", lerr)
		if serr := o.writeSARIF(entry, nil, lerr); serr != nil {
			fmt.Fprintf(stderr, "gpubuf race: %v\n", serr)
		}
		if o.json {
			writeJSON(stdout, stderr, o.cmd, raceJSON{Schema: cpuemu.ReportSchema, Stdout: printed, Error: newErrJSON(lerr)})
		}
		return exitFail
	}
	// The verdict is the report's once the suppressions have left their
	// findings out, at the level the flags fail on.
	rep = rep.Suppress(o.suppress)
	// SARIF holds what the verdict counts: the findings left after the
	// suppressions.
	if serr := o.writeSARIF(entry, rep, lerr); serr != nil {
		fmt.Fprintf(stderr, "gpubuf race: %v\n", serr)
		return exitFail
	}
	if lerr == nil || errors.As(lerr, &ce) {
		lerr = rep.ErrAt(o.failLevel)
	}
	if !o.json {
		if err := rep.WriteTextAt(stderr, o.printLevel); err != nil {
			fmt.Fprintf(stderr, "gpubuf race: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stderr, "gpubuf race: %s: %d threads, %s under the checker\n", entry.Name, res.Threads, speed(res.LaneInstructions, elapsed))
	} else {
		for _, u := range rep.Suppressions {
			if u.Findings == 0 {
				fmt.Fprintf(stderr, "gpubuf race: warning: suppression %s matched nothing: %s\n", u.Rule, u.Text)
			}
		}
	}
	repro := &reproJSON{Seeds: o.seeds, Message: "no hazards: nothing to reproduce"}
	var te *cpuemu.TimeoutError
	if errors.As(lerr, &te) {
		// Every run of the search would take as long, and what the
		// clock stops shows nothing of a schedule.
		o.explainTimeout(lerr, stderr)
		if len(rep.Hazards) > 0 {
			repro.Message = "the launch hit the wall-clock timeout: no schedule search"
			if !o.json {
				fmt.Fprintln(stderr, repro.Message)
			}
		}
	} else if len(rep.Hazards) > 0 {
		o.search(entry, repro)
		if !o.json {
			fmt.Fprintln(stderr, repro.Message)
		}
	}
	if o.json {
		j := raceJSON{Schema: cpuemu.ReportSchema, Report: rep, Reproduction: repro, TimeoutSeconds: o.timeout.Seconds(), Stdout: printed, Error: newErrJSON(lerr),
			LaneInstructions: res.LaneInstructions, ElapsedNs: elapsed, LaneInstrPerSec: laneRate(res.LaneInstructions, elapsed)}
		if code := writeJSON(stdout, stderr, o.cmd, j); code != exitOK {
			return code
		}
	}
	if lerr != nil {
		return exitFail
	}
	return exitOK
}

// search runs cpuemu.SearchSchedules, each schedule on a device of its
// own with fresh inputs (a module's variables start from its image on
// every device), and fills in repro.
func (o *launchOpts) search(entry kernelEntry, repro *reproJSON) {
	repro.Searched = true
	run := func(s cpuemu.Schedule) ([]byte, error) {
		dev, err := openDevice(gpu.BackendEmu, o.emuOptions(s.Config(o.baseConfig()), nil))
		if err != nil {
			return nil, err
		}
		defer dev.Close()
		r := newLaunchRun(o, dev, entry)
		if err := r.loadKernel(); err != nil {
			return nil, err
		}
		if err := r.makeArgs(false); err != nil {
			return nil, err
		}
		_, _, started, lerr := r.launch(false)
		if !started {
			return nil, launchErr(lerr)
		}
		out, err := r.state()
		if err != nil {
			return nil, err
		}
		return out, launchErr(lerr)
	}
	sr, err := cpuemu.SearchSchedules(o.seeds, run)
	if err != nil {
		repro.Error = newErrJSON(err)
		repro.Message = fmt.Sprintf("found by the checker; the schedule search stopped: %v", err)
		return
	}
	repro.Search = sr
	if !sr.Found {
		repro.Message = fmt.Sprintf("found by the checker, no differing output in %d schedules", len(sr.Tried))
		return
	}
	repro.Reproduced = true
	repro.Schedule = sr.Differing.String()
	repro.Replay = o.replayCommand(sr.ReplayFlags())
	how := "output differs from lockstep"
	if sr.Err != nil {
		how = fmt.Sprintf("the launch fails where lockstep does not (%s)", firstLine(sr.Err.Error()))
	}
	repro.Message = fmt.Sprintf("reproduced: %s under %s; replay with: %s", how, repro.Schedule, repro.Replay)
	if sr.Replays > 0 && !sr.Replayed {
		repro.Message += fmt.Sprintf("\n(but %d replays of that schedule did not all give the same result)", sr.Replays)
	}
}

// replayCommand is the 'gpubuf launch' command line that reruns this
// launch, without the checker, under the schedule of flags.
func (o *launchOpts) replayCommand(flags string) string {
	parts := []string{"gpubuf", "launch"}
	if o.file != "" {
		parts = append(parts, o.file)
	}
	parts = append(parts, "--kernel", o.kernel, "--grid", o.gridText, "--block", o.blockText)
	if o.sharedText != "" {
		parts = append(parts, "--shared", o.sharedText)
	}
	if o.coop {
		parts = append(parts, "--cooperative")
	}
	for _, s := range o.specs {
		parts = append(parts, "--arg", s.Text)
	}
	for _, sp := range o.syms {
		parts = append(parts, "--symbol", sp.Text)
	}
	if o.maxInstr != 0 {
		parts = append(parts, "--max-instructions", strconv.FormatInt(o.maxInstr, 10))
	}
	if o.timeoutSet {
		parts = append(parts, "--timeout", o.timeout.String())
	}
	if o.maxRegs != 0 {
		parts = append(parts, "--max-registers", strconv.Itoa(o.maxRegs))
	}
	for i, p := range parts {
		parts[i] = shellQuote(p)
	}
	cmd := strings.Join(parts, " ")
	if flags != "" {
		cmd += " " + flags
	}
	return cmd
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-./:=,+@%", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	var b bytes.Buffer
	b.WriteByte('\'')
	b.WriteString(strings.ReplaceAll(s, "'", `'\''`))
	b.WriteByte('\'')
	return b.String()
}
