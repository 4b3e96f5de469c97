package kafka

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestCollector: the collector reads Stats at each scrape and exposes it
// in Prometheus's text format with the names, types and labels below;
// expected values are the Stats given, in seconds where a duration.
func TestCollector(t *testing.T) {
	st := Stats{
		RecordsIn: 1200, RecordsOut: 1100, Commits: 7, CommitLatency: 1500 * time.Microsecond, Paused: 2 * time.Second,
		Partitions: []PartitionLag{{Topic: "in", Partition: 3, Device: 1, Lag: 40}, {Topic: "in", Partition: 4, Lag: -1}},
		Devices:    []DeviceStats{{Device: 0, InFlight: 2}, {Device: 1, InFlight: 0}},
	}
	c := newCollector(func() Stats { return st })
	want := `
# HELP gpubuf_kafka_commit_latency_seconds Mean time of an offset commit.
# TYPE gpubuf_kafka_commit_latency_seconds gauge
gpubuf_kafka_commit_latency_seconds 0.0015
# HELP gpubuf_kafka_device_batches_in_flight Batches on a device now.
# TYPE gpubuf_kafka_device_batches_in_flight gauge
gpubuf_kafka_device_batches_in_flight{device="0"} 2
gpubuf_kafka_device_batches_in_flight{device="1"} 0
# HELP gpubuf_kafka_partition_lag Records of an assigned partition not yet committed (end offset minus committed offset).
# TYPE gpubuf_kafka_partition_lag gauge
gpubuf_kafka_partition_lag{device="1",partition="3",topic="in"} 40
# HELP gpubuf_kafka_paused_seconds_total Time fetching was paused for a full device.
# TYPE gpubuf_kafka_paused_seconds_total counter
gpubuf_kafka_paused_seconds_total 2
# HELP gpubuf_kafka_records_in_total Records polled from the input topics.
# TYPE gpubuf_kafka_records_in_total counter
gpubuf_kafka_records_in_total 1200
`
	names := []string{"gpubuf_kafka_commit_latency_seconds", "gpubuf_kafka_device_batches_in_flight", "gpubuf_kafka_partition_lag",
		"gpubuf_kafka_paused_seconds_total", "gpubuf_kafka_records_in_total"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	// A later scrape reads the stats again.
	st.RecordsIn = 1300
	again := "# HELP gpubuf_kafka_records_in_total Records polled from the input topics.\n# TYPE gpubuf_kafka_records_in_total counter\ngpubuf_kafka_records_in_total 1300\n"
	if err := testutil.CollectAndCompare(c, strings.NewReader(again), "gpubuf_kafka_records_in_total"); err != nil {
		t.Error(err)
	}
	// 19 plain metrics, the one partition of known lag, the two devices.
	if n := testutil.CollectAndCount(c); n != 19+1+2 {
		t.Errorf("%d metrics, want 22", n)
	}
}
