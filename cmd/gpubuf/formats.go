package main

// The formats launch and race write for other tools: --trace-format
// perfetto (the Trace Event Format that ui.perfetto.dev and
// chrome://tracing open) and race's --sarif (SARIF 2.1.0, for code
// scanning).

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/cpuemu/sarif"
	"github.com/gpubuf/gpubuf/cpuemu/traceevent"
)

const (
	traceFormatJSON     = "json"
	traceFormatPerfetto = "perfetto"

	traceFormatHelp = "the --trace file's format: json (gpubuf's own, every event as the emulator records it) or perfetto (the Trace Event Format: open it in ui.perfetto.dev or chrome://tracing)"
	sarifHelp       = "write the findings to `FILE` as SARIF 2.1.0, for code scanning (paths relative to the current directory)"
)

// checkFormats checks --trace-format and --sarif.
func (o *launchOpts) checkFormats() error {
	switch o.traceFormat {
	case traceFormatJSON:
	case traceFormatPerfetto:
		if o.trace == "" {
			return errors.New("--trace-format perfetto: give --trace FILE to write the trace to")
		}
	default:
		return fmt.Errorf("--trace-format %q: want json or perfetto", o.traceFormat)
	}
	return nil
}

// writeTraceFile writes --trace in --trace-format. A perfetto trace of a
// checked launch shows its hazards, from the result's report or the
// launch error's.
func (o *launchOpts) writeTraceFile(res *cpuemu.Result, lerr error) error {
	if o.traceFormat != traceFormatPerfetto {
		return writeTrace(o.trace, res)
	}
	t := traceevent.FromResult(res)
	var ce *cpuemu.CheckError
	if t.Report == nil && errors.As(lerr, &ce) {
		t.Report = ce.Report
	}
	return writeFile(o.trace, func(w *bufio.Writer) error { return traceevent.Write(w, t) })
}

// writeSARIF writes race's --sarif: the report's findings, or, without a
// report, a log that says the analysis failed (never one that reads as
// clean).
func (o *launchOpts) writeSARIF(entry kernelEntry, rep *cpuemu.Report, lerr error) error {
	if o.sarif == "" {
		return nil
	}
	root, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("--sarif %s: %v", o.sarif, err)
	}
	l := sarif.NewLog(sarif.Options{SrcRoot: root})
	if rep == nil {
		if lerr == nil {
			lerr = errors.New("no checker report")
		}
		l.AddFailure(entry.Name, lerr)
	} else {
		// An embedded kernel's PTX is in the repository's kernels/.
		ptx := o.file
		if ptx == "" && entry.file != "" {
			ptx = filepath.ToSlash(filepath.Join("kernels", entry.file))
		}
		l.Add(sarif.Launch{Report: rep, PTX: ptx, Schedule: cpuemu.Schedule{Scheduler: o.sched, Seed: o.seed}.String()})
	}
	if err := writeFile(o.sarif, func(w *bufio.Writer) error { return l.Write(w) }); err != nil {
		return fmt.Errorf("--sarif %s: %v", o.sarif, err)
	}
	return nil
}

// writeFile writes path through a buffer.
func writeFile(path string, write func(*bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
