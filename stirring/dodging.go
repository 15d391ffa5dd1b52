package stirring

import (
	"fmt"
	"time"
)

// ODReadingDuration is the time upstream sets aside for one OD reading when
// it times the dodging.
const ODReadingDuration = time.Second

// TimeToNextOD is the time from now to od_reading's next reading, given its
// interval and the time of its first reading: interval − ((now − first) mod
// interval). At a reading's instant it is a full interval, not 0.
func TimeToNextOD(interval time.Duration, first, now time.Time) time.Duration {
	since := now.Sub(first) % interval
	if since < 0 {
		since += interval
	}
	return interval - since
}

// DodgeTiming is upstream's compute timing of one dodging cycle, at now,
// right after the after-OD action, which took afterAction: the time to the
// next OD reading, and how long to wait before the before-OD action:
//
//	wait = min(interval − 1 s − pre − post − afterAction, max(0, toNext − pre))
//
// A negative budget (the first term) is an error: the cycle cannot fit in
// the interval.
func DodgeTiming(interval time.Duration, first, now time.Time, pre, post, afterAction time.Duration) (toNext, wait time.Duration, err error) {
	toNext = TimeToNextOD(interval, first, now)
	budget := interval - ODReadingDuration - pre - post - afterAction
	if budget < 0 {
		return toNext, 0, fmt.Errorf("stirring: dodging OD readings: the after-OD action took %v, which leaves %v of the %v interval "+
			"(a reading takes %v, pre_delay_duration %v, post_delay_duration %v); lower the delays or od_reading's samples_per_second",
			afterAction, budget, interval, ODReadingDuration, pre, post)
	}
	wait = max(toNext-pre, 0)
	return toNext, min(budget, wait), nil
}

// checkDodgeDelays is upstream's requirement when dodging starts:
// interval − 1 s > pre + post.
func checkDodgeDelays(interval, pre, post time.Duration) error {
	if interval-ODReadingDuration > pre+post {
		return nil
	}
	return fmt.Errorf("stirring: dodging OD readings: pre_delay_duration %v + post_delay_duration %v must be below od_reading's interval %v less %v for the reading",
		pre, post, interval, ODReadingDuration)
}
