package kernels

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// entry is a kernel as its PTX declares it.
type entry struct {
	name  string
	types []string // .param types, e.g. "u64"
}

var (
	entryRE = regexp.MustCompile(`^\.visible\s+\.entry\s+(\w+)\(`)
	paramRE = regexp.MustCompile(`^\s*\.param\s+\.(\w+)\s+\w+`)
)

// entries lists the .entry declarations of a PTX module with their
// parameter types. nvcc writes one parameter per line until ")".
func entries(t *testing.T, ptx []byte) []entry {
	t.Helper()
	var out []entry
	var cur *entry
	sc := bufio.NewScanner(bytes.NewReader(ptx))
	for sc.Scan() {
		line := sc.Text()
		if m := entryRE.FindStringSubmatch(line); m != nil {
			out = append(out, entry{name: m[1]})
			cur = &out[len(out)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if m := paramRE.FindStringSubmatch(line); m != nil {
			cur.types = append(cur.types, m[1])
		} else if strings.HasPrefix(strings.TrimSpace(line), ")") {
			cur = nil
		}
	}
	return out
}

func TestCatalogueMatchesPTX(t *testing.T) {
	ptxType := map[string]string{TypePtr: "u64", TypeU32: "u32"}
	catalogued := map[string]bool{}
	for _, k := range All() {
		if catalogued[k.Name] {
			t.Errorf("%s is catalogued twice", k.Name)
		}
		catalogued[k.Name] = true
		if k.File != strings.TrimSuffix(k.Source, ".cu")+".ptx" {
			t.Errorf("%s: File %s is not the PTX of Source %s", k.Name, k.File, k.Source)
		}
		if _, err := os.Stat(k.Source); err != nil {
			t.Errorf("%s: source: %v", k.Name, err)
		}
		if k.Purpose == "" {
			t.Errorf("%s has no purpose", k.Name)
		}
		ptx := k.PTX()
		if ptx == nil {
			t.Errorf("%s: %s is not embedded", k.Name, k.File)
			continue
		}
		i := slices.IndexFunc(entries(t, ptx), func(e entry) bool { return e.name == k.Name })
		if i < 0 {
			t.Errorf("%s: no .entry %s in %s", k.Name, k.Name, k.File)
			continue
		}
		e := entries(t, ptx)[i]
		if len(e.types) != len(k.Params) {
			t.Errorf("%s: %d params catalogued, %d in the PTX", k.Name, len(k.Params), len(e.types))
			continue
		}
		for j, p := range k.Params {
			if want, ok := ptxType[p.Type]; !ok {
				t.Errorf("%s.%s: unknown type %q", k.Name, p.Name, p.Type)
			} else if e.types[j] != want {
				t.Errorf("%s.%s: catalogued %s, PTX declares .%s", k.Name, p.Name, p.Type, e.types[j])
			}
			if p.Name == "" || p.Doc == "" {
				t.Errorf("%s param %d: name %q, doc %q", k.Name, j, p.Name, p.Doc)
			}
		}
	}

	// Every entry in every embedded module is catalogued.
	for _, file := range Files() {
		ptx, err := ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		es := entries(t, ptx)
		if len(es) == 0 {
			t.Errorf("%s has no entries", file)
		}
		for _, e := range es {
			if k, ok := Lookup(e.name); !ok {
				t.Errorf("%s: entry %s is not catalogued", file, e.name)
			} else if k.File != file {
				t.Errorf("%s: entry %s is catalogued in %s", file, e.name, k.File)
			}
		}
	}
}

func TestCatalogueTwins(t *testing.T) {
	for _, k := range All() {
		switch k.Expect {
		case ExpectOK:
			if k.TwinOf != "" {
				t.Errorf("%s: a correct kernel cannot be a twin of %s", k.Name, k.TwinOf)
			}
		case ExpectRace, ExpectDeadlock:
			if k.TwinOf == "" {
				continue
			}
			orig, ok := Lookup(k.TwinOf)
			switch {
			case !ok:
				t.Errorf("%s: twin of unknown %s", k.Name, k.TwinOf)
			case orig.Racy():
				t.Errorf("%s: twin of %s, which is racy itself", k.Name, k.TwinOf)
			case !slices.Equal(orig.Params, k.Params) || orig.Source != k.Source:
				t.Errorf("%s: a twin should share %s's source and parameters", k.Name, k.TwinOf)
			}
		default:
			t.Errorf("%s: unknown Expect %q", k.Name, k.Expect)
		}
	}
	if _, ok := Lookup("no_such_kernel"); ok {
		t.Error("Lookup found no_such_kernel")
	}
	if (Kernel{File: "missing.ptx"}).PTX() != nil {
		t.Error("PTX of a kernel outside the catalogue is not nil")
	}
}

// TestPTXMachineIndependent checks that no path of the machine that
// generated the PTX leaked into it: .file names are repository-relative
// (kernels/x.cu) or below the CUDA include directory.
func TestPTXMachineIndependent(t *testing.T) {
	fileRE := regexp.MustCompile(`(?m)^\s*\.file\s+\d+\s+"([^"]*)"`)
	for _, name := range Files() {
		ptx, err := ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		files := fileRE.FindAllSubmatch(ptx, -1)
		if len(files) == 0 {
			t.Errorf("%s has no .file directives (was it built without -lineinfo?)", name)
		}
		if want := "kernels/" + strings.TrimSuffix(name, ".ptx") + ".cu"; len(files) > 0 && string(files[0][1]) != want {
			t.Errorf("%s: .file 1 is %q, want %q", name, files[0][1], want)
		}
		for _, f := range files {
			if strings.HasPrefix(string(f[1]), "/") {
				t.Errorf("%s: absolute path %q", name, f[1])
			}
		}
		if bytes.Contains(ptx, []byte("/tmp/")) {
			t.Errorf("%s mentions /tmp/", name)
		}
	}
}
