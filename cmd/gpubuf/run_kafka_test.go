package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
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

// lockedBuffer is a bytes.Buffer one goroutine writes while another reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRunKafkaEmbeddedJoined: the embedded worker prints the command that
// joins its group; a second worker started with it takes part of the
// partitions and leaves early, and the embedded worker exits only when the
// whole group has committed the input to its end, so --verify finds every
// result. A topic with fewer records than partitions (empty partitions)
// also ends.
func TestRunKafkaEmbeddedJoined(t *testing.T) {
	var stdout bytes.Buffer
	stderr := &lockedBuffer{}
	args := []string{"--kafka", "embedded", "--records", "20000", "--record-size", "64", "--slot-size", "4K", "--partitions", "6",
		"--verify", "--json", "--progress", "never", "--exit-when-idle", "500ms"}
	code := make(chan int, 1)
	go func() { code <- runCmd(args, nil, &stdout, stderr) }()
	var join []string
	for deadline := time.Now().Add(20 * time.Second); join == nil && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, after, ok := strings.Cut(stderr.String(), "more workers can join the group: gpubuf run "); ok {
			line, _, _ := strings.Cut(after, "\n")
			join = strings.Fields(line)
		}
	}
	if join == nil {
		t.Fatalf("no join command printed; stderr: %s", stderr.String())
	}
	var jout, jerr bytes.Buffer
	if c := runCmd(append(join, "--progress", "never", "--exit-when-idle", "100ms"), nil, &jout, &jerr); c != exitOK {
		t.Errorf("the joined worker: exit %d; stderr: %s", c, jerr.String())
	}
	select {
	case c := <-code:
		if c != exitOK {
			t.Fatalf("embedded worker: exit %d; stderr: %s", c, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the embedded worker did not end")
	}
	var sum struct {
		Verified int `json:"verified"`
		Missing  int `json:"missing"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if sum.Verified != 20000 || sum.Missing != 0 {
		t.Errorf("verified %d, missing %d; want 20000 and 0", sum.Verified, sum.Missing)
	}

	stdout.Reset()
	few := []string{"--kafka", "embedded", "--records", "4", "--partitions", "6", "--verify", "--json", "--progress", "never", "--exit-when-idle", "200ms"}
	if c := runCmd(few, nil, &stdout, &bytes.Buffer{}); c != exitOK || !strings.Contains(stdout.String(), `"verified": 4`) {
		t.Errorf("4 records over 6 partitions: exit %d, %s", c, stdout.String())
	}
}

// TestRunKafkaMetrics: --metrics serves the worker's Stats in
// Prometheus's text format while it runs; without --kafka, or on an
// address that cannot be listened on, it is bad usage.
func TestRunKafkaMetrics(t *testing.T) {
	stderr := &lockedBuffer{}
	args := []string{"--kafka", "embedded", "--records", "2000", "--progress", "never", "--exit-when-idle", "1s", "--metrics", "127.0.0.1:0"}
	code := make(chan int, 1)
	go func() { code <- runCmd(args, nil, &bytes.Buffer{}, stderr) }()
	var url string
	for deadline := time.Now().Add(20 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, after, ok := strings.Cut(stderr.String(), "metrics at "); ok {
			url, _, _ = strings.Cut(after, "\n")
		}
	}
	if url == "" {
		t.Fatalf("no metrics address printed; stderr: %s", stderr.String())
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"# TYPE gpubuf_kafka_records_in_total counter", "gpubuf_kafka_held_records_bound ", "# TYPE gpubuf_kafka_device_batches_in_flight gauge"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if c := <-code; c != exitOK {
		t.Errorf("exit %d; stderr: %s", c, stderr.String())
	}
	for _, bad := range [][]string{{"--metrics", ":0"}, {"--kafka", "embedded", "--records", "10", "--metrics", "256.0.0.1:1"}} {
		var errb bytes.Buffer
		if c := runCmd(bad, nil, &bytes.Buffer{}, &errb); c != exitUsage || !strings.Contains(errb.String(), "--metrics") {
			t.Errorf("%v: exit %d, %s", bad, c, errb.String())
		}
	}
}
