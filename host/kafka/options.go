package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/gpubuf/gpubuf/gpu"
	"github.com/gpubuf/gpubuf/host"
)

// Delivery is what a Worker guarantees about its results.
type Delivery int

const (
	// AtLeastOnce commits offsets only after the results of the records
	// before them are acknowledged: a crash replays a partition from its
	// last commit, and the replayed results appear again.
	AtLeastOnce Delivery = iota
	// ExactlyOnce produces results and commits offsets in one Kafka
	// transaction: a read_committed reader of the output sees each result
	// once.
	ExactlyOnce
)

func (d Delivery) String() string {
	switch d {
	case AtLeastOnce:
		return "at-least-once"
	case ExactlyOnce:
		return "exactly-once"
	}
	return fmt.Sprintf("Delivery(%d)", int(d))
}

// Framing is how a record's value becomes a fixed-size pipeline record.
type Framing int

const (
	// Fixed: a value is the record, exactly RecordSize bytes. A value of
	// another size goes to the dead-letter topic.
	Fixed Framing = iota
	// LengthPrefixed: a record is a little-endian uint32 length, the value,
	// and zero padding to RecordSize; values of up to RecordSize-4 bytes
	// fit, longer ones go to the dead-letter topic.
	LengthPrefixed
)

func (f Framing) String() string {
	switch f {
	case Fixed:
		return "fixed"
	case LengthPrefixed:
		return "length-prefixed"
	}
	return fmt.Sprintf("Framing(%d)", int(f))
}

// Headers the Worker writes on its output and dead-letter records.
const (
	HeaderPartition = "gpubuf-partition" // the input partition, decimal
	HeaderOffset    = "gpubuf-offset"    // the input offset, decimal (a result per record)
	HeaderOffsets   = "gpubuf-offsets"   // FIRST-LAST, decimal, inclusive (a result per batch)
	HeaderTopic     = "gpubuf-topic"     // dead letters: the input topic
	HeaderReason    = "gpubuf-reason"    // dead letters: why the record was not processed
)

// Limits on what a user can ask for.
const (
	MaxDevices     = 64
	MaxPollRecords = 1 << 20
)

// Sink receives a batch's output records in place of the output topic,
// on the goroutine of the batch's device, in per-partition order. The
// batch's offsets are committed only once it returns nil; an error stops
// the Worker without committing them.
type Sink func(ctx context.Context, records []*kgo.Record) error

// Options configure a Worker.
type Options struct {
	// Brokers are the seed brokers (host:port).
	Brokers []string
	// Topics are the input topics; Group the consumer group.
	Topics []string
	Group  string
	// OutTopic receives the results, unless Sink is set.
	OutTopic string
	// Sink, when set, receives the results instead of OutTopic
	// (AtLeastOnce only: it cannot take part in a transaction).
	Sink Sink
	// DLQTopic receives the records that cannot be processed, with a
	// gpubuf-reason header (default OutTopic+".dlq", or none with a Sink,
	// when such records are an error).
	DLQTopic string
	Delivery Delivery
	Framing  Framing

	// Pipeline configures each device's pipeline: Stages and RecordSize
	// are required; Sink and Results are the Worker's.
	Pipeline host.PipelineOptions
	// Devices are the devices to run on, one pipeline each (at least
	// one). The Worker does not close them.
	Devices []gpu.Device

	// MaxPollRecords bounds one poll (default 4 slots' worth of records
	// per device).
	MaxPollRecords int
	// RevokeTimeout bounds how long a revoke waits for the revoked
	// partitions' batches on the devices (default 10s); those still
	// running then are abandoned uncommitted.
	RevokeTimeout time.Duration
	// CommitInterval is how often acknowledged offsets are committed
	// (AtLeastOnce; default 200ms).
	CommitInterval time.Duration
	// ConnectTimeout bounds the wait for the brokers at start (default
	// 10s).
	ConnectTimeout time.Duration
	// InstanceID turns on static membership: Close then does not leave
	// the group, which keeps the partitions for the same instance until
	// the session times out.
	InstanceID string
	// SessionTimeout is the group session timeout (default kgo's 45s).
	SessionTimeout time.Duration
	// TransactionalID is the ExactlyOnce producer's id (default derived
	// from Group and InstanceID, or made unique).
	TransactionalID string
	// ClientOptions are extra kgo options, applied last.
	ClientOptions []kgo.Opt
}

