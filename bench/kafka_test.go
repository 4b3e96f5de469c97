package bench_test

import (
	"strings"
	"testing"

	"github.com/gpubuf/gpubuf/bench"
	"github.com/gpubuf/gpubuf/host/kafka"
)

// TestKafka: both deliveries carry every record end to end, and the ratio
// is the two measured rates' quotient.
func TestKafka(t *testing.T) {
	dev := openEmu(t)
	for _, d := range []kafka.Delivery{kafka.AtLeastOnce, kafka.ExactlyOnce} {
		r, err := bench.Kafka(dev, bench.KafkaCase{Records: 3000, Partitions: 4, Delivery: d})
		if err != nil {
			t.Fatalf("%v: %v", d, err)
		}
		if r.Records != 3000 || r.RecordsPerSec <= 0 || r.RingRecordsPerSec <= 0 || r.Commits == 0 {
			t.Errorf("%v: %+v", d, r)
		}
		if want := r.RecordsPerSec / r.RingRecordsPerSec; r.Ratio != want {
			t.Errorf("%v: ratio %v, want %v", d, r.Ratio, want)
		}
	}
	if _, err := bench.Kafka(dev, bench.KafkaCase{Records: bench.MaxKafkaRecords + 1}); err == nil || !strings.Contains(err.Error(), "records") {
		t.Errorf("too many records: %v", err)
	}
}
