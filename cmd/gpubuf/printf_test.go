package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// Where a kernel's printf goes: launch and race write it to stdout and
// nothing else there (their own lines go to stderr); with --json, stdout
// is the JSON object alone and the text is its "stdout" field; run and
// bench send it to stderr. testdata/printf.cu: hello prints "thread I of
// N" from every thread and asserts I < N.

var helloArgs = []string{"testdata/printf.ptx", "--kernel", "hello", "--grid", "1", "--block", "4", "--arg", "buf:16"}

const helloText = "thread 0 of 4\nthread 1 of 4\nthread 2 of 4\nthread 3 of 4\n"

func TestLaunchPrintf(t *testing.T) {
	for _, cmd := range []string{"launch", "race"} {
		code, stdout, stderr := runCLI(cat([]string{cmd}, helloArgs, []string{"--arg", "i32:4"})...)
		if code != exitOK || stdout != helloText {
			t.Errorf("%s: exit %d, stdout %q; want 0 and %q\nstderr: %s", cmd, code, stdout, helloText, stderr)
		}
		summary := "hello: grid (1,1,1) block (4,1,1)"
		if cmd == "race" {
			summary = "RACECHECK SUMMARY: 0 hazards"
		}
		if !strings.Contains(stderr, summary) {
			t.Errorf("%s: stderr lacks %q:\n%s", cmd, summary, stderr)
		}

		// --json: the object alone on stdout (Unmarshal refuses anything
		// after it), the text in its field.
		code, stdout, stderr = runCLI(cat([]string{cmd, "--json"}, helloArgs, []string{"--arg", "i32:4"})...)
		var j struct {
			Stdout *string `json:"stdout"`
		}
		if err := json.Unmarshal([]byte(stdout), &j); err != nil || code != exitOK || j.Stdout == nil || *j.Stdout != helloText {
			t.Errorf("%s --json: exit %d, %v, stdout %q\nstderr: %s", cmd, code, err, stdout, stderr)
		}
	}
}

// A failed assert: the kernel's text, with CUDA's message for each thread
// that failed, on stdout; exit 1, and the error, named "assert", on stderr.
func TestLaunchAssert(t *testing.T) {
	msg := func(thread string) string {
		return "printf.cu:17: void hello(int *, int): block: [0,0,0], thread: [" + thread + ",0,0] Assertion `i < n` failed."
	}
	want := strings.ReplaceAll(helloText, "of 4", "of 2") + msg("2") + "\n" + msg("3") + "\n"
	for _, cmd := range []string{"launch", "race"} {
		code, stdout, stderr := runCLI(cat([]string{cmd}, helloArgs, []string{"--arg", "i32:2"})...)
		if code != exitFail || stdout != want || !strings.Contains(stderr, msg("2")) {
			t.Errorf("%s: exit %d, stdout %q, want 1 and %q\nstderr: %s", cmd, code, stdout, want, stderr)
		}
		if cmd == "launch" && !strings.Contains(stderr, "FAILED: assert") {
			t.Errorf("launch: stderr lacks FAILED: assert:\n%s", stderr)
		}
		code, stdout, _ = runCLI(cat([]string{cmd, "--json"}, helloArgs, []string{"--arg", "i32:2"})...)
		var j struct {
			Stdout string
			Error  *errJSON
		}
		if err := json.Unmarshal([]byte(stdout), &j); err != nil || code != exitFail || j.Stdout != want || j.Error == nil || j.Error.Type != "assert" || !strings.Contains(j.Error.Message, msg("2")) {
			t.Errorf("%s --json: exit %d, %v, %+v", cmd, code, err, j)
		}
	}
}

// gpubuf run: the batches' printf goes to stderr, the stats (or the JSON)
// to stdout. 10 records of 16 bytes, 4 to a 64-byte slot: batches of 4,
// 4 and 2.
func TestRunPrintf(t *testing.T) {
	args := []string{"--ptx", "testdata/printf.ptx", "--kernel", "batch_print", "--unit", "4", "--out-per-batch", "4",
		"--records", "10", "--record-size", "16", "--slot-size", "64", "--progress", "never"}
	code, s, stderr := runJSON(t, args...)
	if code != exitOK || s.Batches != 3 || s.Records != 10 {
		t.Errorf("exit %d, %+v\n%s", code, s, stderr)
	}
	if strings.Count(stderr, "batch of 4 records\n") != 2 || strings.Count(stderr, "batch of 2 records\n") != 1 {
		t.Errorf("stderr %q; want the three batches' lines", stderr)
	}
	code, stdout, stderr := runCLI(append([]string{"run"}, args...)...)
	if code != exitOK || strings.Contains(stdout, "batch of") || strings.Count(stderr, "batch of") != 3 {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}
