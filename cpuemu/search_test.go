package cpuemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/kernels"
)

// Schedule search: the racy lane_handoff_nosync must show a differing
// output under some schedule, and replaying that schedule must give the same
// wrong output; the correct lane_handoff must not. Expected outputs come from
// the Go reference kernels.LaneHandoff, never from the emulator.

// searchHandoffRun returns a RunFunc that launches kernel on a new Device
// with in, under the schedule, and returns out's bytes.
func searchHandoffRun(t *testing.T, kernel string, in []uint32, cfg LaunchConfig) RunFunc {
	t.Helper()
	m, err := LoadKernel(kernel)
	if err != nil {
		t.Fatal(err)
	}
	return func(s Schedule) ([]byte, error) {
		d := NewDevice()
		inBytes := kernels.WordBytes(in)
		pin, err := d.Alloc(len(inBytes))
		if err != nil {
			return nil, err
		}
		if err := d.Write(pin, inBytes); err != nil {
			return nil, err
		}
		pout, err := d.Alloc(len(inBytes))
		if err != nil {
			return nil, err
		}
		if _, err := m.Launch(d, kernel, s.Config(cfg), pin, pout, uint32(len(in))); err != nil {
			return nil, err
		}
		out := make([]byte, len(inBytes))
		if err := d.Read(out, pout); err != nil {
			return nil, err
		}
		return out, nil
	}
}

func searchWords(seed uint64, n int) []uint32 {
	r := rand.New(rand.NewPCG(seed, 7))
	w := make([]uint32, n)
	for i := range w {
		w[i] = r.Uint32()
	}
	return w
}

var searchShapes = []struct{ grid, block uint32 }{{1, 64}, {2, 128}}

func TestSearchSchedulesFindsNoSyncRace(t *testing.T) {
	for _, sh := range searchShapes {
		t.Run(fmt.Sprintf("grid%d_block%d", sh.grid, sh.block), func(t *testing.T) {
			in := searchWords(uint64(sh.grid*1000+sh.block), 300+int(sh.block)+5)
			want := kernels.WordBytes(kernels.LaneHandoff(in))
			cfg := LaunchConfig{Grid: Dim3{sh.grid, 1, 1}, Block: Dim3{sh.block, 1, 1}}
			run := searchHandoffRun(t, "lane_handoff_nosync", in, cfg)
			const seeds = 8
			r, err := SearchSchedules(seeds, run)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Found {
				t.Fatalf("no differing schedule found: %s", r)
			}
			if r.Err != nil {
				t.Fatalf("differing schedule failed: %v", r.Err)
			}
			if r.Differing.Scheduler == Lockstep {
				t.Fatalf("differing schedule is lockstep")
			}
			// Tried is adversarial, then random 1, 2, ..., ending at Differing.
			if len(r.Tried) == 0 || len(r.Tried) > seeds+1 || r.Tried[len(r.Tried)-1] != r.Differing {
				t.Fatalf("tried %v, differing %v", r.Tried, r.Differing)
			}
			for i, s := range r.Tried {
				w := Schedule{Scheduler: Random, Seed: uint64(i)}
				if i == 0 {
					w = Schedule{Scheduler: Adversarial}
				}
				if s != w {
					t.Fatalf("tried[%d] = %v, want %v", i, s, w)
				}
			}
			if len(r.Output) != len(want) || bytes.Equal(r.Output, r.Reference) {
				t.Fatalf("output %d bytes, equal to the reference: %v", len(r.Output), bytes.Equal(r.Output, r.Reference))
			}
			if bytes.Equal(r.Output, want) {
				t.Fatalf("output under %s equals the Go reference; the race did not show", r.Differing)
			}
			// FirstDiff and DiffBytes, counted here from the two outputs.
			first, n := -1, 0
			for i := range r.Output {
				if r.Output[i] != r.Reference[i] {
					if first < 0 {
						first = i
					}
					n++
				}
			}
			if r.FirstDiff != first || r.DiffBytes != n || n == 0 {
				t.Fatalf("FirstDiff %d DiffBytes %d, counted %d and %d", r.FirstDiff, r.DiffBytes, first, n)
			}
			if r.Replays != 2 || !r.Replayed {
				t.Fatalf("replays %d, replayed %v", r.Replays, r.Replayed)
			}
			// An independent replay: a fresh launch under Differing gives
			// the same wrong bytes.
			again, err := run(r.Differing)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, r.Output) {
				t.Fatalf("replay of %s gave a different output", r.Differing)
			}
			s := r.String()
			t.Log(s)
			for _, part := range []string{
				"output differs from lockstep under " + r.Differing.String(),
				fmt.Sprintf("first at byte %d", first),
				fmt.Sprintf("%d bytes differ", n),
				"replay " + r.ReplayFlags() + " reproduces it",
			} {
				if !strings.Contains(s, part) {
					t.Errorf("String() = %q, missing %q", s, part)
				}
			}
			if strings.Contains(s, "\n") {
				t.Errorf("String() has a newline: %q", s)
			}
			flags := "--scheduler " + r.Differing.Scheduler.String()
			if r.Differing.Scheduler == Random {
				flags += fmt.Sprintf(" --seed %d", r.Differing.Seed)
			}
			if r.ReplayFlags() != flags {
				t.Errorf("ReplayFlags() = %q, want %q", r.ReplayFlags(), flags)
			}
		})
	}
}

