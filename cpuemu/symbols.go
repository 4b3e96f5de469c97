package cpuemu

import (
	"fmt"
	"sort"
	"strings"
)

// Module variables the host reaches: __device__ and __constant__ data,
// as cuModuleGetGlobal and cudaMemcpyToSymbol reach them.

// SymbolError is a module variable that Module.Global cannot give: a
// name the module does not define, a variable of a space the host cannot
// reach (.shared), or one the emulator refuses (an .extern defined in
// another module, a texture reference: Err says why).
type SymbolError struct {
	Module string
	Name   string
	Msg    string
	Err    error // the reason the emulator refuses the variable, if that is it
}

func (e *SymbolError) Error() string {
	s := fmt.Sprintf("module %s: variable %s: %s", e.Module, e.Name, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *SymbolError) Unwrap() error { return e.Err }

// Global gives the device address and size in bytes of the module's
// .global or .const variable name on dev, as cuModuleGetGlobal does,
// mapping the module's variables on dev first if no launch has (they
// start from the module's initialisers). Device.Write and Device.Read set
// and read the variable there, between launches; a launch of the module
// on dev sees what was written, and another device keeps its own copy.
//
// A .const variable is read-only to kernels (a store faults, through its
// const-space name or this address), but the host may write it, as
// cudaMemcpyToSymbol writes __constant__ data. Anything else (a name the
// module lacks, a .shared variable, an .extern, a variable the emulator
// cannot provide) is a *SymbolError.
func (m *Module) Global(dev *Device, name string) (DevicePtr, int, error) {
	bad := func(format string, a ...any) error {
		return &SymbolError{Module: m.name, Name: name, Msg: fmt.Sprintf(format, a...)}
	}
	if dev == nil {
		return 0, 0, bad("nil device")
	}
	vi, ok := m.modVars[name]
	switch {
	case !ok:
		what := "no such .global or .const variable"
		if m.fnByName(name) != nil {
			what = "is a function, not a .global or .const variable"
		}
		if vars := m.globalNames(); len(vars) > 0 {
			return 0, 0, bad("%s (the module has %s)", what, strings.Join(vars, ", "))
		}
		return 0, 0, bad("%s (the module has none)", what)
	case vi.err != nil:
		return 0, 0, &SymbolError{Module: m.name, Name: name, Msg: "cannot be used on the emulator", Err: vi.err}
	case vi.space != spGlobal && vi.space != spConst:
		return 0, 0, bad("is a .%s variable; only .global and .const variables have a device address", vi.space)
	}
	dev.mu.Lock()
	defer dev.mu.Unlock()
	if err := dev.mapModule(m); err != nil {
		return 0, 0, err
	}
	if vi.space == spConst {
		return DevicePtr(m.globalBase + constOffset + vi.addr), vi.size, nil
	}
	return DevicePtr(vi.addr), vi.size, nil
}

// maxListedNames bounds the names an error lists.
const maxListedNames = 16

// globalNames lists, sorted, the module's variables that Global gives.
func (m *Module) globalNames() []string {
	var names []string
	for n, vi := range m.modVars {
		if vi.err == nil && (vi.space == spGlobal || vi.space == spConst) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) > maxListedNames {
		names = append(names[:maxListedNames], fmt.Sprintf("... %d more", len(names)-maxListedNames))
	}
	return names
}
