package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"

	"github.com/gpubuf/gpubuf/cpuemu/sarif"
	"github.com/gpubuf/gpubuf/driver/libcuda"
	"github.com/gpubuf/gpubuf/internal/driverserve"
)

const driverServeUsage = `usage: gpubuf driver-serve --fd N

The server behind gpubuf's libcuda.so.1: the library starts it at cuInit on
a socketpair whose end is descriptor N, and it serves the driver API calls
from the emulator until the library closes the socket
(docs/driver-protocol.md). Programs never run it themselves.
`

func driverServeCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("driver-serve", stderr)
	fd := fs.Int("fd", -1, "the socket's descriptor")
	setUsage(fs, driverServeUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *fd < 0 || fs.NArg() > 0 {
		fmt.Fprint(stderr, driverServeUsage)
		return exitUsage
	}
	f := os.NewFile(uintptr(*fd), "driver socket")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf driver-serve: descriptor %d: %v\n", *fd, err)
		return exitUsage
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		fmt.Fprintf(stderr, "gpubuf driver-serve: descriptor %d is not a Unix socket\n", *fd)
		return exitUsage
	}
	cfg, err := driverserve.ConfigFromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf driver-serve: %v\n", err)
		return exitUsage
	}
	if err := driverserve.Serve(uc, cfg); err != nil {
		fmt.Fprintf(stderr, "gpubuf driver-serve: %v\n", err)
		return exitFail
	}
	return exitOK
}

const execUsage = `usage: gpubuf exec [--check] [--sarif FILE] [--scheduler S] [--seed N] PROGRAM [ARGS]

Runs an unmodified CUDA driver-API program on the emulator: with
LD_LIBRARY_PATH leading to gpubuf's libcuda.so.1 (beside this binary, or
built into the user's cache directory with the system C compiler on first
use, from the sources embedded in gpubuf), which serves every driver call
from the emulator. The program's exit status is passed through.
--check runs every launch under the race and sync checker, prints its
findings on stderr as compute-sanitizer does, and makes the exit status 1
when there were errors (GPUBUF_CHECK=1, GPUBUF_CHECK_EXIT=1).
--sarif FILE also runs every launch under the checker, and writes the
findings of all of them to FILE as one SARIF 2.1.0 log once the program
and its driver server have ended (paths relative to the current
directory); it changes the exit status only with --check.
Set GPUBUF_LOG=1 for the emulator's full message on each failed call.
`

func execCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("exec", stderr)
	check := fs.Bool("check", false, "run every launch under the race and sync checker; exit 1 when it finds errors")
	sched := fs.String("scheduler", "", "the emulator's scheduler: lockstep, roundrobin, random or adversarial")
	seed := fs.Uint64("seed", 0, "the random scheduler's seed")
	sarifOut := fs.String("sarif", "", "run every launch under the checker and write the findings to `FILE` as SARIF 2.1.0 (paths relative to the current directory)")
	setUsage(fs, execUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, execUsage)
		return exitUsage
	}
	// A bad scheduler is the command line's error, said before the
	// program starts, not the driver server's once it does.
	if *sched != "" {
		if _, err := cpuemu.ParseScheduler(*sched); err != nil {
			return usageFail(stderr, "exec", "--scheduler: %v", err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf exec: finding this binary: %v\n", err)
		return exitFail
	}
	dir, err := driverLibDir(self)
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf exec: %v\n", err)
		return exitFail
	}
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	env := os.Environ()
	ld := dir
	if old := os.Getenv("LD_LIBRARY_PATH"); old != "" {
		ld += ":" + old
	}
	env = append(env, "LD_LIBRARY_PATH="+ld, "GPUBUF="+self)
	if *check || *sarifOut != "" {
		env = append(env, "GPUBUF_CHECK=1")
	}
	if *check {
		env = append(env, "GPUBUF_CHECK_EXIT=1")
	}
	var serverDone *os.File // read end of a pipe the program and its driver server hold
	sarifPath := ""
	if *sarifOut != "" {
		if sarifPath, err = filepath.Abs(*sarifOut); err == nil {
			// Empty until a server writes it: exec tells then whether one did.
			err = os.WriteFile(sarifPath, nil, 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "gpubuf exec: --sarif %s: cannot write: %v\n", *sarifOut, err)
			return exitFail
		}
		env = append(env, driverserve.SARIFEnv+"="+sarifPath)
		r, w, err := os.Pipe()
		if err != nil {
			fmt.Fprintf(stderr, "gpubuf exec: %v\n", err)
			return exitFail
		}
		defer r.Close()
		// The program inherits w as descriptor 4 (3 is closed: the
		// library gives the server its socket there), and the server
		// the library starts inherits it from the program: the pipe
		// reads end-of-file once both have ended, the server's SARIF
		// log written.
		cmd.ExtraFiles = []*os.File{nil, w}
		serverDone = r
		defer w.Close()
	}
	if *sched != "" {
		env = append(env, "GPUBUF_SCHEDULER="+*sched)
	}
	if *seed != 0 {
		env = append(env, "GPUBUF_SEED="+strconv.FormatUint(*seed, 10))
	}
	cmd.Env = env
	err = cmd.Start()
	if err == nil {
		if serverDone != nil {
			cmd.ExtraFiles[1].Close()
		}
		err = cmd.Wait()
	}
	code := exitOK
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() < 0 {
			fmt.Fprintf(stderr, "gpubuf exec: %v\n", err)
			return exitFail
		}
		code = ee.ExitCode()
	}
	if serverDone != nil {
		if err := finishSARIF(serverDone, sarifPath, *sarifOut, stderr); err != nil {
			fmt.Fprintf(stderr, "gpubuf exec: --sarif %s: %v\n", *sarifOut, err)
			if code == exitOK {
				code = exitFail
			}
		}
	}
	return code
}