func TestSearchSchedulesCorrectKernel(t *testing.T) {
	for _, sh := range searchShapes {
		t.Run(fmt.Sprintf("grid%d_block%d", sh.grid, sh.block), func(t *testing.T) {
			in := searchWords(uint64(sh.grid+sh.block), 200+int(sh.block)+9)
			want := kernels.WordBytes(kernels.LaneHandoff(in))
			cfg := LaunchConfig{Grid: Dim3{sh.grid, 1, 1}, Block: Dim3{sh.block, 1, 1}}
			r, err := SearchSchedules(10, searchHandoffRun(t, "lane_handoff", in, cfg))
			if err != nil {
				t.Fatal(err)
			}
			if r.Found {
				t.Fatalf("correct kernel: %s", r)
			}
			if !bytes.Equal(r.Reference, want) {
				t.Fatalf("lockstep output differs from kernels.LaneHandoff")
			}
			if len(r.Tried) != 11 || r.Replays != 0 || r.ReplayFlags() != "" {
				t.Fatalf("tried %d schedules, replays %d, flags %q", len(r.Tried), r.Replays, r.ReplayFlags())
			}
			if got, w := r.String(), "no differing output in 11 schedules (adversarial and random seeds 1..10)"; got != w {
				t.Errorf("String() = %q, want %q", got, w)
			}
		})
	}
}

// searchFake is a RunFunc built from a function of the schedule, counting
// its calls.
type searchFake struct {
	calls []Schedule
	f     func(s Schedule, call int) ([]byte, error)
}

func (f *searchFake) run(s Schedule) ([]byte, error) {
	f.calls = append(f.calls, s)
	return f.f(s, len(f.calls))
}

func TestSearchSchedulesErrorDiffers(t *testing.T) {
	dl := &DeadlockError{Kernel: "k", Waiters: []string{"lanes 0-15 wait at bar.warp.sync", "lanes 16-31 exited"}}
	f := &searchFake{f: func(s Schedule, _ int) ([]byte, error) {
		if s == (Schedule{Scheduler: Random, Seed: 3}) {
			return []byte("partial"), dl
		}
		return []byte("same"), nil
	}}
	r, err := SearchSchedules(5, f.run)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Found || r.Differing != (Schedule{Scheduler: Random, Seed: 3}) {
		t.Fatalf("found %v, differing %v", r.Found, r.Differing)
	}
	var got *DeadlockError
	if !errors.As(r.Err, &got) || got != dl {
		t.Fatalf("Err = %v, want the deadlock", r.Err)
	}
	if r.FirstDiff != -1 || r.DiffBytes != 0 || r.Output != nil {
		t.Fatalf("FirstDiff %d DiffBytes %d Output %q", r.FirstDiff, r.DiffBytes, r.Output)
	}
	wantTried := []Schedule{{Adversarial, 0}, {Random, 1}, {Random, 2}, {Random, 3}}
	if !slices.Equal(r.Tried, wantTried) {
		t.Fatalf("tried %v, want %v", r.Tried, wantTried)
	}
	// Lockstep, four tried, two replays of random seed 3.
	wantCalls := append([]Schedule{{Lockstep, 0}}, wantTried...)
	wantCalls = append(wantCalls, Schedule{Random, 3}, Schedule{Random, 3})
	if !slices.Equal(f.calls, wantCalls) {
		t.Fatalf("calls %v, want %v", f.calls, wantCalls)
	}
	if r.Replays != 2 || !r.Replayed {
		t.Fatalf("replays %d, replayed %v", r.Replays, r.Replayed)
	}
	s := r.String()
	for _, part := range []string{"random seed 3", "deadlock", "--scheduler random --seed 3", "reproduces it"} {
		if !strings.Contains(s, part) {
			t.Errorf("String() = %q, missing %q", s, part)
		}
	}
	if strings.Contains(s, "\n") || strings.Contains(s, "lanes 16-31") {
		t.Errorf("String() should keep only the error's first line: %q", s)
	}

	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if j["error"] != dl.Error() || j["found"] != true || j["first_diff"] != float64(-1) {
		t.Errorf("JSON %s", b)
	}
	if d, _ := j["differing"].(map[string]any); d["scheduler"] != "random" || d["seed"] != float64(3) {
		t.Errorf("JSON differing %v", j["differing"])
	}
	if bytes.Contains(b, []byte("Reference")) || bytes.Contains(b, []byte("Output")) || bytes.Contains(b, []byte(`"same"`)) {
		t.Errorf("JSON dumps byte slices: %s", b)
	}
}

