package main

// Module variables on the command line: --symbol NAME=FILL sets a
// __device__ or __constant__ variable before the launch, and --out
// NAME=PATH writes one's final bytes.

import (
	"fmt"
	"strings"
)

// symSpec is one --symbol NAME=FILL.
type symSpec struct {
	Text string // NAME=FILL, as given
	Name string
	// fill is the FILL as a buffer spec; its size is the variable's,
	// set once the module says what it is (resolveSymbols).
	fill argSpec
}

// parseSymbolSpec reads one --symbol value. It reads no file.
func parseSymbolSpec(s string) (symSpec, error) {
	name, fill, ok := strings.Cut(s, "=")
	if !ok || !validName(name) || fill == "" {
		return symSpec{}, fmt.Errorf("--symbol %q: want NAME=FILL, NAME a .global or .const variable of the module (its PTX name) and FILL zero, iota, rand=SEED or file=PATH", s)
	}
	sp := symSpec{Text: s, Name: name, fill: argSpec{Text: s, Kind: kindBuf, flag: "--symbol", what: "variable " + name + "'s"}}
	if err := sp.fill.parseFill(fill); err != nil {
		return symSpec{}, fmt.Errorf("--symbol %q: %v", s, err)
	}
	return sp, nil
}

// validName reports whether s can be a PTX identifier: a letter, _, $ or
// % first, then letters, digits, _ and $.
func validName(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '$':
		case c == '%' && i == 0:
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}

// symbolNames lists the variables the command names, each once: those of
// --symbol, then those of --out, in order.
func (o *launchOpts) symbolNames() []string {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, sp := range o.syms {
		add(sp.Name)
	}
	for _, out := range o.outs {
		add(out.Sym)
	}
	return names
}

// resolveSymbols asks global for every variable the command names, once
// each, which gives its size or why it is not a variable of the module,
// sizes each --symbol fill to its variable and reads its file.
func (o *launchOpts) resolveSymbols(global func(name string) (int, error)) error {
	sizes := map[string]int{}
	size := func(name string) (int, error) {
		if n, ok := sizes[name]; ok {
			return n, nil
		}
		n, err := global(name)
		if err == nil {
			sizes[name] = n
		}
		return n, err
	}
	for i := range o.syms {
		sp := &o.syms[i]
		n, err := size(sp.Name)
		if err != nil {
			return fmt.Errorf("--symbol %q: %v", sp.Text, err)
		}
		sp.fill.Bytes = n
		if err := sp.fill.load(); err != nil {
			return err
		}
	}
	for _, out := range o.outs {
		if out.Sym == "" {
			continue
		}
		if _, err := size(out.Sym); err != nil {
			return fmt.Errorf("%s: %v", out.flagText(), err)
		}
	}
	return nil
}