// sarifWait bounds how long exec waits, after the program has exited, for
// its driver server to end (and anything else of the program's that kept
// the pipe open).
const sarifWait = 30 * time.Second

// finishSARIF waits until done reads end-of-file (every holder of the
// pipe's write end has exited: the program, its driver server) and then
// checks that a server wrote the SARIF log at path; when none did, it
// writes a log that says so, one that does not read as clean.
func finishSARIF(done *os.File, path, name string, stderr io.Writer) error {
	done.SetReadDeadline(time.Now().Add(sarifWait))
	if _, err := io.Copy(io.Discard, done); err != nil {
		fmt.Fprintf(stderr, "gpubuf exec: --sarif %s: something the program started still runs %v after it exited; the log is as its driver server last wrote it\n", name, sarifWait)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Size() > 0 {
		return nil
	}
	l := sarif.NewLog(sarif.Options{})
	l.Fail("no launch was reported: the program never started the CUDA driver (cuInit), or its driver server ended before writing the log")
	return writeFile(path, func(w *bufio.Writer) error { return l.Write(w) })
}

// driverLibDir is the directory of the libcuda.so.1 gpubuf exec uses: the
// one beside the binary self, else the user's cache directory's, built
// there from the embedded sources when it is missing, under the sources'
// hash, so that a gpubuf of other sources builds its own.
func driverLibDir(self string) (string, error) {
	beside := filepath.Dir(self)
	if _, err := os.Stat(filepath.Join(beside, libcuda.SoName)); err == nil {
		return beside, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no %s beside %s, and no cache directory to build one in: %v", libcuda.SoName, self, err)
	}
	dir := filepath.Join(cache, "gpubuf", "libcuda-"+libcuda.Hash())
	if _, err := os.Stat(filepath.Join(dir, libcuda.SoName)); err == nil {
		return dir, nil
	}
	if _, err := libcuda.Build(dir, libcuda.IncludeDir); err != nil {
		return "", err
	}
	return dir, nil
}

const driverLibUsage = `usage: gpubuf driver-lib [--out DIR]

Builds gpubuf's libcuda.so.1 (see gpubuf exec) into DIR, or finds or builds
it in the user's cache directory, and prints its directory: the
LD_LIBRARY_PATH entry that runs a driver-API program on the emulator.
`

func driverLibCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("driver-lib", stderr)
	out := fs.String("out", "", "build the library into this directory")
	setUsage(fs, driverLibUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if strayArg(fs, "driver-lib", stderr) {
		return exitUsage
	}
	var dir string
	var err error
	if *out != "" {
		_, err = libcuda.Build(*out, libcuda.IncludeDir)
		dir = *out
	} else {
		var self string
		if self, err = os.Executable(); err == nil {
			dir, err = driverLibDir(self)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "gpubuf driver-lib: %v\n", err)
		return exitFail
	}
	abs, _ := filepath.Abs(dir)
	fmt.Fprintln(stdout, abs)
	return exitOK
}