func TestSearchSchedulesOutputDiffers(t *testing.T) {
	// Adversarial gives a longer output that differs at byte 2: one changed
	// byte and two extra.
	f := &searchFake{f: func(s Schedule, _ int) ([]byte, error) {
		if s.Scheduler == Adversarial {
			return []byte("abXdefgh"), nil
		}
		return []byte("abcdef"), nil
	}}
	r, err := SearchSchedules(3, f.run)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Found || r.Differing != (Schedule{Scheduler: Adversarial}) || r.Err != nil {
		t.Fatalf("found %v differing %v err %v", r.Found, r.Differing, r.Err)
	}
	if r.FirstDiff != 2 || r.DiffBytes != 3 || string(r.Output) != "abXdefgh" || string(r.Reference) != "abcdef" {
		t.Fatalf("FirstDiff %d DiffBytes %d Output %q Reference %q", r.FirstDiff, r.DiffBytes, r.Output, r.Reference)
	}
	if len(r.Tried) != 1 || len(f.calls) != 4 {
		t.Fatalf("tried %v, calls %v", r.Tried, f.calls)
	}
	if got := r.ReplayFlags(); got != "--scheduler adversarial" {
		t.Errorf("ReplayFlags() = %q", got)
	}
	if s := r.String(); !strings.Contains(s, "under adversarial (first at byte 2, 3 bytes differ") ||
		!strings.HasSuffix(s, "replay --scheduler adversarial reproduces it") {
		t.Errorf("String() = %q", s)
	}
}

func TestSearchSchedulesNotReplayed(t *testing.T) {
	// Random seed 1 gives a new output on every call: not deterministic.
	f := &searchFake{f: func(s Schedule, call int) ([]byte, error) {
		if s.Scheduler == Random {
			return []byte{byte(call)}, nil
		}
		return []byte{0}, nil
	}}
	r, err := SearchSchedules(2, f.run)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Found || r.Differing != (Schedule{Scheduler: Random, Seed: 1}) || r.Replays != 2 || r.Replayed {
		t.Fatalf("found %v differing %v replays %d replayed %v", r.Found, r.Differing, r.Replays, r.Replayed)
	}
	if s := r.String(); strings.Contains(s, "reproduces it") || !strings.Contains(s, "not deterministic") {
		t.Errorf("String() = %q", s)
	}
	// Errors whose text changes between runs do not replay either.
	f = &searchFake{f: func(s Schedule, call int) ([]byte, error) {
		if s.Scheduler == Adversarial {
			return nil, fmt.Errorf("fault %d", call)
		}
		return []byte{0}, nil
	}}
	if r, err = SearchSchedules(0, f.run); err != nil || !r.Found || r.Replayed {
		t.Fatalf("err %v, found %v, replayed %v", err, r.Found, r.Replayed)
	}
}

func TestSearchSchedulesLockstepFails(t *testing.T) {
	fault := &FaultError{Kernel: "k", Kind: "out of bounds"}
	f := &searchFake{f: func(s Schedule, _ int) ([]byte, error) {
		if s.Scheduler == Lockstep {
			return nil, fault
		}
		return []byte("x"), nil
	}}
	r, err := SearchSchedules(4, f.run)
	if err == nil || !errors.Is(err, fault) || r != nil {
		t.Fatalf("result %v, err %v; want the lockstep fault", r, err)
	}
	if len(f.calls) != 1 {
		t.Errorf("ran %v after the reference failed", f.calls)
	}
}

// TestSearchSchedulesManySeeds: seeds costs only the runs made, so a huge
// count that stops at its first candidate allocates nothing for the rest.
func TestSearchSchedulesManySeeds(t *testing.T) {
	f := &searchFake{f: func(s Schedule, _ int) ([]byte, error) {
		if s.Scheduler == Random && s.Seed == 2 {
			return []byte("b"), nil
		}
		return []byte("a"), nil
	}}
	r, err := SearchSchedules(1<<50, f.run)
	if err != nil || !r.Found || r.Differing != (Schedule{Scheduler: Random, Seed: 2}) || len(r.Tried) != 3 {
		t.Fatalf("seeds 2^50: %v, %v", r, err)
	}
}

