// Package kafka feeds GPU batch pipelines from Kafka consumer groups and
// writes their results back to Kafka, through franz-go (kgo): a Worker is
// one member of a consumer group, with one staging ring (host.Pipeline) per
// device.
//
//	topic partitions ──poll──▶ runs of one partition's records ──▶ ring of device d (partition → d)
//	                                                                    │ batch kernels
//	committed offsets ◀── contiguous prefix of acknowledged batches ◀──┴── output topic (or a Go Sink)
//
// A batch holds a run of one partition's records in offset order, and a
// partition always goes to the same device, whose ring delivers results in
// submission order: per-partition (so per-key) order holds from the input
// topic to the output topic.
//
// Delivery is at least once by default: a partition's offset is committed
// only up to the last record of the longest prefix of its batches whose
// results the brokers (or the Sink) acknowledged. On a cooperative
// rebalance, the batches of revoked partitions that are on a device finish
// and are committed before the revoke returns (within RevokeTimeout, then
// abandoned without commit); those not yet submitted are dropped. With
// ExactlyOnce, results and offsets go in one transaction
// (kgo.GroupTransactSession): every record polled is run and produced
// before the transaction ends, so the offsets it commits are exactly those
// processed; a rebalance aborts the transaction and the records are
// processed again.
//
// When a device's ring is full, fetching pauses for that device's
// partitions (kgo's PauseFetchPartitions): memory stays bounded by the
// slots, the poll size and the fetch limits (Options.HeldRecordsBound).
//
// See RATIONALE.md, "Kafka", for the choices and their limits.
package kafka
