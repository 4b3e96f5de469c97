package cpuemu_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/internal/schematest"
)

// reportSchema compiles docs/race-report.schema.json at the given
// fragment ("" for the whole: an output or a report).
func reportSchema(t *testing.T, fragment string) *schematest.Schema {
	t.Helper()
	s, err := schematest.RaceReport(fragment)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestReportGoldensConform: every report the golden files of
// testdata/reports hold (each a real checked launch's JSON) conforms to
// the schema's report, and to the schema as a whole.
func TestReportGoldensConform(t *testing.T) {
	whole, report := reportSchema(t, ""), reportSchema(t, "#/$defs/report")
	files, _ := filepath.Glob("testdata/reports/*.txt")
	n := 0
	for _, f := range files {
		cases, _ := parseReportFile(t, f)
		for _, c := range cases {
			if !strings.HasPrefix(c.cmd, "report ") {
				continue
			}
			n++
			for _, s := range []*schematest.Schema{whole, report} {
				if err := s.Validate([]byte(c.want)); err != nil {
					t.Errorf("%s:%d: %s: %v", f, c.line, c.cmd, err)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d report goldens: the files changed shape", n)
	}
}

// TestReportSchemaConform: reports made here (severities, suppressions
// and a fatal error included) conform, and a document that breaks the
// schema in one place is refused: the schema is not vacuous.
func TestReportSchemaConform(t *testing.T) {
	s := reportSchema(t, "")
	r := severityReport(&cpuemu.TimeoutError{Kernel: "k", Timeout: time.Second})
	sup, err := cpuemu.ParseSuppressions("x.supp", []byte("kind=WAW\nkind=WAR\n"))
	if err != nil {
		t.Fatal(err)
	}
	good, err := json.Marshal(r.Suppress(sup))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(good); err != nil {
		t.Fatalf("a report does not conform: %v\n%s", err, good)
	}
	for _, c := range []struct{ what, from, to string }{
		{"another schema version", `"schema":"gpubuf.race/v1"`, `"schema":"gpubuf.race/v2"`},
		{"no schema", `"schema":"gpubuf.race/v1",`, ``},
		{"a severity not in the list", `"severity":"warning"`, `"severity":"fatal"`},
		{"a hazard without severity", `,"severity":"error"}],"sync_errors"`, `}],"sync_errors"`},
		{"an unknown hazard type", `"type":"RAW"`, `"type":"RAR"`},
		{"a lane past 31", `"lane":1,`, `"lane":32,`},
		{"a field the schema does not name", `"kernel":"k"`, `"kernel":"k","colour":"red"`},
		{"a count of the wrong type", `"count":2`, `"count":"2"`},
		{"a suppression without its rule", `"rule":"x.supp:1",`, ``},
		{"a fatal error of an unknown type", `"type":"timeout"`, `"type":"oops"`},
		{"a site without its line", `"loc":"k.cu:3"`, `"loc":"k.cu"`},
	} {
		bad := strings.Replace(string(good), c.from, c.to, 1)
		if bad == string(good) {
			t.Errorf("%s: %q is not in the document", c.what, c.from)
			continue
		}
		if err := s.Validate([]byte(bad)); err == nil {
			t.Errorf("%s: the schema accepts it", c.what)
		}
	}
}
