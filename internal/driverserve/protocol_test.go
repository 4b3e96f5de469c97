package driverserve

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The protocol's decoding, tested with messages built by hand from
// docs/driver-protocol.md: a 16-byte header (magic "GBDP" 0x50444247,
// version 1, op, nwords, nbytes), then the words, little-endian, then the
// bytes.

// header is a request header with every field given.
func header(magic uint32, version, op uint16, nwords, nbytes uint32) []byte {
	h := make([]byte, 16)
	binary.LittleEndian.PutUint32(h[0:], magic)
	binary.LittleEndian.PutUint16(h[4:], version)
	binary.LittleEndian.PutUint16(h[6:], op)
	binary.LittleEndian.PutUint32(h[8:], nwords)
	binary.LittleEndian.PutUint32(h[12:], nbytes)
	return h
}

// msg is a well-formed request.
func msg(op uint16, words []uint64, data []byte) []byte {
	b := header(0x50444247, 1, op, uint32(len(words)), uint32(len(data)))
	for _, w := range words {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return append(b, data...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// socketPair is a connected pair of Unix stream sockets: the server's end
// and the library's.
func socketPair(t testing.TB) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socket")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

// TestRead: read decodes a request or says what is wrong with it; it
// never panics, and bounds what it allocates before reading.
func TestRead(t *testing.T) {
	for _, c := range []struct {
		name  string
		in    []byte
		op    uint16
		words []uint64
		data  string
		err   string // "" for success; io.EOF's text for an orderly end
	}{
		{name: "device attribute", in: msg(2, []uint64{10}, nil), op: 2, words: []uint64{10}},
		{name: "words and bytes", in: msg(9, []uint64{0x1001, 0x1002}, []byte("kernel")), op: 9, words: []uint64{0x1001, 0x1002}, data: "kernel"},
		{name: "nothing", in: msg(32, nil, nil), op: 32, words: []uint64{}},
		{name: "64 words, the most", in: msg(1, make([]uint64, 64), nil), op: 1, words: make([]uint64, 64)},
		{name: "end of stream", in: nil, err: "EOF"},
		{name: "other magic", in: header(0x47424450, 1, 2, 0, 0), err: "bad request header (magic 0x47424450, version 1)"},
		{name: "other version", in: header(0x50444247, 2, 2, 0, 0), err: "bad request header (magic 0x50444247, version 2)"},
		{name: "65 words", in: header(0x50444247, 1, 2, 65, 0), err: "request of 65 words and 0 bytes is over the limits (64, 67108864)"},
		{name: "64 MiB and a byte", in: header(0x50444247, 1, 7, 1, 64<<20+1), err: "request of 1 words and 67108865 bytes is over the limits"},
		{name: "4 GiB of bytes", in: header(0x50444247, 1, 7, 1, 0xffffffff), err: "over the limits"},
		{name: "half a header", in: header(0x50444247, 1, 2, 1, 0)[:8], err: "truncated request header (8 of 16 bytes): unexpected EOF"},
		{name: "words missing", in: header(0x50444247, 1, 2, 2, 0), err: "truncated request: device attribute announced 2 words and 0 bytes, 0 bytes came: unexpected EOF"},
		{name: "bytes short", in: cat(header(0x50444247, 1, 7, 1, 10), make([]byte, 8), []byte("abc")), err: "truncated request: load module announced 1 words and 10 bytes, 11 bytes came"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, lib := socketPair(t)
			defer srv.Close()
			go func() {
				lib.Write(c.in)
				lib.Close()
			}()
			s, _ := newServer(srv, Config{})
			req, err := s.read()
			switch {
			case c.err == "EOF":
				if !errors.Is(err, io.EOF) {
					t.Fatalf("read = %v, want io.EOF", err)
				}
			case c.err != "":
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("read = %v, want an error with %q", err, c.err)
				}
				if errors.Is(err, io.EOF) {
					t.Errorf("read = %v: a message cut short is not an orderly end", err)
				}
			case err != nil:
				t.Fatalf("read: %v", err)
			default:
				if req.op != c.op || string(req.data) != c.data || len(req.words) != len(c.words) || req.fd != -1 {
					t.Fatalf("read = op %d, %d words, data %q, fd %d; want op %d, %d words, data %q, no fd",
						req.op, len(req.words), req.data, req.fd, c.op, len(c.words), c.data)
				}
				for i := range c.words {
					if req.words[i] != c.words[i] {
						t.Errorf("word %d = %#x, want %#x", i, req.words[i], c.words[i])
					}
				}
			}
		})
	}
}

// answer is a decoded reply: magic (u32), status (u32, a CUresult), nwords,
// nbytes, then the words and the bytes.
type answer struct {
	status uint32
	words  []uint64
	data   []byte
}

func readAnswer(t *testing.T, c *net.UnixConn) answer {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	var h [16]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	le := binary.LittleEndian
	if le.Uint32(h[0:]) != 0x50444247 {
		t.Fatalf("answer magic %#x", le.Uint32(h[0:]))
	}
	a := answer{status: le.Uint32(h[4:])}
	nw, nb := le.Uint32(h[8:]), le.Uint32(h[12:])
	if nw > 64 || nb > 64<<20 {
		t.Fatalf("answer of %d words and %d bytes is over the limits", nw, nb)
	}
	buf := make([]byte, 8*nw+nb)
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	for i := range nw {
		a.words = append(a.words, le.Uint64(buf[8*i:]))
	}
	a.data = buf[8*nw:]
	return a
}

// CUresult values, from cuda.h.
const (
	wantSuccess          = 0
	wantInvalidValue     = 1
	wantNotInitialized   = 3
	wantInvalidContext   = 201
	wantContextDestroyed = 709
	wantNotSupported     = 801
)

// TestServe: requests whose arguments are wrong get the driver's error
// code and the server goes on; the values are cuda.h's (CUresult,
// CUdevice_attribute) and the emulated device's (a warp of 32, sm_70).
func TestServe(t *testing.T) {
	srv, lib := socketPair(t)
	defer lib.Close()
	s, _ := newServer(srv, Config{})
	done := make(chan error, 1)
	go func() { done <- s.serve() }()
	var ctx uint64
	for _, c := range []struct {
		name   string
		req    []byte
		status uint32
		words  []uint64 // nil: not checked
		keep   func(a answer)
	}{
		{"warp size", msg(2, []uint64{10}, nil), wantSuccess, []uint64{32}, nil},
		{"compute capability major", msg(2, []uint64{75}, nil), wantSuccess, []uint64{9}, nil}, // the emulator runs sm_90 PTX: gpu/emu.ComputeCapability
		{"attribute 0", msg(2, []uint64{0}, nil), wantInvalidValue, nil, nil},
		{"attribute past the last", msg(2, []uint64{1000}, nil), wantInvalidValue, nil, nil},
		{"attribute without its word", msg(2, nil, nil), wantInvalidValue, nil, nil},
		{"op 0", msg(0, []uint64{1}, nil), wantNotSupported, nil, nil},
		{"op 3, reserved", msg(3, []uint64{1}, nil), wantNotSupported, nil, nil},
		{"op 34", msg(34, []uint64{1}, nil), wantNotSupported, nil, nil},
		{"op 65535", msg(65535, nil, nil), wantNotSupported, nil, nil},
		{"hello without the staging area", msg(1, []uint64{1, 4 << 20}, nil), wantNotInitialized, nil, nil},
		{"no context", msg(13, []uint64{0, 16}, nil), wantInvalidContext, nil, nil},
		{"not a context", msg(13, []uint64{0xdead, 16}, nil), wantInvalidContext, nil, nil},
		{"finish", msg(32, nil, nil), wantSuccess, []uint64{0}, nil},
		{"create context", msg(4, []uint64{0}, nil), wantSuccess, nil, func(a answer) { ctx = a.words[0] }},
	} {
		if _, err := lib.Write(c.req); err != nil {
			t.Fatal(err)
		}
		a := readAnswer(t, lib)
		if a.status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, a.status, c.status)
			continue
		}
		if c.words != nil && (len(a.words) != len(c.words) || a.words[0] != c.words[0]) {
			t.Errorf("%s: words %v, want %v", c.name, a.words, c.words)
		}
		if c.keep != nil {
			c.keep(a)
		}
	}
	if ctx == 0 {
		t.Fatal("no context")
	}
	for _, c := range []struct {
		name   string
		req    []byte
		status uint32
	}{
		{"alloc of 0 bytes", msg(13, []uint64{ctx, 0}, nil), 2},            // CUDA_ERROR_OUT_OF_MEMORY, as the server refuses sizes
		{"alloc over the device", msg(13, []uint64{ctx, 1 << 40}, nil), 2}, // more than the 4 GiB device
		{"alloc without its size", msg(13, []uint64{ctx}, nil), wantInvalidValue},
		{"free of what was not allocated", msg(14, []uint64{ctx, 0x1234}, nil), wantInvalidValue},
		{"wait of kind 9", msg(6, []uint64{ctx, 9, 0, 1, 0}, nil), wantInvalidValue},
		{"wait with 4 words", msg(6, []uint64{ctx, 1, 0, 1}, nil), wantInvalidValue},
		{"wait with a ticket never given", msg(6, []uint64{ctx, 1, 0, 0, 77}, nil), wantInvalidValue},
		{"copy HtoD past the staging area", msg(19, []uint64{ctx, 0, 0x1000, 0, 4 << 20, 1}, nil), wantInvalidValue},
		{"copy HtoD from no staging area", msg(19, []uint64{ctx, 0, 0x1000, 0, 0, 1}, nil), wantInvalidValue},
		{"copy HtoD from host memory never allocated", msg(19, []uint64{ctx, 0, 0x1000, 0x99, 0, 1}, nil), wantInvalidValue},
		{"merge of more than half the staging area", msg(33, []uint64{ctx, 0, 0x1000, 2<<20 + 1}, nil), wantInvalidValue},
		{"merge with no staging area", msg(33, []uint64{ctx, 0, 0x1000, 16}, nil), wantInvalidValue},
		{"memset of 3-byte elements", msg(22, []uint64{ctx, 0, 0x1000, 0, 3, 1}, nil), wantInvalidValue},
		{"copy on a stream never created", msg(21, []uint64{ctx, 0x7777, 0, 0, 1}, nil), 400}, // CUDA_ERROR_INVALID_HANDLE
		{"launch with 3 words", msg(30, []uint64{ctx, 1, 1}, nil), wantInvalidValue},
		{"launch of a function never loaded", msg(30, []uint64{ctx, 0x4242, 1, 1, 1, 1, 1, 1, 0, 0, 0}, nil), 400},
		{"module that is not PTX", msg(7, []uint64{ctx}, []byte("\x7fELF")), 200}, // CUDA_ERROR_INVALID_IMAGE
		{"function of a module never loaded", msg(9, []uint64{ctx, 0x1}, []byte("k")), 400},
	} {
		if _, err := lib.Write(c.req); err != nil {
			t.Fatal(err)
		}
		if a := readAnswer(t, lib); a.status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, a.status, c.status)
		}
	}
	// A module with one entry, k, without parameters or shared memory.
	lib.Write(msg(7, []uint64{ctx}, []byte(".version 7.0\n.target sm_70\n.address_size 64\n.visible .entry k() { ret; }\n")))
	a := readAnswer(t, lib)
	if a.status != wantSuccess || len(a.words) != 1 {
		t.Fatalf("load module: status %d, words %v", a.status, a.words)
	}
	mod := a.words[0]
	lib.Write(msg(9, []uint64{ctx, mod}, []byte("k")))
	a = readAnswer(t, lib)
	if a.status != wantSuccess || len(a.words) != 2 || a.words[1] != 0 {
		t.Fatalf("get function k: status %d, words %v; want the function and 0 parameters", a.status, a.words)
	}
	fn := a.words[0]
	for _, c := range []struct {
		name   string
		req    []byte
		status uint32
		words  []uint64
	}{
		{"function name of 4097 bytes", msg(9, []uint64{ctx, mod}, make([]byte, 4097)), wantInvalidValue, nil},
		{"function the module lacks", msg(9, []uint64{ctx, mod}, []byte("j")), 500, nil}, // CUDA_ERROR_NOT_FOUND
		{"global name of 4097 bytes", msg(10, []uint64{ctx, mod}, make([]byte, 4097)), wantInvalidValue, nil},
		{"occupancy of a block of 1025", msg(31, []uint64{ctx, fn, 1025, 0}, nil), wantInvalidValue, nil},
		{"occupancy of a block of 0", msg(31, []uint64{ctx, fn, 0, 0}, nil), wantInvalidValue, nil},
		// An SM holds 32 blocks, 64 warps and 228 KiB of shared memory,
		// 1 KiB of it reserved per block: blocks of one warp, 32; of 8
		// warps, 64/8 = 8; of one warp with 200 KiB, 228/(200+1) = 1;
		// with more than the 227 KiB a block may have, none.
		{"occupancy of a warp", msg(31, []uint64{ctx, fn, 32, 0}, nil), wantSuccess, []uint64{32}},
		{"occupancy of 8 warps", msg(31, []uint64{ctx, fn, 256, 0}, nil), wantSuccess, []uint64{8}},
		{"occupancy with 200 KiB", msg(31, []uint64{ctx, fn, 32, 200 << 10}, nil), wantSuccess, []uint64{1}},
		{"occupancy with 228 KiB", msg(31, []uint64{ctx, fn, 32, 228 << 10}, nil), wantSuccess, []uint64{0}},
		{"launch of a 0-thread block", msg(30, []uint64{ctx, fn, 1, 1, 1, 0, 1, 1, 0, 0, 0}, nil), wantInvalidValue, nil},
		{"launch with 48 KiB of dynamic shared memory, not opted in", msg(30, []uint64{ctx, fn, 1, 1, 1, 32, 1, 1, 48<<10 + 1, 0, 0}, nil), wantInvalidValue, nil},
		{"destroy the context", msg(5, []uint64{ctx}, nil), wantSuccess, nil},
		{"alloc in the destroyed context", msg(13, []uint64{ctx, 16}, nil), wantContextDestroyed, nil},
	} {
		lib.Write(c.req)
		a := readAnswer(t, lib)
		if a.status != c.status {
			t.Errorf("%s: status %d, want %d", c.name, a.status, c.status)
		} else if c.words != nil && (len(a.words) != len(c.words) || a.words[0] != c.words[0]) {
			t.Errorf("%s: words %v, want %v", c.name, a.words, c.words)
		}
	}
	// A header of another protocol ends the server with an error that
	// says so; the library sees the socket close.
	lib.Write(header(0x50444247, 2, 2, 0, 0))
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "speak different protocols") {
			t.Errorf("serve = %v, want the protocol mismatch", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not end on a bad header")
	}
	if n := s.panics.Load(); n != 0 {
		t.Errorf("%d requests panicked", n)
	}
}

