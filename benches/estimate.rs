//! How honest the wait estimate is: a simulated day at the help desk, measured against the
//! estimate the widget shows (`frontdesk::conversation::wait_estimate`, the same function the
//! board uses).
//!
//!     cargo bench --bench estimate
//!     cargo bench --bench estimate -- --days 20 --seed 7
//!
//! A day is 10 hours. Agents (capacity 3 each) come and go by the hour (2 to 6 online, a random
//! walk); visitors arrive at random (Poisson), at a rate that keeps the desk at the chosen
//! utilisation of the hour's staffing; chats last a random time (log-normal, mean 8 min, so
//! the desk's real handle time differs from the estimate's prior only by chance). The queue is
//! first come, first served; a free slot takes the next visitor at once. Each visitor who has to
//! wait is told an estimate when they join (position, online slots, busy slots and the mean of
//! the last 50 finished chats, as the board reads them); the widget states it rounded up to
//! whole minutes and counts down from that. Reported per utilisation: how many waited, the
//! median and 90th percentile of |estimate - real wait|, and the share served before the stated
//! time ran out; beside them the same for the estimate this one replaced (the average of the
//! last 50 waits times the place in line over the agents online).

use std::collections::{BinaryHeap, VecDeque};

use frontdesk::conversation::{Staffing, wait_estimate};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const HOUR_S: f64 = 3600.0;
const DAY_HOURS: usize = 10;
const CAPACITY: usize = 3;
const MEAN_HANDLE_S: f64 = 480.0;
/// Log-normal spread of chat lengths (sigma of the underlying normal).
const HANDLE_SIGMA: f64 = 0.8;
const RECENT: usize = 50;

/// A chat in progress: when it ends, and how long it lasted. Ordered by end time, reversed, so
/// the heap's top is the next chat to end.
#[derive(PartialEq)]
struct End(f64, f64);
impl Eq for End {}
impl PartialOrd for End {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for End {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.total_cmp(&self.0)
    }
}

struct Waiter {
    joined: f64,
    stated_deadline: f64,
    estimate: f64,
    /// What the estimate before this one said (the average of recent waits times the place in
    /// line over agents online), if it had measured a wait.
    before: Option<f64>,
}

#[derive(Default)]
struct Tally {
    waited: usize,
    served: usize,
    errors: Vec<f64>,
    in_time: usize,
    before_errors: Vec<f64>,
    before_in_time: usize,
}

/// Seconds as the widget states them: whole minutes, at least one.
fn stated(seconds: f64) -> f64 {
    (seconds / 60.0).ceil().max(1.0) * 60.0
}

fn exp(rng: &mut StdRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

fn handle(rng: &mut StdRng) -> f64 {
    // Log-normal with the given mean: mu = ln(mean) - sigma^2 / 2 (Box-Muller for the normal).
    let (u1, u2) = (1.0 - rng.random::<f64>(), rng.random::<f64>());
    let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
    let mu = MEAN_HANDLE_S.ln() - HANDLE_SIGMA * HANDLE_SIGMA / 2.0;
    (mu + HANDLE_SIGMA * z).exp()
}

fn day(rng: &mut StdRng, utilisation: f64, tally: &mut Tally) {
    let mut agents: usize = 4;
    let mut busy = BinaryHeap::<End>::new();
    let mut queue: VecDeque<Waiter> = VecDeque::new();
    let mut recent: VecDeque<f64> = VecDeque::new();
    let mut waits: VecDeque<f64> = VecDeque::new();
    let mut t = 0.0;
    for hour in 0..DAY_HOURS {
        if hour > 0 {
            agents = (agents as i64 + [-1, 0, 1][rng.random_range(0..3)]).clamp(2, 6) as usize;
        }
        let slots = agents * CAPACITY;
        let rate = utilisation * slots as f64 / MEAN_HANDLE_S;
        let hour_end = (hour + 1) as f64 * HOUR_S;
        let mut next_arrival = t + exp(rng, 1.0 / rate);
        loop {
            let next_end = busy.peek().map_or(f64::INFINITY, |e| e.0);
            let now = next_arrival.min(next_end);
            if now >= hour_end {
                t = hour_end;
                break;
            }
            t = now;
            if next_end <= next_arrival {
                // The desk learns a chat's length when it ends.
                let End(_, length) = busy.pop().expect("a chat ends");
                recent.push_back(length);
                if recent.len() > RECENT {
                    recent.pop_front();
                }
            } else {
                next_arrival = t + exp(rng, 1.0 / rate);
                let staffing = Staffing {
                    slots,
                    busy: busy.len(),
                    handle_ms: (!recent.is_empty()).then(|| {
                        let mean = recent.iter().sum::<f64>() / recent.len() as f64;
                        ((mean * 1000.0) as u64, recent.len())
                    }),
                };
                if busy.len() < slots && queue.is_empty() {
                    start(rng, &mut busy, t);
                    continue;
                }
                let estimate =
                    wait_estimate(queue.len() + 1, &staffing).expect("agents are online") as f64;
                let position = (queue.len() + 1) as f64;
                let before = (!waits.is_empty()).then(|| {
                    waits.iter().sum::<f64>() / waits.len() as f64 * position / agents as f64
                });
                queue.push_back(Waiter {
                    joined: t,
                    stated_deadline: t + stated(estimate),
                    estimate,
                    before,
                });
                tally.waited += 1;
            }
            // Free slots take the longest-waiting visitors.
            while busy.len() < slots {
                let Some(w) = queue.pop_front() else { break };
                let waited = t - w.joined;
                tally.served += 1;
                tally.errors.push((w.estimate - waited).abs());
                if t <= w.stated_deadline {
                    tally.in_time += 1;
                }
                if let Some(before) = w.before {
                    tally.before_errors.push((before - waited).abs());
                    if waited <= stated(before) {
                        tally.before_in_time += 1;
                    }
                }
                waits.push_back(waited);
                if waits.len() > RECENT {
                    waits.pop_front();
                }
                start(rng, &mut busy, t);
            }
        }
    }
}

/// A chat starts at `t` and ends after a random handle time.
fn start(rng: &mut StdRng, busy: &mut BinaryHeap<End>, t: f64) {
    let length = handle(rng);
    busy.push(End(t + length, length));
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let days = arg("--days", 30);
    let seed = arg("--seed", 1);
    println!("wait estimate vs real waits: {days} simulated days of {DAY_HOURS} h, seed {seed}");
    println!(
        "{:>12} {:>8} {:>10} {:>10} {:>14} | {:>17} {:>14} {:>21}",
        "utilisation",
        "waited",
        "median |e|",
        "p90 |e|",
        "served in time",
        "before: median |e|",
        "before: p90 |e|",
        "before: served in time"
    );
    for utilisation in [0.5, 0.7, 0.8, 0.9] {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut tally = Tally::default();
        for _ in 0..days {
            day(&mut rng, utilisation, &mut tally);
        }
        tally.errors.sort_by(f64::total_cmp);
        tally.before_errors.sort_by(f64::total_cmp);
        println!(
            "{:>11.0}% {:>8} {:>9.0}s {:>9.0}s {:>13.1}% | {:>17.0}s {:>13.0}s {:>20.1}%",
            utilisation * 100.0,
            tally.waited,
            percentile(&tally.errors, 0.5),
            percentile(&tally.errors, 0.9),
            100.0 * tally.in_time as f64 / tally.served.max(1) as f64,
            percentile(&tally.before_errors, 0.5),
            percentile(&tally.before_errors, 0.9),
            100.0 * tally.before_in_time as f64 / tally.before_errors.len().max(1) as f64
        );
    }
}
