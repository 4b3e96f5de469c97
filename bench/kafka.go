package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/host"
	"github.com/gpubuf/gpubuf/host/kafka"
)

// KafkaCase is one end-to-end measurement: Records records of
// RecordSize bytes on a Partitions-partition topic of an in-process
// kfake cluster of Brokers brokers on loopback, through Kernel by one
// worker (host/kafka) with the given delivery, against the same records
// pushed through a pipeline of the same kernel and ring alone.
type KafkaCase struct {
	Records    int
	RecordSize int
	SlotSize   int
	Partitions int
	Brokers    int
	Kernel     string
	Delivery   kafka.Delivery
}

// KafkaResult is a KafkaCase's measurement.
type KafkaResult struct {
	Delivery   string  `json:"delivery"`
	Kernel     string  `json:"kernel"`
	Records    int     `json:"records"`
	RecordSize int     `json:"record_size"`
	Partitions int     `json:"partitions"`
	Brokers    int     `json:"brokers"`
	Seconds    float64 `json:"seconds"`
	// RecordsPerSec is end to end: from the worker's start (its group
	// join included) until the last result is acknowledged (or its
	// transaction committed).
	RecordsPerSec float64 `json:"records_per_s"`
	// RingRecordsPerSec is the ring alone on the same records and kernel.
	RingRecordsPerSec float64 `json:"ring_records_per_s"`
	// Ratio is RecordsPerSec / RingRecordsPerSec.
	Ratio        float64 `json:"ratio"`
	Transactions uint64  `json:"transactions,omitempty"`
	Commits      uint64  `json:"commits"`
}

// Bounds of a KafkaCase: kfake keeps every record in memory.
const (
	MaxKafkaRecords    = 5_000_000
	MaxKafkaPartitions = 1024
)

func (c KafkaCase) withDefaults() (KafkaCase, error) {
	if c.Records == 0 {
		c.Records = 100_000
	}
	if c.RecordSize == 0 {
		c.RecordSize = 256
	}
	if c.SlotSize == 0 {
		c.SlotSize = 256 << 10
	}
	if c.Partitions == 0 {
		c.Partitions = 12
	}
	if c.Brokers == 0 {
		c.Brokers = 3
	}
	if c.Kernel == "" {
		c.Kernel = "batch_checksum"
	}
	switch {
	case c.Records < 0 || c.Records > MaxKafkaRecords:
		return c, fmt.Errorf("kafka: %d records: want 1..%d", c.Records, MaxKafkaRecords)
	case c.RecordSize <= 0 || c.RecordSize > c.SlotSize:
		return c, fmt.Errorf("kafka: record size %d: want 1..the slot size %d", c.RecordSize, c.SlotSize)
	case c.Partitions < 0 || c.Partitions > MaxKafkaPartitions:
		return c, fmt.Errorf("kafka: %d partitions: want 1..%d", c.Partitions, MaxKafkaPartitions)
	case c.Brokers < 0 || c.Brokers > 16:
		return c, fmt.Errorf("kafka: %d brokers: want 1..16", c.Brokers)
	}
	return c, nil
}

// Kafka measures c on dev: the ring alone first, then end to end.
func Kafka(dev gpu.Device, c KafkaCase) (KafkaResult, error) {
	c, err := c.withDefaults()
	if err != nil {
		return KafkaResult{}, err
	}
	k, err := host.BatchKernel(c.Kernel)
	if err != nil {
		return KafkaResult{}, err
	}
	po := host.PipelineOptions{Stages: []host.KernelSpec{k.Spec}, RecordSize: c.RecordSize, SlotSize: c.SlotSize}
	res := KafkaResult{Delivery: c.Delivery.String(), Kernel: c.Kernel, Records: c.Records, RecordSize: c.RecordSize, Partitions: c.Partitions, Brokers: c.Brokers}
	values := make([][]byte, c.Records)
	g := rand.New(rand.NewPCG(1, 2))
	for i := range values {
		v := make([]byte, c.RecordSize)
		for j := range v {
			v[j] = byte(g.Uint32())
		}
		values[i] = v
	}

	ring, err := ringAlone(dev, po, values)
	if err != nil {
		return res, err
	}
	res.RingRecordsPerSec = float64(c.Records) / ring.Seconds()

	cluster, err := kfake.NewCluster(kfake.NumBrokers(c.Brokers), kfake.SeedTopics(int32(c.Partitions), "in", "out"))
	if err != nil {
		return res, fmt.Errorf("kafka: %w", err)
	}
	defer cluster.Close()
	if err := produce(cluster.ListenAddrs(), values); err != nil {
		return res, err
	}
	w, err := kafka.New(kafka.Options{
		Brokers: cluster.ListenAddrs(), Topics: []string{"in"}, Group: "bench", OutTopic: "out",
		Delivery: c.Delivery, Devices: []gpu.Device{dev}, Pipeline: po,
		CommitInterval: 20 * time.Millisecond,
	})
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- w.Run(ctx, 0) }()
	var elapsed time.Duration
	for {
		if w.Stats().RecordsOut >= uint64(c.Records) {
			elapsed = time.Since(start)
			break
		}
		select {
		case err := <-done:
			w.Close()
			cancel()
			return res, errors.Join(errors.New("kafka: the worker stopped before the last result"), err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	err = <-done
	w.Close()
	if err != nil {
		return res, err
	}
	st := w.Stats()
	res.Seconds = elapsed.Seconds()
	res.RecordsPerSec = float64(c.Records) / res.Seconds
	res.Ratio = res.RecordsPerSec / res.RingRecordsPerSec
	res.Transactions, res.Commits = st.Transactions, st.Commits
	return res, nil
}

// ringAlone pushes the values through a pipeline and waits for the last
// result.
func ringAlone(dev gpu.Device, po host.PipelineOptions, values [][]byte) (time.Duration, error) {
	p, err := host.NewPipeline(dev, po)
	if err != nil {
		return 0, err
	}
	perSlot := p.RecordsPerBatch()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < len(values) && err == nil; i += perSlot {
			chunk := values[i:min(len(values), i+perSlot)]
			err = p.Fill(context.Background(), len(chunk), func(buf []byte) (int, error) {
				for j, v := range chunk {
					copy(buf[j*po.RecordSize:], v)
				}
				return len(chunk), nil
			})
		}
		errc <- errors.Join(err, p.Close())
	}()
	var firstErr error
	for r := range p.Results() {
		if r.Err != nil && firstErr == nil {
			firstErr = r.Err
		}
	}
	elapsed := time.Since(start)
	return elapsed, errors.Join(<-errc, firstErr)
}

func produce(brokers []string, values [][]byte) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic("in"))
	if err != nil {
		return err
	}
	defer cl.Close()
	const chunk = 8192
	for i := 0; i < len(values); i += chunk {
		var recs []*kgo.Record
		for j := i; j < min(len(values), i+chunk); j++ {
			recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "key-%d", j%64), Value: values[j]})
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			return fmt.Errorf("kafka: producing the input: %w", err)
		}
	}
	return nil
}
