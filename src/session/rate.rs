//! A token bucket per socket: `burst` frames at once, refilled at `per_second`.

use std::time::Instant;

pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(per_second: f64, burst: f64) -> TokenBucket {
        TokenBucket {
            capacity: burst,
            per_second,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// Takes a token if there is one.
    pub fn try_take(&mut self) -> bool {
        self.take_at(Instant::now())
    }

    fn take_at(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let start = Instant::now();
        let mut b = TokenBucket::new(2.0, 3.0);
        b.last = start;
        assert!(b.take_at(start) && b.take_at(start) && b.take_at(start));
        assert!(!b.take_at(start), "burst used up");
        assert!(
            b.take_at(start + Duration::from_millis(500)),
            "2/s refills one token in 0.5 s"
        );
        assert!(!b.take_at(start + Duration::from_millis(600)));
    }
}
