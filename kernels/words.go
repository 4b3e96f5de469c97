package kernels

import "encoding/binary"

// Words reads b as little-endian 32-bit words (a trailing partial word is
// ignored): the layout of the kernels' u32 buffers in device memory.
func Words(b []byte) []uint32 {
	w := make([]uint32, len(b)/4)
	for i := range w {
		w[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return w
}

// WordBytes writes w as little-endian bytes, the inverse of Words.
func WordBytes(w []uint32) []byte {
	b := make([]byte, 4*len(w))
	for i, x := range w {
		binary.LittleEndian.PutUint32(b[4*i:], x)
	}
	return b
}
