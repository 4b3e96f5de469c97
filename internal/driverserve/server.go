// Package driverserve is gpubuf driver-serve: the server behind gpubuf's
// libcuda.so.1. It reads the library's requests (docs/driver-protocol.md)
// from one Unix socket and serves them with the emulator, through package
// gpu's emulator backend: a CUDA context is an emulated device, a stream a
// gpu.Stream, an event a gpu.Event; copies at arbitrary device addresses,
// host memory shared with the program and raw launch parameters go
// through gpu/emu's server hooks.
package driverserve

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/cpuemu/sarif"
	"github.com/gpubuf/gpubuf/gpu"
)

// Protocol constants, as driver/libcuda/csrc/proto.h has them.
const (
	Magic        = 0x50444247
	Version      = 1
	MaxPayload   = 64 << 20
	MaxWords     = 64
	StagingSize  = 4 << 20
	waitSlice    = 2 * time.Millisecond
	DeviceName   = "gpubuf emulator"
	headerSize   = 16
	maxParams    = MaxWords/2 - 1
	maxNameBytes = 4096
	maxJITLog    = 64<<10 - 1 // the library reads a load's log into 64 KiB with its NUL
)

// Ops.
const (
	opHello = 1 + iota
	opDeviceAttr
	opDeviceInfo
	opCtxCreate
	opCtxDestroy
	opWait
	opModuleLoad
	opModuleUnload
	opModuleFunction
	opModuleGlobal
	opFuncAttr
	opFuncSetAttr
	opMemAlloc
	opMemFree
	opMemInfo
	opHostAlloc
	opHostFree
	opHostRegister
	opCopyHtoD
	opCopyDtoH
	opCopyDtoD
	opMemset
	opStreamCreate
	opStreamDestroy
	opStreamWaitEvent
	opEventCreate
	opEventRecord
	opEventElapsed
	opEventDestroy
	opLaunch
	opOccupancy
	opFinish
	opCopyHtoDMerge
)

// CUresult codes (cuda.h's cudaError_enum).
const (
	cuSuccess              = 0
	cuInvalidValue         = 1
	cuOutOfMemory          = 2
	cuNotInitialized       = 3
	cuInvalidImage         = 200
	cuInvalidContext       = 201
	cuInvalidPTX           = 218
	cuInvalidHandle        = 400
	cuNotFound             = 500
	cuNotReady             = 600
	cuIllegalAddress       = 700
	cuLaunchOutOfResources = 701
	cuLaunchTimeout        = 702
	cuContextIsDestroyed   = 709
	cuAssert               = 710
	cuMisalignedAddress    = 716
	cuLaunchFailed         = 719
	cuCoopTooLarge         = 720
	cuNotSupported         = 801
	cuUnknown              = 999
)

// Config is the emulator's settings for every context, from the
// environment the program was started with (gpubuf exec sets it).
type Config struct {
	Emu gpu.EmuOptions
	// Log, when not nil, receives the emulator's full message for each
	// failed call and faulted launch (GPUBUF_LOG).
	Log io.Writer
	// Report receives the checker's findings (GPUBUF_CHECK), in
	// compute-sanitizer's text form.
	Report io.Writer
	// SARIF, when not "", is the file the checked launches' findings are
	// written to as one SARIF 2.1.0 log (GPUBUF_DRIVER_SARIF, which
	// gpubuf exec --sarif sets): rewritten whole when the library
	// finishes (its atexit hook) and when the server ends, with locations
	// relative to the server's working directory.
	SARIF string
}

// SARIFEnv names the file the server writes its SARIF log to.
const SARIFEnv = "GPUBUF_DRIVER_SARIF"

// ConfigFromEnv reads GPUBUF_CHECK, GPUBUF_SCHEDULER, GPUBUF_SEED,
// GPUBUF_LOG and GPUBUF_DRIVER_SARIF.
func ConfigFromEnv() (Config, error) {
	c := Config{Report: os.Stderr}
	c.Emu.Stdout = os.Stdout
	c.Emu.Check = os.Getenv("GPUBUF_CHECK") == "1"
	c.Emu.Scheduler = os.Getenv("GPUBUF_SCHEDULER")
	if s := os.Getenv("GPUBUF_SEED"); s != "" {
		var seed uint64
		if _, err := fmt.Sscan(s, &seed); err != nil {
			return c, fmt.Errorf("GPUBUF_SEED=%q: not an unsigned integer", s)
		}
		c.Emu.Seed = seed
	}
	if os.Getenv("GPUBUF_LOG") != "" {
		c.Log = os.Stderr
	}
	c.SARIF = os.Getenv(SARIFEnv)
	return c, nil
}

