package host

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
)

func TestRingSmoke(t *testing.T) {
	dev := openEmu(t)
	r, err := NewRing(dev, RingOptions{Slots: 3, SlotSize: 64, Stage: echoStage{64}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 50
	go func() {
		for i := range n {
			s, err := r.Acquire(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			k := copy(s.Bytes(), []byte{byte(i), byte(i + 1), byte(i + 2)})
			if err := r.Submit(s, k+i%5, uint64(i*10)); err != nil {
				t.Error(err)
			}
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}()
	got := 0
	for {
		c, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		i := got
		if c.Seq != uint64(i) || c.Tag != uint64(i*10) || c.Err != nil {
			t.Fatalf("completion %d: %+v", i, c)
		}
		if !bytes.Equal(c.Result[:3], []byte{byte(i), byte(i + 1), byte(i + 2)}) || len(c.Result) != 3+i%5 {
			t.Fatalf("completion %d: result %v", i, c.Result)
		}
		got++
	}
	if got != n {
		t.Fatalf("got %d completions, want %d", got, n)
	}
	st := r.Stats()
	t.Logf("%+v", st)
}
