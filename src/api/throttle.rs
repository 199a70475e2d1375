//! The shared pace of all requests: an optional client-side rate (`--rate`), and the common
//! pause that follows a 429. When the gateway says "too many requests" everyone slows down,
//! not just the request that heard it: the next requests wait for the server's Retry-After
//! (or an exponential backoff with jitter when it gives none), and the backoff resets after
//! requests succeed again.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::retry::{MAX_RETRY_AFTER, backoff};

#[derive(Debug)]
struct State {
    /// The earliest start of the next request under `--rate`.
    next_slot: Instant,
    /// No request starts before this (after a 429).
    paused_until: Instant,
    /// 429s since the last success.
    strikes: u32,
}

#[derive(Debug)]
pub struct Throttle {
    interval: Option<Duration>,
    cap: Duration,
    state: Mutex<State>,
}

impl Throttle {
    /// `rate`: requests per second across all tasks (`None`: as fast as concurrency allows).
    pub fn new(rate: Option<f64>, cap: Duration) -> Throttle {
        let now = Instant::now();
        Throttle {
            interval: rate
                .filter(|r| *r > 0.0)
                .map(|r| Duration::from_secs_f64(1.0 / r)),
            cap,
            state: Mutex::new(State {
                next_slot: now,
                paused_until: now,
                strikes: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until this request may start.
    pub async fn acquire(&self) {
        enum Next {
            /// Everyone is paused until then; look again afterwards (it may be extended).
            Paused(Instant),
            /// This request's rate slot starts then.
            Slot(Instant),
            Go,
        }
        loop {
            let next = {
                let mut s = self.lock();
                let now = Instant::now();
                if s.paused_until > now {
                    Next::Paused(s.paused_until)
                } else if let Some(iv) = self.interval {
                    let slot = s.next_slot.max(now);
                    s.next_slot = slot + iv;
                    if slot > now {
                        Next::Slot(slot)
                    } else {
                        Next::Go
                    }
                } else {
                    Next::Go
                }
            };
            match next {
                Next::Paused(t) => tokio::time::sleep_until(t).await,
                Next::Slot(t) => return tokio::time::sleep_until(t).await,
                Next::Go => return,
            }
        }
    }

    /// Records a 429 and pauses everyone; returns the pause.
    ///
    /// The 429s that answer requests sent together are one event: only a 429 heard after the
    /// last pause ended makes the backoff grow, so a burst at concurrency 32 waits about a
    /// second, not the cap. The server's Retry-After is honoured up to [`MAX_RETRY_AFTER`] (a longer one
    /// stops the run before it gets here).
    pub fn throttled(&self, retry_after: Option<Duration>) -> Duration {
        let mut s = self.lock();
        let now = Instant::now();
        // A success may have reset the strikes during the pause: this 429 is one again.
        if s.paused_until <= now || s.strikes == 0 {
            s.strikes = s.strikes.saturating_add(1);
        }
        let wait = match retry_after {
            // A little jitter so that the waiting requests do not all return at once.
            Some(ra) => ra.min(MAX_RETRY_AFTER) + Duration::from_millis(fastrand::u64(0..200)),
            None => backoff(s.strikes - 1, Duration::from_secs(1), self.cap),
        };
        let until = now + wait;
        if until > s.paused_until {
            s.paused_until = until;
        }
        wait
    }

    /// Records a success: the backoff starts over.
    pub fn succeeded(&self) {
        let mut s = self.lock();
        s.strikes = 0;
    }

    #[cfg(test)]
    pub fn strikes(&self) -> u32 {
        self.lock().strikes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn rate_spaces_requests() {
        let t = Throttle::new(Some(10.0), Duration::from_secs(60));
        let start = Instant::now();
        for _ in 0..11 {
            t.acquire().await;
        }
        assert!(Instant::now() - start >= Duration::from_millis(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_everyone_then_recovers() {
        let t = Throttle::new(None, Duration::from_secs(60));
        let wait = t.throttled(Some(Duration::from_secs(2)));
        assert!(wait >= Duration::from_secs(2));
        let start = Instant::now();
        t.acquire().await;
        assert!(Instant::now() - start >= Duration::from_secs(2));
        assert_eq!(t.strikes(), 1);
        t.succeeded();
        assert_eq!(t.strikes(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_during_a_pause_does_not_break_the_backoff() {
        let t = Throttle::new(None, Duration::from_secs(60));
        t.throttled(None);
        t.succeeded();
        assert!(t.throttled(None) <= Duration::from_secs(1));
        assert_eq!(t.strikes(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_429s_without_retry_after_is_one_strike() {
        let t = Throttle::new(None, Duration::from_secs(60));
        for _ in 0..32 {
            assert!(t.throttled(None) <= Duration::from_secs(1));
        }
        assert_eq!(t.strikes(), 1);
        t.acquire().await;
        // The next 429 after the pause: the backoff grows.
        assert!(t.throttled(None) <= Duration::from_secs(2));
        assert_eq!(t.strikes(), 2);
    }
}
