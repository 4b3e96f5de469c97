package kernels

// The PTX is generated and committed, so that building and testing need no
// CUDA toolkit. Regenerate after editing a .cu file (nvcc 11.8 required):
//
//	go generate ./kernels
//
// which runs, in a fixed staging directory (see internal/ptxbuild),
//
//	nvcc -ptx -lineinfo -O3 -arch=ARCH --allow-unsupported-compiler NAME.cu -o NAME.ptx
//
// for each source, where ARCH is sm_70 unless the source has an arch
// directive, a line of its own such as "// ptxbuild: arch=sm_80" (the
// kernels that use cp.async and mbarrier, which Volta lacks). TestPTXUpToDate fails when the committed PTX differs from
// what the sources compile to.

//go:generate go run ./internal/ptxgen
