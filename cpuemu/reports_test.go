package cpuemu_test

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/cpuemu"
)

// TestReportGolden runs the data-driven cases of testdata/reports, in
// the manner of etcd raft's: each file is a list of commands, each
// followed by a line "----" and the output it must give, which ends at a
// blank line. Comments (#) say why each output is right; -update rewrites
// the outputs and keeps the commands and the comments. The commands:
//
//	load file=PATH | kernel=NAME   the module to launch from: a PTX file (from cpuemu/), or a kernel of the kernels package
//	report ARGS                    a checked launch's report, as JSON
//	text ARGS                      the same report as Report.WriteText writes it
//	deadlock ARGS                  the *DeadlockError a checked launch stops with
//
// where ARGS are kernel=NAME grid=N block=N args=LIST, and optionally
// sched=lockstep|roundrobin|adversarial|random (lockstep by default) and
// seed=N. LIST is comma-separated: zeros:N (a buffer of N zero words),
// iota:N (N words 0, 1, ...) or u32:V (a scalar). Each launch has a new
// device, so addresses are the same in every run.
func TestReportGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/reports/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/reports/*.txt: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runReportFile(t, f) })
	}
}

// reportCase is one command of a file, with the lines before it (comments
// and blank lines) and the output it must give.
type reportCase struct {
	before []string
	cmd    string
	line   int // of cmd, 1-based
	want   string
}

func parseReportFile(t *testing.T, path string) (cases []reportCase, tail []string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(src), "\n"), "\n")
	var before []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" || strings.HasPrefix(l, "#") {
			before = append(before, l)
			continue
		}
		c := reportCase{before: before, cmd: l, line: i + 1}
		before = nil
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s:%d: %q is not followed by ----", path, i+1, l)
		}
		i += 2
		var out []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		c.want = strings.Join(out, "\n")
		cases = append(cases, c)
	}
	return cases, before
}

func runReportFile(t *testing.T, path string) {
	cases, tail := parseReportFile(t, path)
	var m *cpuemu.Module
	var b strings.Builder
	for _, c := range cases {
		got, err := runReportCmd(t, &m, c.cmd)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", path, c.line, c.cmd, err)
		}
		for _, l := range c.before {
			b.WriteString(l + "\n")
		}
		b.WriteString(c.cmd + "\n----\n" + got + "\n\n")
		if !*update && got != c.want {
			t.Errorf("%s:%d: %s: got\n%s\nwant\n%s\n(run with -update and review the diff)", path, c.line, c.cmd, got, c.want)
		}
	}
	for _, l := range tail {
		b.WriteString(l + "\n")
	}
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func runReportCmd(t *testing.T, m **cpuemu.Module, cmd string) (string, error) {
	fields := strings.Fields(cmd)
	kv := map[string]string{}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return "", fmt.Errorf("argument %q is not key=value", f)
		}
		kv[k] = v
	}
	if fields[0] == "load" {
		var err error
		switch {
		case kv["file"] != "":
			var src []byte
			if src, err = os.ReadFile(kv["file"]); err == nil {
				*m, err = cpuemu.Load(filepath.Base(kv["file"]), src)
			}
		case kv["kernel"] != "":
			*m, err = cpuemu.LoadKernel(kv["kernel"])
		default:
			return "", errors.New("load needs file= or kernel=")
		}
		if err != nil {
			return "", err
		}
		var names []string
		for _, e := range (*m).Entries() {
			names = append(names, e.Name)
		}
		return "entries: " + strings.Join(names, " "), nil
	}
	if *m == nil {
		return "", errors.New("no module: load one first")
	}
	rep, err := reportLaunch(*m, kv)
	if err != nil {
		return "", err
	}
	switch fields[0] {
	case "report":
		j, err := json.Marshal(rep)
		if err != nil {
			return "", err
		}
		return foldJSON(j)
	case "text":
		var b strings.Builder
		err := rep.WriteText(&b)
		return strings.TrimRight(b.String(), "\n"), err
	case "deadlock":
		var dl *cpuemu.DeadlockError
		if !errors.As(rep.Fatal, &dl) {
			return "", fmt.Errorf("the launch did not deadlock: fatal error %v", rep.Fatal)
		}
		return dl.Error(), nil
	}
	return "", fmt.Errorf("unknown command %s", fields[0])
}

// racesPTX loads testdata/races/races.ptx, the catalogue of races.cu.
func racesPTX(t *testing.T) *cpuemu.Module {
	t.Helper()
	src, err := os.ReadFile("testdata/races/races.ptx")
	if err != nil {
		t.Fatal(err)
	}
	return ptLoad(t, "races.ptx", string(src))
}

// reportLaunch launches kv's kernel with the checker on and returns its
// report.
func reportLaunch(m *cpuemu.Module, kv map[string]string) (*cpuemu.Report, error) {
	num := func(k string, def uint64) (uint64, error) {
		s, ok := kv[k]
		if !ok {
			return def, nil
		}
		return strconv.ParseUint(s, 0, 64)
	}
	grid, err1 := num("grid", 1)
	block, err2 := num("block", 32)
	seed, err3 := num("seed", 0)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	sched := cpuemu.Lockstep
	if s, ok := kv["sched"]; ok {
		var err error
		if sched, err = cpuemu.ParseScheduler(s); err != nil {
			return nil, err
		}
	}
	d := cpuemu.NewDevice()
	var args []any
	for _, a := range strings.Split(kv["args"], ",") {
		if a == "" {
			continue
		}
		kind, n, _ := strings.Cut(a, ":")
		v, err := strconv.ParseUint(n, 0, 32)
		if err != nil {
			return nil, fmt.Errorf("argument %q: %v", a, err)
		}
		if kind == "u32" {
			args = append(args, uint32(v))
			continue
		}
		words := make([]byte, 4*max(v, 1))
		switch kind {
		case "zeros":
		case "iota":
			for i := range v {
				binary.LittleEndian.PutUint32(words[4*i:], uint32(i))
			}
		default:
			return nil, fmt.Errorf("argument %q: want zeros:N, iota:N or u32:V", a)
		}
		p, err := d.Alloc(len(words))
		if err == nil {
			err = d.Write(p, words)
		}
		if err != nil {
			return nil, err
		}
		args = append(args, p)
	}
	cfg := cpuemu.LaunchConfig{
		Grid:      cpuemu.Dim3{X: uint32(grid), Y: 1, Z: 1},
		Block:     cpuemu.Dim3{X: uint32(block), Y: 1, Z: 1},
		Scheduler: sched, Seed: seed, Check: true,
	}
	res, err := m.Launch(d, kv["kernel"], cfg, args...)
	if res != nil && res.Report != nil {
		return res.Report, nil
	}
	var ce *cpuemu.CheckError
	if errors.As(err, &ce) {
		return ce.Report, nil
	}
	return nil, fmt.Errorf("no checker report (launch error: %v)", err)
}

// foldJSON indents JSON text by two spaces a level, but writes each
// object or array that fits in foldWidth characters on one line, keys in
// the order they came.
func foldJSON(j []byte) (string, error) {
	dec := json.NewDecoder(strings.NewReader(string(j)))
	dec.UseNumber()
	v, err := readJSON(dec)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	v.write(&b, "")
	return b.String(), nil
}

const foldWidth = 100

// jsonValue is a JSON value with its object keys in order: a scalar
// (compact text), or an object or array of elements.
type jsonValue struct {
	scalar string
	open   byte // '{' or '[' for an object or array
	keys   []string
	elems  []jsonValue
}

func readJSON(dec *json.Decoder) (jsonValue, error) {
	tok, err := dec.Token()
	if err != nil {
		return jsonValue{}, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		s, err := json.Marshal(tok)
		return jsonValue{scalar: string(s)}, err
	}
	v := jsonValue{open: byte(d)}
	for dec.More() {
		if v.open == '{' {
			k, err := dec.Token()
			if err != nil {
				return v, err
			}
			v.keys = append(v.keys, k.(string))
		}
		e, err := readJSON(dec)
		if err != nil {
			return v, err
		}
		v.elems = append(v.elems, e)
	}
	_, err = dec.Token() // the closing delimiter
	return v, err
}

func (v jsonValue) compact() string {
	if v.open == 0 {
		return v.scalar
	}
	var parts []string
	for i, e := range v.elems {
		p := e.compact()
		if v.open == '{' {
			p = strconv.Quote(v.keys[i]) + ": " + p
		}
		parts = append(parts, p)
	}
	if v.open == '{' {
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (v jsonValue) write(b *strings.Builder, indent string) {
	if c := v.compact(); v.open == 0 || len(indent)+len(c) <= foldWidth {
		b.WriteString(c)
		return
	}
	b.WriteByte(v.open)
	for i, e := range v.elems {
		b.WriteString("\n" + indent + "  ")
		if v.open == '{' {
			b.WriteString(strconv.Quote(v.keys[i]) + ": ")
		}
		e.write(b, indent+"  ")
		if i < len(v.elems)-1 {
			b.WriteByte(',')
		}
	}
	b.WriteString("\n" + indent + string(v.open+2)) // '{'+2 is '}', '['+2 is ']'
}
