package traceevent_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/cpuemu/traceevent"
)

// The expectations here are derived by hand from the kernels and the
// Trace Event Format: an "X" slice has ts and dur in microseconds, an "M"
// event names a process or thread (process_name, thread_name, their
// sort_index), a flow is an "s" and an "f" with one id, name and cat, the
// "s" binding to the slice that encloses it and the "f" with "bp":"e" to
// the slice that encloses it; an "i" instant has a scope s of "g", "p"
// or "t".

// The kernels are those of ../testdata/trace, which cpuemu's own trace
// tests run too (their README says what each does). tiny.ptx: in entry
// tiny, two lanes store to one shared word in one lockstep issue (an
// intra-warp WAW), part at an if, meet at bar.warp.sync from its two arms,
// then at bar.sync.

// ptxFile is the text of a kernel file of ../testdata/trace.
func ptxFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/trace/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trace runs kernel under the checker, traced, and writes its trace.
func trace(t *testing.T, kernel string, block uint32, limit int) ([]byte, *cpuemu.Result) {
	t.Helper()
	m, err := cpuemu.Load("tiny.ptx", ptxFile(t, "tiny.ptx"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 1, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: block, Y: 1, Z: 1}, Check: true, Trace: true, TraceLimit: limit}
	res, _ := m.Launch(cpuemu.NewDevice(), kernel, cfg)
	if res == nil || res.Report == nil {
		t.Fatalf("%s: no result or report", kernel)
	}
	var b bytes.Buffer
	if err := traceevent.Write(&b, traceevent.FromResult(res)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), res
}

type ev = map[string]any

