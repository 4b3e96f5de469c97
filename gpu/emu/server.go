package emu

import (
	"github.com/gpubuf/gpubuf/cpuemu"
	"github.com/gpubuf/gpubuf/gpu"
)

// What a CUDA driver served from the emulator (gpubuf driver-serve) needs
// beyond package gpu's interfaces: the device's memory at any address, host
// memory it does not allocate, host work in stream order, and launches with
// raw parameter bytes. Each takes the gpu value and fails for another
// backend's.

// Memory is dev's emulated memory, for copies at any device address (the
// driver API's pointers point inside allocations).
func Memory(dev gpu.Device) (*cpuemu.Device, error) {
	d, ok := dev.(*device)
	if !ok {
		return nil, msgErr("memory", "device %T is not the emulator's", dev)
	}
	return d.mem, nil
}

// AdoptHost makes b, memory the caller owns (a mapping shared with another
// process), a mapped host buffer of dev: kernels reach it at DevicePtr,
// zero-copy (cpuemu's Device.Adopt). Free forgets b; the caller unmaps it.
func AdoptHost(dev gpu.Device, b []byte) (gpu.HostBuffer, error) {
	const op = "adopt host memory"
	d, ok := dev.(*device)
	if !ok {
		return nil, msgErr(op, "device %T is not the emulator's", dev)
	}
	if d.isClosed() {
		return nil, closedErr(op, "device is closed")
	}
	p, err := d.mem.Adopt(b)
	if err != nil {
		return nil, opErr(op, err)
	}
	h := &hostBuffer{d: d, bytes: b, mapped: true, ptr: p}
	if err := register(d, &d.hosts, h, op); err != nil {
		h.release()
		return nil, err
	}
	return h, nil
}

// Do queues run on s, in the stream's order, like any other work: it runs
// after the work queued before it, and a stream that has failed skips it.
// run may read and write Memory(dev); a kernel never runs at the same time
// on the device.
func Do(s gpu.Stream, op string, run func() error) error {
	st, ok := s.(*stream)
	if !ok {
		return msgErr(op, "stream %T is not the emulator's", s)
	}
	return st.enqueue(op, task{run: func(error) error {
		st.d.exec.Lock()
		defer st.d.exec.Unlock()
		return run()
	}})
}

// KernelEntry is k's entry as cpuemu describes it: parameters, static
// shared and local memory.
func KernelEntry(k gpu.Kernel) (cpuemu.Entry, error) {
	kk, ok := k.(*kernel)
	if !ok || kk == nil {
		return cpuemu.Entry{}, msgErr("kernel", "kernel %T is not the emulator's", k)
	}
	return kk.entry, nil
}

// LaunchRaw queues k with its parameters as the bytes a driver's caller
// gave (params[i] of the size of parameter i), checked by cpuemu when the
// launch runs, by-value structs of any size included. done is called with
// the launch's result and error on the stream's goroutine; what it
// returns becomes the launch's error, so that a driver can keep a
// checker's report from failing the stream, as compute-sanitizer does.
func LaunchRaw(s gpu.Stream, k gpu.Kernel, cfg gpu.LaunchConfig, params [][]byte, done func(*cpuemu.Result, error) error) error {
	st, ok := s.(*stream)
	if !ok {
		return msgErr("launch", "stream %T is not the emulator's", s)
	}
	kk, ok := k.(*kernel)
	if !ok || kk == nil {
		return msgErr("launch", "kernel %T is not the emulator's", k)
	}
	name := kk.entry.Name
	op := "launch " + name
	if kk.m.d != st.d {
		return msgErr(op, "kernel belongs to another device")
	}
	if len(params) != len(kk.entry.Params) {
		return msgErr(op, "%d parameters given; the kernel has %d", len(params), len(kk.entry.Params))
	}
	values := make([]any, len(params))
	for i, p := range params {
		if len(p) != kk.entry.Params[i].Size {
			return msgErr(op, "parameter %d (%s) is %d bytes; %d given", i, kk.entry.Params[i].Name, kk.entry.Params[i].Size, len(p))
		}
		values[i] = p
	}
	ccfg, err := kk.config(cfg, LaunchOptions{})
	if err != nil {
		return opErr(op, err)
	}
	m := kk.m
	if !m.refs.acquire() {
		return closedErr(op, "module "+m.Name()+" is closed")
	}
	return st.enqueue(op, task{run: st.launchRun(op, m, name, ccfg, values, done), free: m.launchDone})
}