// FuzzServe: any byte stream from the library ends in an orderly end or a
// clear error, never a panic, a hang or an allocation beyond the limits.
// The seeds are TestRead's and TestServe's messages.
func FuzzServe(f *testing.F) {
	for _, seed := range [][]byte{
		msg(2, []uint64{10}, nil),
		msg(9, []uint64{0x1001, 0x1002}, []byte("kernel")),
		msg(32, nil, nil),
		msg(0, []uint64{1}, nil),
		msg(1, []uint64{1, 4 << 20}, nil),
		header(0x47424450, 1, 2, 0, 0),
		header(0x50444247, 1, 2, 65, 0),
		header(0x50444247, 1, 2, 1, 0)[:8],
		cat(header(0x50444247, 1, 7, 1, 10), make([]byte, 8), []byte("abc")),
		cat(msg(4, []uint64{0}, nil), msg(13, []uint64{0x1001, 64}, nil), msg(22, []uint64{0x1001, 0, 0x1000, 7, 4, 16}, nil), msg(6, []uint64{0x1001, 1, 0, 0, 0}, nil)),
		cat(msg(4, []uint64{0}, nil), msg(7, []uint64{0x1001}, []byte(".version 7.0\n.target sm_70\n.address_size 64\n.visible .entry k() { ret; }\n")), msg(9, []uint64{0x1001, 0x1002}, []byte("k"))),
		cat(msg(4, []uint64{0}, nil), msg(33, []uint64{0x1001, 0, 0x1000, 16}, nil), msg(5, []uint64{0x1001}, nil), msg(13, []uint64{0x1001, 16}, nil)),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		srv, lib := socketPair(t)
		defer lib.Close()
		s, _ := newServer(srv, Config{})
		done := make(chan error, 1)
		go func() { done <- s.serve() }()
		go func() {
			lib.Write(in)
			lib.CloseWrite()
		}()
		go io.Copy(io.Discard, lib) // the answers
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("the server did not end on %q", in)
		}
		if n := s.panics.Load(); n != 0 {
			t.Errorf("%d requests of %q panicked", n, in)
		}
	})
}