// parse reads a trace back, checks every event's fields against the
// format (checkEvents), and describes the events as lines to compare:
// flows by their two ends, matched by id.
func parse(t *testing.T, b []byte) (lines []string, events []ev) {
	t.Helper()
	var doc struct {
		TraceEvents []ev           `json:"traceEvents"`
		OtherData   map[string]any `json:"otherData"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	if doc.TraceEvents == nil {
		t.Fatal("no traceEvents array")
	}
	checkEvents(t, doc.TraceEvents)
	starts := map[float64]ev{}
	for _, e := range doc.TraceEvents {
		switch e["ph"] {
		case "M":
			a, _ := json.Marshal(e["args"])
			lines = append(lines, fmt.Sprintf("M %v pid=%v tid=%v %s", e["name"], e["pid"], e["tid"], a))
		case "X":
			lines = append(lines, fmt.Sprintf("X %v %v ts=%v dur=%v pid=%v tid=%v", e["cat"], e["name"], e["ts"], e["dur"], e["pid"], e["tid"]))
		case "i":
			lines = append(lines, fmt.Sprintf("i %v %v ts=%v s=%v pid=%v tid=%v", e["cat"], e["name"], e["ts"], e["s"], e["pid"], e["tid"]))
		case "s":
			starts[e["id"].(float64)] = e
		}
	}
	for _, e := range doc.TraceEvents {
		if e["ph"] != "f" {
			continue
		}
		s := starts[e["id"].(float64)]
		lines = append(lines, fmt.Sprintf("flow %v %v %v/%v@%v -> %v/%v@%v", e["cat"], e["name"], s["pid"], s["tid"], s["ts"], e["pid"], e["tid"], e["ts"]))
	}
	slices.Sort(lines)
	return lines, doc.TraceEvents
}

// errorf is what checkEvents reports to: a test, or a recorder.
type errorf interface {
	Helper()
	Errorf(format string, args ...any)
}

type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func num(e ev, key string) float64 {
	v, _ := e[key].(float64)
	return v
}

// checkEvents checks what the format asks of every event, and that each
// flow end lies inside a slice of its own track to bind to, the start no
// later than the end.
func checkEvents(t errorf, events []ev) {
	t.Helper()
	type track struct{ pid, tid float64 }
	slicesOf := map[track][][2]float64{}
	for _, e := range events {
		for _, f := range []string{"name", "ph", "ts", "pid", "tid"} {
			if _, ok := e[f]; !ok {
				t.Errorf("event without %q: %v", f, e)
			}
		}
		for _, f := range []string{"ts", "pid", "tid"} {
			if _, ok := e[f].(float64); !ok {
				t.Errorf("event's %q is not a number: %v", f, e)
			}
		}
		switch ph := e["ph"]; ph {
		case "M":
			args, _ := e["args"].(map[string]any)
			switch e["name"] {
			case "process_name", "thread_name":
				if _, ok := args["name"].(string); !ok {
					t.Errorf("%v without args.name: %v", e["name"], e)
				}
			case "process_sort_index", "thread_sort_index":
				if _, ok := args["sort_index"].(float64); !ok {
					t.Errorf("%v without args.sort_index: %v", e["name"], e)
				}
			default:
				t.Errorf("unknown metadata event %v", e)
			}
		case "X":
			d, ok := e["dur"].(float64)
			if !ok || d <= 0 {
				t.Errorf("complete event without a positive dur: %v", e)
			}
			k := track{num(e, "pid"), num(e, "tid")}
			slicesOf[k] = append(slicesOf[k], [2]float64{num(e, "ts"), num(e, "ts") + d})
		case "s", "f":
			if _, ok := e["id"].(float64); !ok {
				t.Errorf("flow event without an id: %v", e)
			}
			if _, ok := e["cat"].(string); !ok {
				t.Errorf("flow event without a cat: %v", e)
			}
			if ph == "f" && e["bp"] != "e" {
				t.Errorf("flow end not bound to its enclosing slice (bp \"e\"): %v", e)
			}
		case "i":
			if s := e["s"]; s != "g" && s != "p" && s != "t" {
				t.Errorf("instant event with scope %v: %v", s, e)
			}
		default:
			t.Errorf("unexpected phase %v: %v", ph, e)
		}
	}
	// No two slices of a track overlap (they would nest, and a flow
	// would bind to the inner one).
	for k, ss := range slicesOf {
		slices.SortFunc(ss, func(a, b [2]float64) int { return int((a[0] - b[0]) * 1e6) })
		for i := 1; i < len(ss); i++ {
			if ss[i][0] < ss[i-1][1] {
				t.Errorf("track %v: slices %v and %v overlap", k, ss[i-1], ss[i])
			}
		}
	}
	inSlice := func(e ev) bool {
		for _, s := range slicesOf[track{num(e, "pid"), num(e, "tid")}] {
			if ts := num(e, "ts"); s[0] <= ts && ts < s[1] {
				return true
			}
		}
		return false
	}
	ends := map[float64][]ev{}
	for _, e := range events {
		if e["ph"] == "s" || e["ph"] == "f" {
			if !inSlice(e) {
				t.Errorf("flow event outside any slice of its track: %v", e)
			}
			ends[num(e, "id")] = append(ends[num(e, "id")], e)
		}
	}
	for id, es := range ends {
		if len(es) != 2 || es[0]["ph"] != "s" || es[1]["ph"] != "f" || es[0]["name"] != es[1]["name"] || es[0]["cat"] != es[1]["cat"] {
			t.Errorf("flow %v is not one start then one end of one name and category: %v", id, es)
			continue
		}
		if num(es[0], "ts") > num(es[1], "ts") {
			t.Errorf("flow %v ends before it starts: %v", id, es)
		}
	}
}

// TestWriteTiny: the exact trace of tiny.ptx's tiny under lockstep.
func TestWriteTiny(t *testing.T) {
	b, res := trace(t, "tiny", 2, 0)
	if len(res.Report.Hazards) != 1 {
		t.Fatalf("want the one WAW hazard, got %+v", res.Report.Hazards)
	}
	got, _ := parse(t, b)
	// The schedule, by hand (a step per issue, from 1): 1 mov, 2 st
	// (both lanes: the WAW, lane 0 first), 3 setp, 4 the branch (lane 0
	// alone, whose guard holds; lockstep parks it at ZERO and follows
	// lane 1, at the lower PC), 5 lane 1's bar.warp.sync (lane 0, in its
	// mask, is missing: it waits), 6 lane 0's bar.warp.sync at ZERO
	// (both are there: released in that step), 7 lane 1's bra.uni, 8
	// bar.sync by both, merged at DONE (the block's one warp is in:
	// released in that step), 9 ret (the emulator's exit).
	// Tracks: pid 1 is block (0,0,0); tid 1 its barriers, tid 2 lane 0,
	// tid 3 lane 1.
	want := []string{
		`M process_name pid=1 tid=1 {"name":"block (0,0,0)"}`,
		`M process_sort_index pid=1 tid=1 {"sort_index":1}`,
		`M thread_name pid=1 tid=1 {"name":"barriers"}`,
		`M thread_sort_index pid=1 tid=1 {"sort_index":0}`,
		`M thread_name pid=1 tid=2 {"name":"warp 0 lane 0"}`,
		`M thread_sort_index pid=1 tid=2 {"sort_index":1}`,
		`M thread_name pid=1 tid=3 {"name":"warp 0 lane 1"}`,
		`M thread_sort_index pid=1 tid=3 {"sort_index":2}`,
	}
	for _, s := range []struct {
		step  int
		lanes []int
		op    string
	}{
		{1, []int{0, 1}, "mov"}, {2, []int{0, 1}, "st.shared"}, {3, []int{0, 1}, "setp"},
		{4, []int{0}, "bra"}, {5, []int{1}, "bar.warp.sync"}, {6, []int{0}, "bar.warp.sync"},
		{7, []int{1}, "bra"}, {8, []int{0, 1}, "bar"}, {9, []int{0, 1}, "exit"},
	} {
		for _, lane := range s.lanes {
			want = append(want, fmt.Sprintf("X instr %s ts=%d dur=1 pid=1 tid=%d", s.op, s.step, 2+lane))
		}
	}
	want = append(want,
		// Releases fill the second half of their step.
		"X sync bar.warp.sync release (warp 0) ts=6.5 dur=0.5 pid=1 tid=1",
		"X sync barrier 0 release ts=8.5 dur=0.5 pid=1 tid=1",
		// Arrows from each arrival (a quarter past) to the release's middle.
		"flow sync bar.warp.sync 1/3@5.25 -> 1/1@6.75",
		"flow sync bar.warp.sync 1/2@6.25 -> 1/1@6.75",
		"flow sync barrier 0 1/2@8.25 -> 1/1@8.75",
		"flow sync barrier 0 1/3@8.25 -> 1/1@8.75",
		// The WAW: lane 0's store, then lane 1's, both at step 2.
		"i hazard WAW hazard (intra-warp) ts=2.75 s=t pid=1 tid=3",
		"flow hazard WAW hazard (intra-warp) 1/2@2.25 -> 1/3@2.5",
	)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("trace events\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestWriteHazardArgs: the instant carries both sites of the hazard.
func TestWriteHazardArgs(t *testing.T) {
	b, _ := trace(t, "tiny", 2, 0)
	_, events := parse(t, b)
	var args map[string]any
	for _, e := range events {
		if e["ph"] == "i" {
			args, _ = e["args"].(map[string]any)
		}
	}
	prior, _ := args["prior"].(map[string]any)
	later, _ := args["later"].(map[string]any)
	// Line 12 of tiny.ptx is the st.shared; lane 0 writes first.
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"type", args["type"], "WAW"}, {"scope", args["scope"], "intra-warp"}, {"space", args["space"], "shared"},
		{"addr", args["addr"], "0x0"}, {"size", args["size"], 4.0}, {"severity", args["severity"], "error"},
		{"prior kind", prior["kind"], "Write"}, {"prior lane", prior["lane"], 0.0}, {"prior line", prior["ptx_line"], 12.0},
		{"later kind", later["kind"], "Write"}, {"later lane", later["lane"], 1.0}, {"later line", later["ptx_line"], 12.0},
		{"later thread", later["thread"], "(1,0,0)"}, {"later instr", later["instr"], "st.shared"},
	} {
		if c.got != c.want {
			t.Errorf("hazard %s: %v, want %v", c.what, c.got, c.want)
		}
	}
}

// TestWriteHalves: two bar.warp.sync groups (lanes 0-15 with mask
// 0x0000ffff, 16-31 with 0xffff0000) arrive in one issue and are released
// in that step: two release slices share its second half, lanes 0-15's
// first (the rendezvous completes groups from the lowest lane), and each
// lane's arrow goes to its own group's release.
func TestWriteHalves(t *testing.T) {
	b, _ := trace(t, "halves", 32, 0)
	got, _ := parse(t, b)
	var rel, flows []string
	for _, l := range got {
		switch {
		case strings.HasPrefix(l, "X sync"):
			rel = append(rel, l)
		case strings.HasPrefix(l, "flow"):
			flows = append(flows, l)
		}
	}
	// Steps: 1 mov, 2 setp, 3 selp, 4 bar.warp.sync. tid 1 is the
	// barriers track, lane L is tid 2+L.
	wantRel := []string{
		"X sync bar.warp.sync release (warp 0) ts=4.5 dur=0.25 pid=1 tid=1",
		"X sync bar.warp.sync release (warp 0) ts=4.75 dur=0.25 pid=1 tid=1",
	}
	var wantFlows []string
	for lane := range 32 {
		end := "4.625"
		if lane >= 16 {
			end = "4.875"
		}
		wantFlows = append(wantFlows, fmt.Sprintf("flow sync bar.warp.sync 1/%d@4.25 -> 1/1@%s", 2+lane, end))
	}
	slices.Sort(wantFlows)
	if !slices.Equal(rel, wantRel) {
		t.Errorf("releases\n got %q\nwant %q", rel, wantRel)
	}
	if !slices.Equal(flows, wantFlows) {
		t.Errorf("flows\n got %q\nwant %q", flows, wantFlows)
	}
}

// TestWriteTruncated: a trace cut before the hazard's later access shows
// the hazard as a global instant that says so, and draws no arrow to a
// release it did not keep.
func TestWriteTruncated(t *testing.T) {
	b, _ := trace(t, "tiny", 2, 3) // mov, mov, lane 0's st
	got, events := parse(t, b)
	for _, l := range got {
		if strings.HasPrefix(l, "flow") || strings.HasPrefix(l, "X sync") {
			t.Errorf("truncated trace draws %s", l)
		}
	}
	n := 0
	for _, e := range events {
		if e["ph"] != "i" {
			continue
		}
		n++
		args, _ := e["args"].(map[string]any)
		if e["s"] != "g" || args["traced"] != false {
			t.Errorf("untraced hazard: %v, want a global instant with traced false", e)
		}
	}
	if n != 1 {
		t.Errorf("%d instants, want 1", n)
	}
}

// TestParseRejects: the checks reject what the format does not allow,
// so that the tests above can fail.
func TestParseRejects(t *testing.T) {
	for _, bad := range []string{
		`[{"name":"a","ph":"X","ts":1,"pid":1,"tid":1}]`,                                                        // no dur
		`[{"name":"a","ph":"f","ts":1,"pid":1,"tid":1,"id":1,"cat":"c"}]`,                                       // no bp, no slice
		`[{"name":"a","ph":"i","ts":1,"pid":1,"tid":1,"s":"x"}]`,                                                // bad scope
		`[{"name":"a","ph":"X","ts":1,"dur":1,"pid":1},{"name":"a","ph":"X","ts":1.5,"dur":1,"pid":1,"tid":1}]`, // no tid; overlap
	} {
		var events []ev
		if err := json.Unmarshal([]byte(bad), &events); err != nil {
			t.Fatal(err)
		}
		var r recorder
		checkEvents(&r, events)
		if len(r.errs) == 0 {
			t.Errorf("accepted %s", bad)
		}
	}
}

// mbcp.ptx: two lanes each copy 16 bytes into shared memory with
// cp.async, make phase 0 of the mbarrier bar (shared offset 0) wait for
// the copies (cp.async.mbarrier.arrive), wait for them, then arrive on bar
// and wait for the phase.

// TestWriteMbarrier: a completed mbarrier phase is a release slice on the
// barriers track with an arrow from each arrive-on: the lanes'
// mbarrier.arrive, and the arrive-ons their cp.async.mbarrier.arrive
// triggered, from that instruction. Copies draw nothing of their own.
func TestWriteMbarrier(t *testing.T) {
	m, err := cpuemu.Load("mbcp.ptx", ptxFile(t, "mbcp.ptx"))
	if err != nil {
		t.Fatal(err)
	}
	dev := cpuemu.NewDevice()
	src, err := dev.Alloc(32)
	if err != nil {
		t.Fatal(err)
	}
	cfg := cpuemu.LaunchConfig{Grid: cpuemu.Dim3{X: 1, Y: 1, Z: 1}, Block: cpuemu.Dim3{X: 2, Y: 1, Z: 1}, Check: true, Trace: true}
	res, err := m.Launch(dev, "mbcp", cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := traceevent.Write(&b, traceevent.FromResult(res)); err != nil {
		t.Fatal(err)
	}
	got, _ := parse(t, b.Bytes())
	var syncs []string
	for _, l := range got {
		if strings.HasPrefix(l, "X sync") || strings.HasPrefix(l, "flow") || strings.HasPrefix(l, "M thread_name") {
			syncs = append(syncs, l)
		}
	}
	// Steps by hand (lockstep, a step per instruction from 1): 10
	// cp.async, 11 cp.async.mbarrier.arrive, 13 wait_group 0 (the copies
	// land, the arrive-ons they held back follow), 14 mbarrier.arrive by
	// both lanes, the second arrival completing phase 0 (the pending count
	// 2 + 2 increments - 2 arrive-ons at the landing - 2 = 0). tid 1 is the
	// barriers track, lane L tid 2+L.
	want := []string{
		`M thread_name pid=1 tid=1 {"name":"barriers"}`,
		`M thread_name pid=1 tid=2 {"name":"warp 0 lane 0"}`,
		`M thread_name pid=1 tid=3 {"name":"warp 0 lane 1"}`,
		"X sync mbarrier 0x0 phase 0 complete ts=14.5 dur=0.5 pid=1 tid=1",
		"flow sync mbarrier 0x0 (cp.async.mbarrier.arrive) 1/2@11.25 -> 1/1@14.75",
		"flow sync mbarrier 0x0 (cp.async.mbarrier.arrive) 1/3@11.25 -> 1/1@14.75",
		"flow sync mbarrier 0x0 1/2@14.25 -> 1/1@14.75",
		"flow sync mbarrier 0x0 1/3@14.25 -> 1/1@14.75",
	}
	slices.Sort(want)
	if !slices.Equal(syncs, want) {
		t.Errorf("mbarrier events\n got:\n  %s\nwant:\n  %s", strings.Join(syncs, "\n  "), strings.Join(want, "\n  "))
	}
}
