package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseSize reads a byte count: a whole number with an optional binary
// suffix K, M or G (KiB, MiB, GiB; "KiB" and "k" are accepted too).
func parseSize(s string) (int, error) {
	t := strings.TrimSpace(s)
	mult := 1
	lower := strings.ToLower(t)
	for _, suf := range []struct {
		s string
		m int
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}} {
		if strings.HasSuffix(lower, suf.s) {
			t, mult = t[:len(t)-len(suf.s)], suf.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (a whole number, optionally with K, M or G)", s)
	}
	if n > math.MaxInt32*int64(4)/int64(mult) || n < math.MinInt32 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int(n) * mult, nil
}

// sizeFlag is a flag.Value holding a byte count written with parseSize's
// suffixes.
type sizeFlag struct{ n int }

func (f *sizeFlag) String() string { return formatSize(f.n) }
func (f *sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	f.n = n
	return nil
}

// formatSize writes n with the largest binary suffix that divides it.
func formatSize(n int) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return fmt.Sprintf("%dG", n>>30)
	case n != 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n != 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%dK", n>>10)
	}
	return strconv.Itoa(n)
}
