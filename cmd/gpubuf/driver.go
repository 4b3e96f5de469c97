package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

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

const execUsage = `usage: gpubuf exec [--check] [--scheduler S] [--seed N] PROGRAM [ARGS]

Runs an unmodified CUDA driver-API program on the emulator: with
LD_LIBRARY_PATH leading to gpubuf's libcuda.so.1 (beside this binary, or
built into the user's cache directory with the system C compiler on first
use, from the sources embedded in gpubuf), which serves every driver call
from the emulator. The program's exit status is passed through.
--check runs every launch under the race and sync checker, prints its
findings on stderr as compute-sanitizer does, and makes the exit status 1
when there were errors (GPUBUF_CHECK=1, GPUBUF_CHECK_EXIT=1).
Set GPUBUF_LOG=1 for the emulator's full message on each failed call.
`

func execCmd(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("exec", stderr)
	check := fs.Bool("check", false, "run every launch under the race and sync checker; exit 1 when it finds errors")
	sched := fs.String("scheduler", "", "the emulator's scheduler: lockstep, roundrobin, random or adversarial")
	seed := fs.Uint64("seed", 0, "the random scheduler's seed")
	setUsage(fs, execUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, execUsage)
		return exitUsage
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
	if *check {
		env = append(env, "GPUBUF_CHECK=1", "GPUBUF_CHECK_EXIT=1")
	}
	if *sched != "" {
		env = append(env, "GPUBUF_SCHEDULER="+*sched)
	}
	if *seed != 0 {
		env = append(env, "GPUBUF_SEED="+strconv.FormatUint(*seed, 10))
	}
	cmd.Env = env
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 0 {
			return ee.ExitCode()
		}
		fmt.Fprintf(stderr, "gpubuf exec: %v\n", err)
		return exitFail
	}
	return exitOK
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
