// Package schematest checks JSON documents against the JSON Schemas the
// repository ships, for tests: the race report's
// (docs/race-report.schema.json) and SARIF 2.1.0's (OASIS errata 01, kept
// as cpuemu/sarif/testdata/sarif-schema-2.1.0.json). Formats (uri,
// date-time, ...) are asserted, not only annotated.
package schematest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema is a compiled schema.
type Schema struct{ s *jsonschema.Schema }

// RaceReport is docs/race-report.schema.json at fragment: "" for the
// whole (a 'gpubuf race --json' output or a bare report),
// "#/$defs/report" for a report alone.
func RaceReport(fragment string) (*Schema, error) {
	return load("docs/race-report.schema.json", fragment)
}

// SARIF is the SARIF 2.1.0 schema.
func SARIF() (*Schema, error) { return load("cpuemu/sarif/testdata/sarif-schema-2.1.0.json", "") }

var (
	mu    sync.Mutex
	cache = map[string]*Schema{}
)

// load compiles the schema at path, relative to the repository's root
// (two folders above this file), once per test binary.
func load(path, fragment string) (*Schema, error) {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := cache[path+fragment]; ok {
		return s, nil
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return nil, fmt.Errorf("schematest: cannot locate the repository")
	}
	full := filepath.Join(filepath.Dir(self), "..", "..", filepath.FromSlash(path))
	f, err := os.Open(full)
	if err != nil {
		return nil, fmt.Errorf("schematest: %v", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("schematest: %s is not JSON: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	url := "https://github.com/gpubuf/gpubuf/" + path
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("schematest: %s: %v", path, err)
	}
	s, err := c.Compile(url + fragment)
	if err != nil {
		return nil, fmt.Errorf("schematest: %s does not compile: %v", path, err)
	}
	cache[path+fragment] = &Schema{s}
	return cache[path+fragment], nil
}

// Validate reports whether doc conforms: nil, or an error that lists
// every failing keyword and where.
func (s *Schema) Validate(doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	if err := s.s.Validate(v); err != nil {
		return fmt.Errorf("%#v", err)
	}
	return nil
}

// At walks a decoded JSON document (maps and slices from encoding/json)
// along object keys (strings) and array indices (ints): nil where the
// path leads nowhere.
func At(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k < 0 || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}