// TestSearchSchedulesTimeout: a run stopped by the wall clock says nothing
// about its schedule: the search stops with an error instead of calling
// it a difference, whether the candidate or a replay of it timed out.
func TestSearchSchedulesTimeout(t *testing.T) {
	to := &TimeoutError{Kernel: "k", Timeout: time.Second, Elapsed: time.Second}
	for _, timeoutCall := range []int{3, 5} { // random seed 1; its second replay (calls count from 1: lockstep, adversarial, ...)
		f := &searchFake{f: func(s Schedule, call int) ([]byte, error) {
			switch {
			case call == timeoutCall:
				return nil, to
			case s.Scheduler == Random && s.Seed == 1:
				return []byte("b"), nil
			}
			return []byte("a"), nil
		}}
		r, err := SearchSchedules(3, f.run)
		if r != nil || !errors.Is(err, to) || !strings.Contains(err.Error(), "random seed 1 stopped at the wall-clock timeout") {
			t.Errorf("timeout at call %d: %v, %v; want the timeout as the search's error", timeoutCall, r, err)
		}
		if len(f.calls) != timeoutCall {
			t.Errorf("timeout at call %d: ran %v after it", timeoutCall, f.calls)
		}
	}
}

func TestSearchSchedulesNegativeSeeds(t *testing.T) {
	f := &searchFake{f: func(Schedule, int) ([]byte, error) { return nil, nil }}
	if r, err := SearchSchedules(-1, f.run); err == nil || r != nil {
		t.Fatalf("seeds -1: result %v, err %v", r, err)
	}
	if len(f.calls) != 0 {
		t.Errorf("ran %v", f.calls)
	}
	// seeds 0: only adversarial.
	r, err := SearchSchedules(0, f.run)
	if err != nil || r.Found || len(r.Tried) != 1 {
		t.Fatalf("seeds 0: %v, %v", r, err)
	}
	if got, w := r.String(), "no differing output in 1 schedule (adversarial only)"; got != w {
		t.Errorf("String() = %q, want %q", got, w)
	}
	r, _ = SearchSchedules(1, f.run)
	if got, w := r.String(), "no differing output in 2 schedules (adversarial and random seed 1)"; got != w {
		t.Errorf("String() = %q, want %q", got, w)
	}
}

func TestScheduleStringConfigJSON(t *testing.T) {
	for _, c := range []struct {
		s           Schedule
		name, flags string
	}{
		{Schedule{Lockstep, 0}, "lockstep", "--scheduler lockstep"},
		{Schedule{Adversarial, 0}, "adversarial", "--scheduler adversarial"},
		{Schedule{RoundRobin, 0}, "roundrobin", "--scheduler roundrobin"},
		{Schedule{Random, 7}, "random seed 7", "--scheduler random --seed 7"},
		{Schedule{Adversarial, 3}, "adversarial seed 3", "--scheduler adversarial --seed 3"},
	} {
		if got := c.s.String(); got != c.name {
			t.Errorf("%#v.String() = %q, want %q", c.s, got, c.name)
		}
		if got := c.s.Flags(); got != c.flags {
			t.Errorf("%#v.Flags() = %q, want %q", c.s, got, c.flags)
		}
		b, err := json.Marshal(c.s)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`{"scheduler":%q,"seed":%d}`, c.s.Scheduler.String(), c.s.Seed)
		if string(b) != want {
			t.Errorf("JSON %s, want %s", b, want)
		}
		var back Schedule
		if err := json.Unmarshal(b, &back); err != nil || back != c.s {
			t.Errorf("unmarshal %s: %v, %v", b, back, err)
		}
	}
	if err := json.Unmarshal([]byte(`{"scheduler":"fifo"}`), new(Schedule)); err == nil {
		t.Error("unknown scheduler name accepted")
	}
	cfg := LaunchConfig{Grid: Dim3{2, 1, 1}, Block: Dim3{64, 1, 1}, MaxInstructions: 99, Check: true, Workers: 8}
	got := Schedule{Random, 11}.Config(cfg)
	want := cfg
	want.Scheduler, want.Seed, want.Workers = Random, 11, 1 // a schedule runs on one worker
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Config: %+v, want %+v", got, want)
	}
}

func TestScheduleNamesOnlyUsefulSeeds(t *testing.T) {
	for s, want := range map[Schedule]string{
		{Lockstep, 1}:    "lockstep",
		{RoundRobin, 9}:  "roundrobin",
		{Adversarial, 0}: "adversarial",
		{Adversarial, 3}: "adversarial seed 3",
		{Random, 0}:      "random seed 0",
		{Random, 7}:      "random seed 7",
	} {
		if got := s.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", s, got, want)
		}
	}
	if got := (Schedule{Lockstep, 5}).Flags(); got != "--scheduler lockstep" {
		t.Errorf("lockstep flags %q", got)
	}
}
