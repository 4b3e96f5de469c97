package cpuemu

import (
	"go/ast"
	"go/parser"
	"go/token"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/kernels"
)

// modeTableCounts pairs every mode table with the count of its type's
// constants, so that a value added without a name is caught.
var modeTableCounts = []struct {
	t *modeTable
	n int
}{
	{&roundingModes, int(roundingCount)},
	{&mulModes, int(mulModeCount)},
	{&carryModes, int(carryModeCount)},
	{&clampModes, int(clampModeCount)},
	{&shfDirModes, int(shfDirCount)},
	{&dotModes, int(dotModeCount)},
	{&prmtModes, int(prmtModeCount)},
	{&halfFnModes, int(halfFnCount)},
	{&cmpModes, int(cmpCount)},
	{&boolModes, int(boolModeCount)},
	{&floatFnModes, int(floatFnCount)},
	{&testpModes, int(testpModeCount)},
	{&clockModes, int(clockRegCount)},
	{&atomModes, int(atomCount)},
	{&shflModes, int(shflModeCount)},
	{&voteModes, int(voteModeCount)},
	{&matchModes, int(matchModeCount)},
	{&mbarModes, int(mbarOpCount)},
	{&copyModes, int(copyModeCount)},
	{&asyncCtlModes, int(asyncCtlCount)},
	{&reduxModes, int(reduxOpCount)},
	{&barRedModes, int(barRedCount)},
	{&builtinModes, int(builtinCount)},
	{&semModes, int(semCount)},
	{&scopeModes, int(scopeCount)},
}

// TestOpTable: every opcode has a name, an executor that has it among its
// cases, and mode tables whose every value has a name.
func TestOpTable(t *testing.T) {
	// Names and executors.
	seen := map[string]opcode{}
	for c := opcode(0); c < opCount; c++ {
		info := opTable[c]
		if info.name == "" || c.String() == "op?" {
			t.Errorf("opcode %d has no name", c)
		}
		if prev, dup := seen[info.name]; dup {
			t.Errorf("opcodes %d and %d are both named %q", prev, c, info.name)
		}
		seen[info.name] = c
		if info.exec == 0 {
			t.Errorf("opcode %d (%q) has no executor", c, info.name)
		}
	}
	consts := opcodeConsts(t)
	if len(consts) != int(opCount) {
		t.Fatalf("ir.go declares %d opcodes before opCount, opCount is %d", len(consts), opCount)
	}
	loop := caseOpcodes(t, "exec.go", "exec", true)
	alu := caseOpcodes(t, "exec_alu.go", "aluLane", true)
	for c := range caseOpcodes(t, "exec_alu.go", "alu", false) { // opVideo, run before aluLane
		alu[c] = true
	}
	for c, name := range consts {
		switch info := opTable[c]; info.exec {
		case execLoop:
			if !loop[name] {
				t.Errorf("%s is run by warp.exec, which has no case for it", name)
			}
		case execALU:
			if !alu[name] {
				t.Errorf("%s is run by warp.alu, which has no case for it in alu or aluLane", name)
			}
			if loop[name] {
				t.Errorf("%s is run by warp.alu, but warp.exec takes it first", name)
			}
		case execFast:
			if o := newOp(opcode(c), 0); classifyFast(&o) == fastNone {
				t.Errorf("%s is run only as a fast form, but classifyFast gives it none", name)
			}
			if loop[name] {
				t.Errorf("%s is run as a fast form, but warp.exec takes it first", name)
			}
		}
	}
	for name := range loop {
		if c := slices.Index(consts, name); c >= 0 && opTable[c].exec != execLoop {
			t.Errorf("warp.exec has a case for %s, which opTable says %v runs", name, opTable[c].exec)
		}
	}

	// Mode tables: each value of each table has its own name.
	listed := map[*modeTable]bool{quantity: true}
	for _, tc := range modeTableCounts {
		listed[tc.t] = true
		if len(tc.t.names) != tc.n {
			t.Errorf("%s: %d names for %d values", tc.t.kind, len(tc.t.names), tc.n)
		}
		names := map[string]bool{}
		for v, n := range tc.t.names {
			if n == "" || names[n] {
				t.Errorf("%s: value %d is named %q", tc.t.kind, v, n)
			}
			names[n] = true
		}
		if tc.t.quiet < -1 || tc.t.quiet >= len(tc.t.names) {
			t.Errorf("%s: quiet value %d", tc.t.kind, tc.t.quiet)
		}
	}
	for c, info := range opTable {
		for _, mt := range []*modeTable{info.sub, info.sub2} {
			if mt != nil && !listed[mt] {
				t.Errorf("%s takes its modes from the %s table, which modeTableCounts does not check", opcode(c), mt.kind)
			}
		}
	}

	// Flags.
	if len(flagNames) != bits.TrailingZeros(flagEnd) {
		t.Errorf("%d flag names for %d flags", len(flagNames), bits.TrailingZeros(flagEnd))
	}
}

