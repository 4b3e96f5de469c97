package kernels

import (
	"bytes"
	"slices"
	"testing"
)

func TestWordsLittleEndian(t *testing.T) {
	b := []byte{0x01, 0x02, 0x03, 0x04, 0xff, 0x00, 0x00, 0x80, 0x7}
	// 0x04030201 and 0x800000ff; the ninth byte is a partial word.
	if got, want := Words(b), []uint32{0x04030201, 0x800000ff}; !slices.Equal(got, want) {
		t.Fatalf("Words = %#x, want %#x", got, want)
	}
	if got := WordBytes([]uint32{0x04030201, 0x800000ff}); !bytes.Equal(got, b[:8]) {
		t.Fatalf("WordBytes = %x, want %x", got, b[:8])
	}
}