// Server serves one program's library.
type Server struct {
	cfg     Config
	conn    *net.UnixConn
	stage   []byte
	nextID  uint64
	ctxs    map[uint64]*context
	tickets map[uint64]chan error
	errs    atomic.Int64 // checker errors, for GPUBUF_CHECK_EXIT
	repMu   sync.Mutex
	sarif   *sarif.Log   // Config.SARIF's findings; under repMu
	panics  atomic.Int64 // requests whose handling panicked (a bug: tests want 0)
}

// Serve serves conn until the library closes it.
func Serve(conn *net.UnixConn, cfg Config) error {
	s, err := newServer(conn, cfg)
	if err != nil {
		return err
	}
	return s.serve()
}

func newServer(conn *net.UnixConn, cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, conn: conn, nextID: 0x1000, ctxs: map[uint64]*context{}, tickets: map[uint64]chan error{}}
	if cfg.SARIF != "" {
		root, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("driver-serve: %s: %v", SARIFEnv, err)
		}
		s.sarif = sarif.NewLog(sarif.Options{SrcRoot: root})
	}
	return s, nil
}

func (s *Server) serve() error {
	defer s.shutdown()
	for {
		req, err := s.read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		status, words, data := s.handle(req)
		if req.fd >= 0 {
			syscall.Close(req.fd)
		}
		if err := s.write(status, words, data); err != nil {
			return err
		}
	}
}

func (s *Server) shutdown() {
	for _, c := range s.ctxs {
		c.close()
	}
	if s.stage != nil {
		syscall.Munmap(s.stage)
	}
	if err := s.writeSARIF(); err != nil {
		fmt.Fprintf(os.Stderr, "gpubuf driver-serve: %v\n", err)
	}
}

// writeSARIF writes Config.SARIF's log, whole, when there is one.
func (s *Server) writeSARIF() error {
	if s.sarif == nil {
		return nil
	}
	s.repMu.Lock()
	defer s.repMu.Unlock()
	var buf bytes.Buffer
	if err := s.sarif.Write(&buf); err != nil {
		return fmt.Errorf("%s=%s: %v", SARIFEnv, s.cfg.SARIF, err)
	}
	if err := os.WriteFile(s.cfg.SARIF, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("%s: %v", SARIFEnv, err)
	}
	return nil
}

func (s *Server) id() uint64 { s.nextID++; return s.nextID }

type request struct {
	op    uint16
	words []uint64
	data  []byte
	fd    int
}

func (s *Server) read() (*request, error) {
	var h [headerSize]byte
	oob := make([]byte, syscall.CmsgSpace(4))
	n, oobn, _, _, err := s.conn.ReadMsgUnix(h[:], oob)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, io.EOF
	}
	req := &request{fd: -1}
	if oobn > 0 {
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err == nil && len(msgs) > 0 {
			if fds, err := syscall.ParseUnixRights(&msgs[0]); err == nil && len(fds) > 0 {
				req.fd = fds[0]
				for _, extra := range fds[1:] {
					syscall.Close(extra)
				}
			}
		}
	}
	if n < headerSize {
		if _, err := io.ReadFull(s.conn, h[n:]); err != nil {
			return nil, fmt.Errorf("driver-serve: truncated request header (%d of %d bytes): %w", n, headerSize, noEOF(err))
		}
	}
	le := binary.LittleEndian
	if le.Uint32(h[0:]) != Magic || le.Uint16(h[4:]) != Version {
		return nil, fmt.Errorf("driver-serve: bad request header (magic %#x, version %d): the library and this gpubuf speak different protocols", le.Uint32(h[0:]), le.Uint16(h[4:]))
	}
	req.op = le.Uint16(h[6:])
	nw, nb := le.Uint32(h[8:]), le.Uint32(h[12:])
	if nw > MaxWords || nb > MaxPayload {
		return nil, fmt.Errorf("driver-serve: request of %d words and %d bytes is over the limits (%d, %d)", nw, nb, MaxWords, MaxPayload)
	}
	buf := make([]byte, int(nw)*8+int(nb))
	if k, err := io.ReadFull(s.conn, buf); err != nil {
		return nil, fmt.Errorf("driver-serve: truncated request: %s announced %d words and %d bytes, %d bytes came: %w", opName(req.op), nw, nb, k, noEOF(err))
	}
	req.words = make([]uint64, nw)
	for i := range req.words {
		req.words[i] = le.Uint64(buf[8*i:])
	}
	req.data = buf[8*nw:]
	return req, nil
}

// noEOF makes a stream that ended inside a message an unexpected end, so
// that Serve does not take it for the library's orderly close.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (s *Server) write(status uint32, words []uint64, data []byte) error {
	buf := make([]byte, headerSize+8*len(words)+len(data))
	le := binary.LittleEndian
	le.PutUint32(buf[0:], Magic)
	le.PutUint32(buf[4:], status)
	le.PutUint32(buf[8:], uint32(len(words)))
	le.PutUint32(buf[12:], uint32(len(data)))
	for i, w := range words {
		le.PutUint64(buf[headerSize+8*i:], w)
	}
	copy(buf[headerSize+8*len(words):], data)
	_, err := s.conn.Write(buf)
	return err
}

