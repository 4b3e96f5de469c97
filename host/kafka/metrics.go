package kafka

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exposes a worker's Stats as Prometheus metrics (all named
// gpubuf_kafka_*), read afresh at each scrape: register it with a
// prometheus.Registry and serve that with promhttp, as `gpubuf run
// --metrics ADDR` does.
func (w *Worker) Collector() prometheus.Collector { return newCollector(w.Stats) }

// metric is one metric of the collector: how to read it from Stats.
type metric struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	val  func(*Stats) float64
}

type collector struct {
	stats    func() Stats
	metrics  []metric
	lag      *prometheus.Desc
	inFlight *prometheus.Desc
}

func newCollector(stats func() Stats) *collector {
	c := &collector{stats: stats}
	add := func(name, help string, typ prometheus.ValueType, val func(*Stats) float64) {
		c.metrics = append(c.metrics, metric{prometheus.NewDesc("gpubuf_kafka_"+name, help, nil, nil), typ, val})
	}
	counter, gauge := prometheus.CounterValue, prometheus.GaugeValue
	add("records_in_total", "Records polled from the input topics.", counter, func(s *Stats) float64 { return float64(s.RecordsIn) })
	add("records_out_total", "Results acknowledged by the brokers (or taken by the sink, or committed in a transaction).", counter, func(s *Stats) float64 { return float64(s.RecordsOut) })
	add("dead_letters_total", "Records sent to the dead-letter topic.", counter, func(s *Stats) float64 { return float64(s.DeadLetters) })
	add("batches_total", "Batches the devices returned.", counter, func(s *Stats) float64 { return float64(s.Batches) })
	add("failed_batches_total", "Batches that failed on a device.", counter, func(s *Stats) float64 { return float64(s.FailedBatches) })
	add("commits_total", "Offset commits (exactly once: committed transactions).", counter, func(s *Stats) float64 { return float64(s.Commits) })
	add("commit_errors_total", "Offset commits that failed.", counter, func(s *Stats) float64 { return float64(s.CommitErrors) })
	add("commit_latency_seconds", "Mean time of an offset commit.", gauge, func(s *Stats) float64 { return s.CommitLatency.Seconds() })
	add("commit_latency_max_seconds", "Longest offset commit.", gauge, func(s *Stats) float64 { return s.CommitLatencyMax.Seconds() })
	add("transactions_total", "Committed transactions (exactly once).", counter, func(s *Stats) float64 { return float64(s.Transactions) })
	add("aborted_transactions_total", "Aborted transactions (exactly once).", counter, func(s *Stats) float64 { return float64(s.Aborted) })
	add("rebalances_total", "Assignment changes this worker saw.", counter, func(s *Stats) float64 { return float64(s.Rebalances) })
	add("abandoned_batches_total", "Batches a revoke gave up waiting for.", counter, func(s *Stats) float64 { return float64(s.Abandoned) })
	add("paused_seconds_total", "Time fetching was paused for a full device.", counter, func(s *Stats) float64 { return s.Paused.Seconds() })
	add("pauses_total", "Times fetching was paused for a full device.", counter, func(s *Stats) float64 { return float64(s.Pauses) })
	add("held_records_max", "The most input records held at once.", gauge, func(s *Stats) float64 { return float64(s.MaxHeldRecords) })
	add("held_records_bound", "The bound the records held stay under.", gauge, func(s *Stats) float64 { return float64(s.HeldRecordsBound) })
	add("fetch_errors_total", "Fetch errors.", counter, func(s *Stats) float64 { return float64(s.FetchErrors) })
	add("produce_errors_total", "Produce errors.", counter, func(s *Stats) float64 { return float64(s.ProduceErrors) })
	c.lag = prometheus.NewDesc("gpubuf_kafka_partition_lag", "Records of an assigned partition not yet committed (end offset minus committed offset).", []string{"topic", "partition", "device"}, nil)
	c.inFlight = prometheus.NewDesc("gpubuf_kafka_device_batches_in_flight", "Batches on a device now.", []string{"device"}, nil)
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.metrics {
		ch <- m.desc
	}
	ch <- c.lag
	ch <- c.inFlight
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for _, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, m.val(&st))
	}
	for _, p := range st.Partitions {
		if p.Lag < 0 {
			continue // not known yet
		}
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(p.Lag), p.Topic, strconv.Itoa(int(p.Partition)), strconv.Itoa(p.Device))
	}
	for _, d := range st.Devices {
		ch <- prometheus.MustNewConstMetric(c.inFlight, prometheus.GaugeValue, float64(d.InFlight), strconv.Itoa(d.Device))
	}
}
