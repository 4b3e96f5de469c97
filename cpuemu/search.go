package cpuemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Schedule names one scheduler run: the scheduler, and the seed for Random
// (Adversarial also uses a non-zero seed, for its lane order). Given the
// same inputs, a launch under the same Schedule always runs the same way, so
// a Schedule is enough to replay what a search found.
type Schedule struct {
	Scheduler Scheduler `json:"scheduler"` // in JSON, its name: "random"
	Seed      uint64    `json:"seed"`
}

// String is "lockstep", "adversarial", "roundrobin" or "random seed 7".
// Adversarial shows its seed only when it is not zero, and the schedulers
// that use no seed never do.
func (s Schedule) String() string {
	if s.seeded() {
		return fmt.Sprintf("%s seed %d", s.Scheduler, s.Seed)
	}
	return s.Scheduler.String()
}

// Config applies the schedule to a launch config: it sets Scheduler and
// Seed, and one worker, so that the schedule alone decides the run (a
// lockstep reference on several workers would let blocks that race each
// other differ from run to run); it leaves the rest as it was.
func (s Schedule) Config(cfg LaunchConfig) LaunchConfig {
	cfg.Scheduler = s.Scheduler
	cfg.Seed = s.Seed
	cfg.Workers = 1
	return cfg
}

// Flags are the command-line flags that select the schedule:
// "--scheduler random --seed 7", or "--scheduler adversarial" (with --seed
// only when the seed is not zero).
func (s Schedule) Flags() string {
	if s.seeded() {
		return fmt.Sprintf("--scheduler %s --seed %d", s.Scheduler, s.Seed)
	}
	return "--scheduler " + s.Scheduler.String()
}

// seeded reports whether the seed changes the schedule and so must be said.
func (s Schedule) seeded() bool {
	return s.Scheduler == Random || s.Scheduler == Adversarial && s.Seed != 0
}

type scheduleJSON struct {
	Scheduler string `json:"scheduler"`
	Seed      uint64 `json:"seed"`
}

// MarshalJSON writes the scheduler by name: {"scheduler":"random","seed":7}.
func (s Schedule) MarshalJSON() ([]byte, error) {
	return json.Marshal(scheduleJSON{Scheduler: s.Scheduler.String(), Seed: s.Seed})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Schedule) UnmarshalJSON(b []byte) error {
	var j scheduleJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	sc, err := ParseScheduler(j.Scheduler)
	if err != nil {
		return err
	}
	*s = Schedule{Scheduler: sc, Seed: j.Seed}
	return nil
}

// RunFunc runs the launch once, from freshly prepared inputs, under s and
// returns the bytes to compare (e.g. the concatenated output buffers).
type RunFunc func(s Schedule) ([]byte, error)

// SearchResult is what SearchSchedules found.
type SearchResult struct {
	Reference []byte     // the lockstep output
	Tried     []Schedule // schedules run after the reference, in order
	Found     bool       // some schedule's output or error differs from lockstep
	Differing Schedule   // the first such schedule
	Output    []byte     // its output (nil if it failed)
	Err       error      // its error, when it failed where lockstep did not
	FirstDiff int        // byte offset of the first differing byte, -1 when only the error differs
	DiffBytes int        // how many bytes differ
	Replays   int        // how many replays of Differing were run
	Replayed  bool       // every replay gave the same output (and error text) as the first run
}

// searchReplays is how many times SearchSchedules replays the differing
// schedule to confirm that it reproduces.
const searchReplays = 2

// SearchSchedules runs the reference under Lockstep, then Adversarial, then
// Random seeds 1..seeds, stopping at the first schedule whose output or
// error differs from the reference, which it replays twice to confirm that
// the difference is deterministic. An error under a schedule (a
// *DeadlockError, *FaultError, *LimitError, ...) counts as a difference,
// except a *TimeoutError: the wall clock is not part of a schedule, so a
// run it stops says nothing about one, and the search stops there.
//
// It returns an error (wrapping the run's error) only when the lockstep
// reference run itself fails, when a run times out, or when seeds < 0.
func SearchSchedules(seeds int, run RunFunc) (*SearchResult, error) {
	if seeds < 0 {
		return nil, fmt.Errorf("search schedules: %d random seeds; want 0 or more", seeds)
	}
	if run == nil {
		return nil, errors.New("search schedules: nil run function")
	}
	ref, err := run(Schedule{Scheduler: Lockstep})
	if err != nil {
		return nil, fmt.Errorf("search schedules: the lockstep reference run failed: %w", err)
	}
	r := &SearchResult{Reference: ref, FirstDiff: -1}
	// The candidates are made as they are tried, not listed first: seeds
	// costs time, never memory up front.
	for i := 0; i <= seeds; i++ {
		s := Schedule{Scheduler: Adversarial}
		if i > 0 {
			s = Schedule{Scheduler: Random, Seed: uint64(i)}
		}
		out, err := run(s)
		if err := timedOut(s, err); err != nil {
			return nil, err
		}
		r.Tried = append(r.Tried, s)
		if err == nil && bytes.Equal(out, ref) {
			continue
		}
		r.Found, r.Differing = true, s
		if err != nil {
			r.Err = err
		} else {
			r.Output = out
			r.FirstDiff, r.DiffBytes = byteDiff(ref, out)
		}
		r.Replayed = true
		for range searchReplays {
			out2, err2 := run(s)
			if err := timedOut(s, err2); err != nil {
				return nil, err
			}
			r.Replays++
			if !sameRun(out, err, out2, err2) {
				r.Replayed = false
			}
		}
		break
	}
	return r, nil
}

