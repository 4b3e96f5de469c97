package kernels

// The PTX is generated and committed, so that building and testing need no
// CUDA toolkit. Regenerate after editing a .cu file (nvcc 11.8 required):
//
//	go generate ./kernels
//
// which runs, in a fixed staging directory (see internal/ptxbuild),
//
//	nvcc -ptx -lineinfo -O3 -arch=sm_70 --allow-unsupported-compiler NAME.cu -o NAME.ptx
//
// for each source. TestPTXUpToDate fails when the committed PTX differs from
// what the sources compile to.

//go:generate go run ./internal/ptxgen