// TestLoweredModes lowers every PTX file of the tests and the kernels
// package and checks every op's modes against opTable: a field that holds
// no mode is 0, one that holds a mode holds a named value.
func TestLoweredModes(t *testing.T) {
	files, err := filepath.Glob("testdata/*/*.ptx")
	if err != nil {
		t.Fatal(err)
	}
	srcs := map[string][]byte{}
	for _, f := range files {
		if srcs[f], err = os.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range kernels.Files() {
		if srcs["kernels/"+f], err = kernels.ReadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	nops := 0
	for f, src := range srcs {
		m, err := Load(filepath.Base(f), src)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, e := range m.Entries() {
			if e.Err != nil {
				continue // an entry the emulator refuses, on purpose
			}
			p, err := m.program(e.Name)
			if err != nil {
				t.Errorf("%s: %s: %v", f, e.Name, err)
				continue
			}
			for i := range p.ops {
				o := &p.ops[i]
				nops++
				info := opTable[o.code]
				for k, v := range [2]uint8{o.sub, o.sub2} {
					field := [2]string{"sub", "sub2"}[k]
					switch mt := [2]*modeTable{info.sub, info.sub2}[k]; {
					case mt == nil && v != 0:
						t.Errorf("%s: %s op %d (ptx %d, %s): %s is %d, but %s keeps nothing there", f, e.Name, i, o.line, o.code, field, v, o.code)
					case mt != nil && mt != quantity && int(v) >= len(mt.names):
						t.Errorf("%s: %s op %d (ptx %d, %s): %s is %d, which the %s table does not name", f, e.Name, i, o.line, o.code, field, v, mt.kind)
					}
				}
				if int(o.sem) >= len(semModes.names) || int(o.scope) >= len(scopeModes.names) {
					t.Errorf("%s: %s op %d (ptx %d): semantics %d, scope %d", f, e.Name, i, o.line, o.sem, o.scope)
				}
			}
		}
	}
	if nops < 1000 {
		t.Errorf("only %d ops lowered from %d files", nops, len(srcs))
	}
}

// TestModeFieldsSetHere: only modes.go writes op's sub and sub2, through
// its setters, and only it reads them, through its accessors, but for
// exec.go's atomics and accessAlign (the atom* operations are plain
// uint8 constants).
func TestModeFieldsSetHere(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "modes.go" {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		isMode := func(e ast.Expr) bool {
			s, ok := e.(*ast.SelectorExpr)
			return ok && (s.Sel.Name == "sub" || s.Sel.Name == "sub2")
		}
		written := map[ast.Expr]bool{}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for _, l := range n.Lhs {
					if isMode(l) {
						written[l] = true
						t.Errorf("%s: writes %s outside modes.go: use a setter", fset.Position(l.Pos()), l.(*ast.SelectorExpr).Sel.Name)
					}
				}
			case *ast.IncDecStmt:
				if isMode(n.X) {
					written[n.X] = true
					t.Errorf("%s: writes a mode field outside modes.go", fset.Position(n.Pos()))
				}
			case *ast.KeyValueExpr:
				if id, ok := n.Key.(*ast.Ident); ok && (id.Name == "sub" || id.Name == "sub2") {
					t.Errorf("%s: sets %s in a literal outside modes.go", fset.Position(n.Pos()), id.Name)
				}
			case *ast.SelectorExpr:
				if isMode(n) && !written[n] && f != "exec.go" {
					t.Errorf("%s: reads %s outside modes.go: use an accessor", fset.Position(n.Pos()), n.Sel.Name)
				}
			}
			return true
		})
	}
}

// opcodeConsts is the opcodes' Go names in ir.go, by value.
func opcodeConsts(t *testing.T) []string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "ir.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range file.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST || len(g.Specs) == 0 || g.Specs[0].(*ast.ValueSpec).Names[0].Name != "opNop" {
			continue
		}
		var names []string
		for _, s := range g.Specs {
			for _, n := range s.(*ast.ValueSpec).Names {
				if n.Name == "opCount" {
					return names
				}
				names = append(names, n.Name)
			}
		}
	}
	t.Fatal("ir.go: no opcode constants")
	return nil
}

// caseOpcodes is the opcodes that function fn of file names in the cases
// of its switches on o.code or, when cases is false, in comparisons
// o.code == op.
func caseOpcodes(t *testing.T, file, fn string, cases bool) map[string]bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	isCode := func(e ast.Expr) bool {
		s, ok := e.(*ast.SelectorExpr)
		return ok && s.Sel.Name == "code"
	}
	out := map[string]bool{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Name.Name != fn {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SwitchStmt:
				if !cases || !isCode(n.Tag) {
					return true
				}
				for _, s := range n.Body.List {
					for _, e := range s.(*ast.CaseClause).List {
						if id, ok := e.(*ast.Ident); ok {
							out[id.Name] = true
						}
					}
				}
			case *ast.BinaryExpr:
				if id, ok := n.Y.(*ast.Ident); !cases && n.Op == token.EQL && isCode(n.X) && ok {
					out[id.Name] = true
				}
			}
			return true
		})
		return out
	}
	t.Fatalf("%s: no function %s", file, fn)
	return nil
}