// timedOut wraps err when it is a *TimeoutError of the run under s.
func timedOut(s Schedule, err error) error {
	var te *TimeoutError
	if !errors.As(err, &te) {
		return nil
	}
	return fmt.Errorf("search schedules: the run under %s stopped at the wall-clock timeout: %w", s, err)
}

// sameRun reports whether two runs gave the same result: equal output, or
// the same error text.
func sameRun(out1 []byte, err1 error, out2 []byte, err2 error) bool {
	if (err1 == nil) != (err2 == nil) {
		return false
	}
	if err1 != nil {
		return err1.Error() == err2.Error()
	}
	return bytes.Equal(out1, out2)
}

// byteDiff returns the offset of the first byte where a and b differ (-1 if
// they are equal) and how many bytes differ; bytes one slice has past the
// other's end all count as differing.
func byteDiff(a, b []byte) (first, n int) {
	first = -1
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			if first < 0 {
				first = i
			}
			n++
		}
	}
	if len(a) != len(b) {
		if first < 0 {
			first = min(len(a), len(b))
		}
		n += max(len(a), len(b)) - min(len(a), len(b))
	}
	return first, n
}

// ReplayFlags gives the command-line flags that replay Differing:
// "--scheduler random --seed 7" or "--scheduler adversarial"; "" when
// nothing was found.
func (r *SearchResult) ReplayFlags() string {
	if r == nil || !r.Found {
		return ""
	}
	return r.Differing.Flags()
}

// String says what the search found, in one line: "output differs from
// lockstep under random seed 7 (first at byte 12, 40 bytes differ); replay
// --scheduler random --seed 7 reproduces it", or "no differing output in 3
// schedules (adversarial and random seeds 1..2)".
func (r *SearchResult) String() string {
	if r == nil {
		return "no schedule search"
	}
	if !r.Found {
		n := len(r.Tried)
		return fmt.Sprintf("no differing output in %d schedule%s (%s)", n, plural(n), triedSummary(r.Tried))
	}
	var b strings.Builder
	if r.Err != nil {
		fmt.Fprintf(&b, "run fails under %s where lockstep succeeds: %s", r.Differing, firstLine(r.Err.Error()))
	} else {
		fmt.Fprintf(&b, "output differs from lockstep under %s (first at byte %d, %d byte%s differ%s)",
			r.Differing, r.FirstDiff, r.DiffBytes, plural(r.DiffBytes), verbS(r.DiffBytes))
		if len(r.Output) != len(r.Reference) {
			fmt.Fprintf(&b, " (%d bytes, lockstep gave %d)", len(r.Output), len(r.Reference))
		}
	}
	switch {
	case r.Replays == 0:
		fmt.Fprintf(&b, "; replay with %s", r.ReplayFlags())
	case r.Replayed:
		fmt.Fprintf(&b, "; replay %s reproduces it", r.ReplayFlags())
	default:
		fmt.Fprintf(&b, "; replay %s did not give the same result in %d replay%s, so the run is not deterministic", r.ReplayFlags(), r.Replays, plural(r.Replays))
	}
	return b.String()
}

// triedSummary describes the schedules of a search: "adversarial and random
// seeds 1..5", "adversarial and random seed 1", or a plain list when they
// are not in that shape.
func triedSummary(tried []Schedule) string {
	if len(tried) == 0 {
		return "none besides lockstep"
	}
	shaped := tried[0] == Schedule{Scheduler: Adversarial}
	for i, s := range tried[1:] {
		if s != (Schedule{Scheduler: Random, Seed: uint64(i + 1)}) {
			shaped = false
		}
	}
	if shaped {
		switch k := len(tried) - 1; k {
		case 0:
			return "adversarial only"
		case 1:
			return "adversarial and random seed 1"
		default:
			return fmt.Sprintf("adversarial and random seeds 1..%d", k)
		}
	}
	names := make([]string, len(tried))
	for i, s := range tried {
		names[i] = s.String()
	}
	return strings.Join(names, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// verbS is the "s" of "1 byte differs" against "2 bytes differ".
func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// searchResultJSON is SearchResult's JSON form: the error as text, no byte
// slices, and the differing schedule only when there is one.
type searchResultJSON struct {
	Found       bool       `json:"found"`
	Tried       []Schedule `json:"tried"`
	Differing   *Schedule  `json:"differing,omitempty"`
	ReplayFlags string     `json:"replay_flags,omitempty"`
	Error       string     `json:"error,omitempty"`
	FirstDiff   int        `json:"first_diff"`
	DiffBytes   int        `json:"diff_bytes"`
	OutputBytes int        `json:"output_bytes"`
	RefBytes    int        `json:"reference_bytes"`
	Replays     int        `json:"replays"`
	Replayed    bool       `json:"replayed"`
	Summary     string     `json:"summary"`
}

// MarshalJSON writes the result without its byte slices (only their
// lengths), with Err as its text and a one-line summary.
func (r SearchResult) MarshalJSON() ([]byte, error) {
	j := searchResultJSON{
		Found:       r.Found,
		Tried:       r.Tried,
		FirstDiff:   r.FirstDiff,
		DiffBytes:   r.DiffBytes,
		OutputBytes: len(r.Output),
		RefBytes:    len(r.Reference),
		Replays:     r.Replays,
		Replayed:    r.Replayed,
		Summary:     r.String(),
	}
	if j.Tried == nil {
		j.Tried = []Schedule{}
	}
	if r.Found {
		d := r.Differing
		j.Differing = &d
		j.ReplayFlags = r.ReplayFlags()
	}
	if r.Err != nil {
		j.Error = r.Err.Error()
	}
	return json.Marshal(j)
}
