package main

import (
	"bytes"
	"testing"
)

func TestTable(t *testing.T) {
	tb := newTable("name", "n", "note").alignRight(1)
	tb.add("a", 5, "short")
	tb.add("longer", 12345, "x")
	var b bytes.Buffer
	tb.write(&b)
	want := "" +
		"name        n  note\n" +
		"a           5  short\n" +
		"longer  12345  x\n"
	if b.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", b.String(), want)
	}
}
