package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestRunKafkaBadInput: each bad input exits 2 with a message that names
// its flag, and an unreachable broker is given up on within the bounded
// wait.
func TestRunKafkaBadInput(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unreachable", []string{"--kafka", "127.0.0.1:1", "--topic", "in", "--out-topic", "out", "--connect-timeout", "300ms"}, "--kafka: kafka: brokers unreachable"},
		{"missing input", []string{"--kafka", brokers, "--topic", "nope", "--out-topic", "out"}, `--topic nope: kafka: topic does not exist`},
		{"missing output", []string{"--kafka", brokers, "--topic", "in", "--out-topic", "nope"}, `--out-topic nope: kafka: topic does not exist`},
		{"no topic", []string{"--kafka", brokers, "--out-topic", "out"}, "--topic: name the input topic"},
		{"same topics", []string{"--kafka", brokers, "--topic", "in", "--out-topic", "in"}, "--topic and --out-topic are both"},
		{"record larger than slot", []string{"--kafka", "embedded", "--record-size", "2M"}, "--slot-size 1048576 is smaller than one 2097152-byte record (--record-size)"},
		{"input conflicts", []string{"--kafka", "embedded", "--input", "x"}, "--input conflicts with --kafka"},
		{"unordered conflicts", []string{"--kafka", "embedded", "--unordered"}, "--unordered conflicts with --kafka"},
		{"partitions without embedded", []string{"--kafka", brokers, "--topic", "in", "--out-topic", "out", "--partitions", "3"}, "--partitions sizes the embedded cluster's topic"},
		{"verify without embedded", []string{"--kafka", brokers, "--topic", "in", "--out-topic", "out", "--verify"}, "--verify with --kafka needs the inputs"},
		{"bad devices", []string{"--kafka", "embedded", "--devices", "0,0"}, `--devices "0,0": device 0 is named twice`},
		{"bad device", []string{"--kafka", "embedded", "--devices", "x"}, `--devices "x": "x" is not a device ordinal`},
		{"negative idle", []string{"--kafka", "embedded", "--exit-when-idle", "-1s"}, "--exit-when-idle -1s: must not be negative"},
		{"too many partitions", []string{"--kafka", "embedded", "--partitions", "5000"}, "--partitions 5000: want 1..1024"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := runCmd(tc.args, nil, &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestRunKafkaEmbedded: the embedded demo runs every record through two
// emulated devices, exactly once, and every result matches the Go
// reference.
func TestRunKafkaEmbedded(t *testing.T) {
	for _, eos := range []bool{false, true} {
		args := []string{"--kafka", "embedded", "--records", "3000", "--record-size", "64", "--slot-size", "4K", "--partitions", "6",
			"--devices", "0,1", "--verify", "--json", "--progress", "never", "--exit-when-idle", "300ms"}
		if eos {
			args = append(args, "--exactly-once")
		}
		var stdout, stderr bytes.Buffer
		if code := runCmd(args, nil, &stdout, &stderr); code != exitOK {
			t.Fatalf("exactly-once %v: exit %d; stderr: %s", eos, code, stderr.String())
		}
		var sum struct {
			Devices  int `json:"devices"`
			Verified int `json:"verified"`
			Missing  int `json:"missing"`
			Kafka    struct {
				Delivery string `json:"delivery"`
				In       uint64 `json:"records_in"`
				Commits  uint64 `json:"commits"`
			} `json:"kafka"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
			t.Fatalf("%v: %s", err, stdout.String())
		}
		want := "at-least-once"
		if eos {
			want = "exactly-once"
		}
		if sum.Verified != 3000 || sum.Missing != 0 || sum.Devices != 2 || sum.Kafka.Delivery != want || sum.Kafka.In < 3000 || sum.Kafka.Commits == 0 {
			t.Errorf("exactly-once %v: %+v", eos, sum)
		}
	}
}
