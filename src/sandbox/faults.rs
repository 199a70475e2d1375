//! Fault injection and the gateway's rate limit. Every random decision comes from its own
//! seeded generator, drawn in request-arrival order, so a given `--seed` gives the same
//! sequence of decisions and turning one fault on does not shift the others.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::SandboxConfig;

/// What happens after a create or update has been committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCommit {
    /// Answer normally.
    Answer,
    /// Answer 503 `ERR899` although the change is stored.
    Fail503,
    /// Close the connection without answering.
    Drop,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Faults {
    latency: Duration,
    jitter_ms: u64,
    slow: f64,
    slow_delay: Duration,
    fail_503: f64,
    commit_then_fail: f64,
    drop: f64,
    rate: f64,
    jitter_rng: Mutex<fastrand::Rng>,
    slow_rng: Mutex<fastrand::Rng>,
    fail_rng: Mutex<fastrand::Rng>,
    commit_rng: Mutex<fastrand::Rng>,
    drop_rng: Mutex<fastrand::Rng>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

fn draw<T>(rng: &Mutex<fastrand::Rng>, f: impl FnOnce(&mut fastrand::Rng) -> T) -> T {
    let mut guard = rng.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard)
}

impl Faults {
    pub fn new(c: &SandboxConfig) -> Self {
        // Distinct streams per fault: the seed mixed with a per-fault constant.
        let rng = |salt: u64| {
            Mutex::new(fastrand::Rng::with_seed(
                c.seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ))
        };
        Faults {
            latency: Duration::from_millis(c.latency_ms),
            jitter_ms: c.jitter_ms,
            slow: c.slow,
            slow_delay: Duration::from_millis(c.slow_ms),
            fail_503: c.fail_503,
            commit_then_fail: c.commit_then_fail,
            drop: c.drop,
            rate: f64::from(c.rate_limit),
            jitter_rng: rng(1),
            slow_rng: rng(2),
            fail_rng: rng(3),
            commit_rng: rng(4),
            drop_rng: rng(5),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// The delay for this request, and whether it was picked as a slow one.
    pub fn delay(&self) -> (Duration, bool) {
        let mut d = self.latency;
        if self.jitter_ms > 0 {
            d += Duration::from_millis(draw(&self.jitter_rng, |r| r.u64(0..=self.jitter_ms)));
        }
        let slow = self.slow > 0.0 && draw(&self.slow_rng, |r| r.f64() < self.slow);
        if slow {
            d += self.slow_delay;
        }
        (d, slow)
    }

    /// Whether this request is answered 503 before anything happens.
    pub fn fail_503(&self) -> bool {
        self.fail_503 > 0.0 && draw(&self.fail_rng, |r| r.f64() < self.fail_503)
    }

    /// Whether this request's connection is closed before anything happens: the client sees
    /// a dropped connection, and nothing was applied.
    pub fn drop_before(&self) -> bool {
        self.drop > 0.0 && draw(&self.drop_rng, |r| r.f64() < self.drop)
    }

    /// What to do after committing a create or update.
    pub fn after_commit(&self) -> AfterCommit {
        if self.commit_then_fail <= 0.0 {
            return AfterCommit::Answer;
        }
        draw(&self.commit_rng, |r| {
            if r.f64() >= self.commit_then_fail {
                AfterCommit::Answer
            } else if r.bool() {
                AfterCommit::Fail503
            } else {
                AfterCommit::Drop
            }
        })
    }

    /// Takes a token from `key`'s bucket, or says how many seconds until one is free.
    /// The bucket holds one second's worth of requests, refilled continuously.
    pub fn take_token(&self, key: &str) -> Result<(), u64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.rate,
            at: now,
        });
        let refill = now.duration_since(b.at).as_secs_f64() * self.rate;
        b.tokens = (b.tokens + refill).min(self.rate.max(1.0));
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / self.rate;
            Err((wait.ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_decisions() {
        let c = SandboxConfig {
            fail_503: 0.3,
            commit_then_fail: 0.2,
            ..SandboxConfig::default()
        };
        let a = Faults::new(&c);
        let b = Faults::new(&c);
        let run = |f: &Faults| {
            (0..200)
                .map(|_| (f.fail_503(), f.after_commit()))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(&a), run(&b));
    }

    #[test]
    fn bucket_refuses_beyond_rate() {
        let c = SandboxConfig {
            rate_limit: 5,
            ..SandboxConfig::default()
        };
        let f = Faults::new(&c);
        let ok = (0..20).filter(|_| f.take_token("k").is_ok()).count();
        assert_eq!(ok, 5);
        assert_eq!(f.take_token("k"), Err(1));
        assert!(f.take_token("other").is_ok());
    }
}
