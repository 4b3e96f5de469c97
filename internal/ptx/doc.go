// Package ptx is gpubuf's one PTX front end: the lexer, the parser, the
// syntax tree, the fundamental types' sizes, the driver's .param layout,
// and the one check of launch arguments against a kernel's parameters.
//
// Every layer reads PTX through it: the emulator (cpuemu) lowers its syntax
// tree to IR, the CUDA backend (gpu/cuda) reads each entry's parameters
// from it, and the CLI lists and launches entries on a GPU without the
// emulator.
//
// The parser reads the whole PTX grammar that nvcc and hand-written PTX
// use, without judging it: an instruction is an opcode, its dot-separated
// modifiers and its operands, whatever the opcode; directives that only
// tune performance (.maxntid, .reqntid, .minnctapersm, .maxnreg, .noreturn,
// .pragma) are read and kept aside. Whether an instruction can run is the
// business of whoever reads the tree. Inputs are bounded (Limits): the
// source size and the instruction count.
package ptx
