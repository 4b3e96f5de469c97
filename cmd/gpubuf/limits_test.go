package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// devZero is an endless file; tests that need one skip where it is missing.
func devZero(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skipf("no /dev/zero: %v", err)
	}
	return "/dev/zero"
}

func TestReadFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ten.bin")
	ten := []byte("0123456789")
	if err := os.WriteFile(path, ten, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, max := range []int64{10, 11, 1 << 20} {
		b, err := readFileLimit(path, max)
		if err != nil || !bytes.Equal(b, ten) {
			t.Errorf("readFileLimit(10-byte file, %d) = %q, %v; want the file", max, b, err)
		}
	}
	_, err := readFileLimit(path, 9)
	var long *tooLongError
	if !errors.As(err, &long) || long.Size != 10 || long.Max != 9 || err.Error() != path+" is more than 9 bytes" {
		t.Errorf("readFileLimit(10-byte file, 9) = %v (%#v), want a *tooLongError of size 10", err, long)
	}
	zero := devZero(t)
	_, err = readFileLimit(zero, 1000)
	if !errors.As(err, &long) || long.Size != -1 || !strings.Contains(err.Error(), "/dev/zero is more than 1000 bytes") {
		t.Errorf("readFileLimit(/dev/zero, 1000) = %v, want a *tooLongError", err)
	}
	if _, err := readFileLimit(filepath.Join(t.TempDir(), "missing"), 10); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
}

// TestEndlessFiles: every file the CLI reads is read only as far as it
// needs, so an endless one is an error naming it (exit 2), not an
// out-of-memory crash.
func TestEndlessFiles(t *testing.T) {
	zero := devZero(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"launch", "--kernel", "lane_handoff", "--grid", "1", "--block", "64",
			"--arg", "buf:4:file=" + zero, "--arg", "buf:4096", "--arg", "u32:1"}, `--arg "buf:4:file=/dev/zero": file /dev/zero is more than the buffer's 4 bytes`},
		{[]string{"race", "--kernel", "lane_handoff", "--grid", "1", "--block", "64",
			"--arg", "buf:4:file=" + zero, "--arg", "buf:4096", "--arg", "u32:1"}, "file /dev/zero is more than the buffer's 4 bytes"},
		{[]string{"launch", zero, "--grid", "1", "--block", "1"}, "PTX file: /dev/zero is more than 67108864 bytes"},
		{[]string{"race", zero, "--grid", "1", "--block", "1"}, "PTX file: /dev/zero is more than 67108864 bytes"},
		{[]string{"run", "--ptx", zero, "--kernel", "k", "--unit", "4", "--out-per-batch", "4"}, "--ptx: /dev/zero is more than 67108864 bytes"},
	} {
		code, stdout, stderr := runCLI(c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("gpubuf %q: exit %d, stderr %q; want exit %d and %q\n%s", c.args, code, stderr, exitUsage, c.want, stdout)
		}
	}
}
