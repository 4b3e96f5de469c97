package cpuemu

// TraceEvent is one instruction one lane executed, in the order the
// scheduler ran them. Lanes that run an instruction together (a lockstep
// group) give one event each, with the same Step.
type TraceEvent struct {
	Step  int64  `json:"step"` // the issue this lane took part in; ascending
	CTA   Dim3   `json:"cta"`
	Warp  int    `json:"warp"`
	Lane  int    `json:"lane"`
	PC    int    `json:"pc"` // index of the lowered instruction
	Op    string `json:"op"` // e.g. "st", "bar.warp.sync"
	Space string `json:"space,omitempty"`
	Addr  uint64 `json:"addr,omitempty"` // memory instructions: the address, in Space
	// HasAddr tells a memory instruction at address 0 from the others.
	HasAddr bool   `json:"has_addr,omitempty"`
	PTXLine int    `json:"ptx_line"`
	Loc     string `json:"loc,omitempty"` // CUDA file:line
}
