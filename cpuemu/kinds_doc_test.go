package cpuemu

import (
	"os"
	"strings"
	"testing"
)

// TestKindsDocumented: every diagnostic kind is in docs/suppressions.md's
// list of kinds a rule may name, and has its SARIF rule in docs/ci.md's
// table (cpuemu/sarif's TestRules holds that table to the rule list), by
// the section the report sorts it into.
func TestKindsDocumented(t *testing.T) {
	supp, err := os.ReadFile("../docs/suppressions.md")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile("../docs/ci.md")
	if err != nil {
		t.Fatal(err)
	}
	// The suppression doc wraps its list: compare with line breaks as spaces.
	list := strings.Join(strings.Fields(string(supp)), " ")
	for _, sec := range []struct {
		id    string
		kinds map[string]bool
	}{{"sync", syncKinds}, {"memory", memoryKinds}, {"ub", otherKinds}, {"note", noteKinds}} {
		for k := range sec.kinds {
			if !strings.Contains(list, "`"+k+"`") {
				t.Errorf("docs/suppressions.md does not list the kind %s", k)
			}
			if !strings.Contains(string(ci), "`"+sec.id+"/"+k+"`") {
				t.Errorf("docs/ci.md has no rule %s/%s", sec.id, k)
			}
		}
	}
}
