package cpuemu

import (
	"testing"
	"unsafe"
)

// TestTraceEventSize keeps MaxTraceLimit's comment true: it sizes the
// ceiling from a 120-byte event (on 64-bit machines). A change of
// TraceEvent that fails this must revisit the ceiling.
func TestTraceEventSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the ceiling is sized for 64-bit machines")
	}
	if got := unsafe.Sizeof(TraceEvent{}); got != 120 {
		t.Errorf("a TraceEvent is %d bytes; MaxTraceLimit (%d events) was sized for 120", got, MaxTraceLimit)
	}
}