// withDefaults checks o and fills in its defaults; perSlot is the records
// per slot. Errors name the field.
func (o Options) withDefaults() (Options, error) {
	switch {
	case len(o.Brokers) == 0:
		return o, errors.New("kafka: Options.Brokers: name at least one broker")
	case len(o.Topics) == 0:
		return o, errors.New("kafka: Options.Topics: name at least one input topic")
	case o.Group == "":
		return o, errors.New("kafka: Options.Group: a consumer group is required")
	case o.OutTopic == "" && o.Sink == nil:
		return o, errors.New("kafka: Options.OutTopic: give an output topic or a Sink")
	case o.OutTopic != "" && o.Sink != nil:
		return o, errors.New("kafka: Options.OutTopic and Options.Sink: give one, not both")
	case o.Sink != nil && o.Delivery == ExactlyOnce:
		return o, errors.New("kafka: Options.Sink: exactly-once needs the output topic (a Go sink cannot take part in a Kafka transaction)")
	case o.Delivery != AtLeastOnce && o.Delivery != ExactlyOnce:
		return o, fmt.Errorf("kafka: Options.Delivery %d: want AtLeastOnce or ExactlyOnce", int(o.Delivery))
	case o.Framing != Fixed && o.Framing != LengthPrefixed:
		return o, fmt.Errorf("kafka: Options.Framing %d: want Fixed or LengthPrefixed", int(o.Framing))
	case len(o.Devices) == 0:
		return o, errors.New("kafka: Options.Devices: give at least one device")
	case len(o.Devices) > MaxDevices:
		return o, fmt.Errorf("kafka: Options.Devices: %d devices, want at most %d", len(o.Devices), MaxDevices)
	case o.Pipeline.Sink != nil:
		return o, errors.New("kafka: Options.Pipeline.Sink: the Worker takes the pipeline's results; use Options.Sink")
	case o.Pipeline.RecordSize <= 0:
		return o, fmt.Errorf("kafka: Options.Pipeline.RecordSize %d: must be positive", o.Pipeline.RecordSize)
	case o.Framing == LengthPrefixed && o.Pipeline.RecordSize <= 4:
		return o, fmt.Errorf("kafka: Options.Pipeline.RecordSize %d: a length-prefixed record needs more than its 4-byte length", o.Pipeline.RecordSize)
	}
	for _, t := range o.Topics {
		if t == "" || strings.ContainsAny(t, " ,") {
			return o, fmt.Errorf("kafka: Options.Topics: %q is not a topic name", t)
		}
	}
	if o.Pipeline.SlotSize == 0 {
		o.Pipeline.SlotSize = max(1<<20, o.Pipeline.RecordSize)
	}
	if o.Pipeline.SlotSize < o.Pipeline.RecordSize {
		return o, fmt.Errorf("kafka: a %d-byte record does not fit a %d-byte slot (Options.Pipeline.SlotSize)", o.Pipeline.RecordSize, o.Pipeline.SlotSize)
	}
	if o.Pipeline.Slots == 0 {
		o.Pipeline.Slots = 4
	}
	if o.DLQTopic == "" && o.OutTopic != "" {
		o.DLQTopic = o.OutTopic + ".dlq"
	}
	perSlot := o.Pipeline.SlotSize / o.Pipeline.RecordSize
	if o.MaxPollRecords == 0 {
		o.MaxPollRecords = min(MaxPollRecords, 4*perSlot*len(o.Devices))
	}
	if o.MaxPollRecords < 0 || o.MaxPollRecords > MaxPollRecords {
		return o, fmt.Errorf("kafka: Options.MaxPollRecords %d: want 1..%d", o.MaxPollRecords, MaxPollRecords)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"RevokeTimeout", &o.RevokeTimeout, 10 * time.Second},
		{"CommitInterval", &o.CommitInterval, 200 * time.Millisecond},
		{"ConnectTimeout", &o.ConnectTimeout, 10 * time.Second},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < 0 {
			return o, fmt.Errorf("kafka: Options.%s %v: must be positive", d.name, *d.v)
		}
	}
	if o.SessionTimeout < 0 {
		return o, fmt.Errorf("kafka: Options.SessionTimeout %v: must not be negative", o.SessionTimeout)
	}
	return o, nil
}

// HeldRecordsBound is the most input records a Worker with these options
// holds at once, polled and not yet done with: per device, the records of
// every slot, of every batch on the device (Depth) or waiting in its
// completion queue (Slots+Depth), of the result being handed over, of the
// Slots results waiting for their acknowledgement, and of the run queued
// for it and the run its feeder holds; and one poll. Stats.MaxHeldRecords
// stays at or under it.
func (o Options) HeldRecordsBound() int {
	o, err := o.withDefaults()
	if err != nil {
		return 0
	}
	perSlot := o.Pipeline.SlotSize / o.Pipeline.RecordSize
	depth := o.Pipeline.Depth
	if depth == 0 {
		depth = o.Pipeline.Slots
	}
	perDevice := perSlot * (3*o.Pipeline.Slots + 2*depth + 3)
	return len(o.Devices)*perDevice + o.MaxPollRecords
}
