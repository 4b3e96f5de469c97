package host_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log"

	"github.com/gpubuf/gpubuf/gpu"
	_ "github.com/gpubuf/gpubuf/gpu/emu" // the emulator backend; add gpu/cuda (-tags cuda) for GPUs
	"github.com/gpubuf/gpubuf/host"
)

// A pipeline that sums, and finds the min and max of, records of four
// 32-bit words, 3 records to a slot, on the emulator.
func ExamplePipeline() {
	dev, err := gpu.Open(gpu.Options{Backend: gpu.BackendEmu})
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Close()

	reduce, err := host.BatchKernel("batch_reduce")
	if err != nil {
		log.Fatal(err)
	}
	p, err := host.NewPipeline(dev, host.PipelineOptions{
		Stages:     []host.KernelSpec{reduce.Spec},
		RecordSize: 16,     // 4 words
		SlotSize:   3 * 16, // 3 records a batch
		Slots:      2,
	})
	if err != nil {
		log.Fatal(err)
	}

	// Record r holds r, r+1, r+2, r+3: sum 4r+6, min r, max r+3.
	records := make([]byte, 5*16)
	for r := range 5 {
		for i := range 4 {
			binary.LittleEndian.PutUint32(records[16*r+4*i:], uint32(r+i))
		}
	}
	// Push from one goroutine, read results in this one; Close ends
	// Results once the last batch is out.
	pushed := make(chan error, 1)
	go func() {
		err := p.Push(context.Background(), records)
		pushed <- errors.Join(err, p.Close())
	}()
	for res := range p.Results() {
		if res.Err != nil {
			log.Fatal(res.Err)
		}
		w := host.Words(res.Out)
		for i := range res.Records {
			fmt.Printf("batch %d record %d: sum %d min %d max %d\n", res.Seq, res.FirstRecord+uint64(i), w[3*i], w[3*i+1], w[3*i+2])
		}
	}
	if err := <-pushed; err != nil {
		log.Fatal(err)
	}
	// Output:
	// batch 0 record 0: sum 6 min 0 max 3
	// batch 0 record 1: sum 10 min 1 max 4
	// batch 0 record 2: sum 14 min 2 max 5
	// batch 1 record 3: sum 18 min 3 max 6
	// batch 1 record 4: sum 22 min 4 max 7
}
