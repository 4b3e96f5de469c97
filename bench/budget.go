package bench

import (
	"fmt"
	"time"
)

// DefaultDuration is how long a case runs when its Budget is zero.
const DefaultDuration = 500 * time.Millisecond

// minTimedReps is the fewest timed repetitions of a case run for a
// duration.
const minTimedReps = 2

// Budget is how long one case runs: exactly N repetitions (batches,
// messages or launches) when N > 0, else as many as start within
// Duration, and at least two; the zero Budget runs for DefaultDuration.
type Budget struct {
	N        int
	Duration time.Duration
}

func (b Budget) check() (Budget, error) {
	switch {
	case b.N < 0:
		return b, fmt.Errorf("bench: %d repetitions: must not be negative", b.N)
	case b.Duration < 0:
		return b, fmt.Errorf("bench: duration %v: must not be negative", b.Duration)
	case b.N == 0 && b.Duration == 0:
		b.Duration = DefaultDuration
	}
	return b, nil
}

// more reports whether another repetition starts after done of them, the
// first of which started at start.
func (b Budget) more(done int, start time.Time) bool {
	if b.N > 0 {
		return done < b.N
	}
	return done < minTimedReps || time.Since(start) < b.Duration
}

func (b Budget) String() string {
	if b.N > 0 {
		return fmt.Sprintf("%d per case", b.N)
	}
	return fmt.Sprintf("%v per case", b.Duration)
}

// rate is n units per second of d; 0 when d is not positive.
func rate(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return n / d.Seconds()
}
