//! Limits on what clients may do: a token bucket per socket (`burst` frames at once, refilled at
//! `per_second`); allowances that outlive sockets, keyed by client address or conversation, so
//! reconnecting resets nothing; and how many sockets one address holds at once.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

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

/// A rate per key (GCRA: `burst` at once, then one every `every`), shared by every socket.
pub struct Allowance<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    /// Keys held when the ones whose allowance is full again are next forgotten: twice what a
    /// sweep leaves, so sweeps stay rare however many keys are in use.
    next_sweep: AtomicUsize,
}

/// Keys kept before the first sweep.
const KEYS_KEPT: usize = 10_000;

impl<K: Hash + Eq + Clone> Allowance<K> {
    pub fn new(every: Duration, burst: u32) -> Allowance<K> {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(every.max(Duration::from_nanos(1)))
            .expect("a period above zero")
            .allow_burst(burst);
        Allowance {
            limiter: RateLimiter::keyed(quota),
            next_sweep: AtomicUsize::new(KEYS_KEPT),
        }
    }

    /// `per_minute` at once, then one every `60 s / per_minute`.
    pub fn per_minute(per_minute: u32) -> Allowance<K> {
        Allowance::new(Duration::from_secs(60) / per_minute.max(1), per_minute)
    }

    /// `burst` at once, then `per_second`.
    pub fn per_second(per_second: f64, burst: f64) -> Allowance<K> {
        let every = Duration::from_secs_f64(1.0 / per_second.max(1e-6));
        Allowance::new(every, burst.max(1.0) as u32)
    }

    /// Spends one unit of `key`'s allowance if it has one.
    pub fn allow(&self, key: &K) -> bool {
        let allowed = self.limiter.check_key(key).is_ok();
        if self.limiter.len() > self.next_sweep.load(Ordering::Relaxed) {
            self.limiter.retain_recent();
            let left = self.limiter.len();
            self.next_sweep
                .store((2 * left).max(KEYS_KEPT), Ordering::Relaxed);
        }
        allowed
    }
}

/// Open sockets per key (a client's address; an agent's consoles on this node), each held by a
/// `Slot` until it is dropped.
pub struct SocketCounts<K = IpAddr> {
    open: Mutex<HashMap<K, usize>>,
}

impl<K> Default for SocketCounts<K> {
    fn default() -> Self {
        SocketCounts {
            open: Mutex::new(HashMap::new()),
        }
    }
}

/// One open socket's place in `SocketCounts`.
pub struct Slot<K: Eq + Hash = IpAddr> {
    counts: Arc<SocketCounts<K>>,
    key: K,
}

impl<K: Eq + Hash + Clone> SocketCounts<K> {
    /// A slot for one more socket of `key`, or `None` when it holds `max` already.
    pub fn take(self: &Arc<Self>, key: K, max: usize) -> Option<Slot<K>> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(key.clone()).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Slot {
            counts: self.clone(),
            key,
        })
    }

    /// How many sockets of `key` are open.
    pub fn count(&self, key: &K) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(key).copied().unwrap_or(0)
    }
}

impl<K: Eq + Hash> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut open = self.counts.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_share_of_sockets_until_one_closes() {
        let counts = Arc::new(SocketCounts::default());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = counts.take(a, 2).unwrap();
        let _second = counts.take(a, 2).unwrap();
        assert!(counts.take(a, 2).is_none(), "a third from one address");
        assert!(
            counts.take(b, 2).is_some(),
            "another address is not affected"
        );
        drop(first);
        assert!(
            counts.take(a, 2).is_some(),
            "a closed socket frees its slot"
        );
    }

    #[test]
    fn an_allowance_is_per_key() {
        let limit = Allowance::per_minute(3);
        assert!((0..3).all(|_| limit.allow(&"a")));
        assert!(!limit.allow(&"a"), "the fourth within the minute");
        assert!(limit.allow(&"b"), "another key is not affected");
    }

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