// callErr is a failed request: its CUresult and why, and bytes the
// answer carries all the same (a module load's error log).
type callErr struct {
	code uint32
	msg  string
	data []byte
}

func (e *callErr) Error() string { return e.msg }

func fail(code uint32, format string, a ...any) error {
	return &callErr{code: code, msg: fmt.Sprintf(format, a...)}
}

// handle serves one request; a panic becomes CUDA_ERROR_UNKNOWN rather
// than the end of the program's driver.
func (s *Server) handle(req *request) (status uint32, words []uint64, data []byte) {
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			status, words, data = cuUnknown, nil, nil
			fmt.Fprintf(os.Stderr, "gpubuf driver-serve: internal error serving op %d: %v\n", req.op, r)
		}
	}()
	words, data, err := s.dispatch(req)
	if err != nil {
		code := codeOf(err)
		if s.cfg.Log != nil && code != cuNotReady {
			fmt.Fprintf(s.cfg.Log, "gpubuf driver: %s: %v\n", opName(req.op), err)
		}
		var nr *notReady
		if errors.As(err, &nr) {
			return cuNotReady, []uint64{nr.ticket}, nil
		}
		var ce *callErr
		if errors.As(err, &ce) {
			return code, nil, ce.data
		}
		return code, nil, nil
	}
	return cuSuccess, words, data
}

// notReady is a wait that has not finished: the library asks again with
// the ticket.
type notReady struct{ ticket uint64 }

func (e *notReady) Error() string { return "not ready" }

func opName(op uint16) string {
	names := []string{"", "hello", "device attribute", "device info", "create context", "destroy context", "wait",
		"load module", "unload module", "get function", "get global", "function attribute", "set function attribute",
		"alloc", "free", "memory info", "host alloc", "host free", "host register", "copy HtoD", "copy DtoH",
		"copy DtoD", "memset", "create stream", "destroy stream", "stream wait event", "create event", "record event",
		"elapsed time", "destroy event", "launch", "occupancy", "finish", "merge HtoD"}
	if int(op) < len(names) && op > 0 {
		return names[op]
	}
	return fmt.Sprintf("op %d", op)
}

// codeOf is the CUresult a GPU's driver gives for err.
func codeOf(err error) uint32 {
	var ce *callErr
	var fe *cpuemu.FaultError
	var ae *cpuemu.AssertError
	var le *cpuemu.LimitError
	var te *cpuemu.TimeoutError
	var de *cpuemu.DeadlockError
	var me *cpuemu.DeviceMemoryError
	var se *cpuemu.SyntaxError
	var ue *cpuemu.UnsupportedError
	var nr *notReady
	switch {
	case errors.As(err, &nr):
		return cuNotReady
	case errors.As(err, &ce):
		return ce.code
	case errors.As(err, &fe):
		switch {
		case strings.Contains(fe.Kind, "misaligned"):
			return cuMisalignedAddress
		case fe.Kind == "trap":
			return cuLaunchFailed
		}
		return cuIllegalAddress
	case errors.As(err, &ae):
		return cuAssert
	case errors.As(err, &te), errors.As(err, &de):
		// A GPU's kernel that never ends is stopped by the watchdog.
		return cuLaunchTimeout
	case errors.As(err, &le):
		if strings.Contains(le.Error(), "cooperative") {
			return cuCoopTooLarge
		}
		if strings.Contains(le.Error(), "instruction") {
			return cuLaunchTimeout
		}
		return cuLaunchOutOfResources
	case errors.As(err, &me):
		if me.Op == "alloc" || me.Op == "adopt" || me.Op == "reserve" {
			return cuOutOfMemory
		}
		return cuInvalidValue
	case errors.As(err, &se), errors.As(err, &ue):
		return cuInvalidPTX
	case errors.Is(err, gpu.ErrClosed):
		return cuInvalidHandle
	}
	return cuInvalidValue
}

// isKernelFault says whether code is one that leaves a CUDA context
// unusable: every later call of the context returns it.
func isKernelFault(code uint32) bool {
	switch code {
	case cuIllegalAddress, cuMisalignedAddress, cuAssert, cuLaunchTimeout, cuLaunchFailed:
		return true
	}
	return false
}

func need(req *request, n int) error {
	if len(req.words) < n {
		return fail(cuInvalidValue, "%s: %d arguments, want %d", opName(req.op), len(req.words), n)
	}
	return nil
}

func f32bits(f float32) uint64 { return uint64(math.Float32bits(f)) }
