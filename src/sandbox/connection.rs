//! The open connections of a sandbox, so that no client can crowd out the others: how many are
//! open, which of them is handling a request and which is only waiting, and which to close when
//! one more arrives at the cap.
//!
//! Waiting is cheap for a client and costs the server a socket and a buffer, so at the cap the
//! sandbox closes the connection that has waited longest (an idle keep-alive connection, or one
//! that has not finished sending a request head) rather than make a newcomer wait behind it: a
//! well-behaved client is served at once, and a flood of idle sockets only closes its own
//! oldest members. A connection in the middle of a request is never taken; when every one is,
//! the newcomer is refused (`server.rs`). Closing an idle connection is what HTTP allows a
//! server at any time (RFC 9112 §9.8), and clients re-open one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// One open connection, shared by its task, its requests and the registry.
pub struct Slot {
    id: u64,
    epoch: Instant,
    /// A request is being handled: its head has arrived and its answer is not yet made.
    busy: AtomicBool,
    /// At least one request has been handled, so hyper may hold an answer still to flush.
    served: AtomicBool,
    /// Milliseconds after `epoch` when the connection last became idle (or was accepted).
    idle_since_ms: AtomicU64,
    /// Fired when the registry takes this connection to make room for another.
    evicted: CancellationToken,
}

impl Slot {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Marks a request as being handled until the returned guard is dropped.
    pub fn begin_request(self: &Arc<Self>) -> RequestGuard {
        self.busy.store(true, Ordering::Release);
        self.served.store(true, Ordering::Release);
        RequestGuard(self.clone())
    }

    pub fn is_busy(&self) -> bool {
        self.busy.load(Ordering::Acquire)
    }

    pub fn has_served(&self) -> bool {
        self.served.load(Ordering::Acquire)
    }

    /// How long the connection has been without a request in hand (zero while it has one).
    pub fn idle_for(&self) -> Duration {
        if self.is_busy() {
            return Duration::ZERO;
        }
        let since = self.idle_since_ms.load(Ordering::Acquire);
        Duration::from_millis(self.now_ms().saturating_sub(since))
    }

    pub async fn evicted(&self) {
        self.evicted.cancelled().await;
    }
}

/// Held while a request is handled; dropping it makes the connection idle again.
pub struct RequestGuard(Arc<Slot>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let slot = &self.0;
        slot.idle_since_ms.store(slot.now_ms(), Ordering::Release);
        slot.busy.store(false, Ordering::Release);
    }
}

/// What the accept loop may do with a new connection.
pub enum Admission {
    /// Serve it in this slot.
    Serve(Arc<Slot>),
    /// Every connection has a request in hand: refuse it.
    Full,
}

#[derive(Default, Clone, Copy)]
pub struct Counts {
    pub accepted: u64,
    pub evicted: u64,
    pub refused: u64,
    /// Closed by hyper's header timer: idle too long, or a head that came too slowly.
    pub header_timeouts: u64,
    /// Dropped because an answer was ready and the client did not take it.
    pub stalled: u64,
}

pub struct Registry {
    cap: usize,
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Slot>>>,
    counts: Mutex<Counts>,
}

impl Registry {
    pub fn new(cap: usize) -> Self {
        Registry {
            cap,
            epoch: Instant::now(),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Takes a new connection in, closing the longest idle one when the cap is reached.
    pub fn admit(&self) -> Admission {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= self.cap {
            // A linear scan: the cap is about a thousand, and this runs only at the cap.
            let victim = open
                .values()
                .filter(|s| !s.is_busy())
                .max_by_key(|s| s.idle_for())
                .map(|s| s.id);
            let Some(victim) = victim else {
                drop(open);
                self.counts().refused += 1;
                return Admission::Full;
            };
            if let Some(slot) = open.remove(&victim) {
                slot.evicted.cancel();
            }
            self.counts().evicted += 1;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            id,
            epoch: self.epoch,
            busy: AtomicBool::new(false),
            served: AtomicBool::new(false),
            idle_since_ms: AtomicU64::new(0),
            evicted: CancellationToken::new(),
        });
        slot.idle_since_ms.store(slot.now_ms(), Ordering::Release);
        open.insert(id, slot.clone());
        drop(open);
        self.counts().accepted += 1;
        Admission::Serve(slot)
    }

    /// Forgets a connection whose task has ended (a no-op for one already evicted).
    pub fn release(&self, slot: &Slot) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&slot.id);
    }

    /// Closes the longest idle connection, if any: used when the process is out of file
    /// descriptors, so that the cap is never more than the system allows.
    pub fn evict_one(&self) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let victim = open
            .values()
            .filter(|s| !s.is_busy())
            .max_by_key(|s| s.idle_for())
            .map(|s| s.id);
        let Some(slot) = victim.and_then(|id| open.remove(&id)) else {
            return false;
        };
        drop(open);
        slot.evicted.cancel();
        self.counts().evicted += 1;
        true
    }

    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(r: &Registry) -> Arc<Slot> {
        match r.admit() {
            Admission::Serve(s) => s,
            Admission::Full => panic!("refused"),
        }
    }

    #[test]
    fn at_the_cap_the_longest_idle_goes_and_busy_ones_stay() {
        let r = Registry::new(2);
        let a = serve(&r);
        std::thread::sleep(Duration::from_millis(5));
        let b = serve(&r);
        let _busy_b = b.begin_request();
        // a is the only idle one: it goes.
        let c = serve(&r);
        assert!(a.evicted.is_cancelled());
        assert!(!b.evicted.is_cancelled());
        assert_eq!(r.open(), 2);
        let _busy_c = c.begin_request();
        // Both have a request in hand: the next one is refused.
        assert!(matches!(r.admit(), Admission::Full));
        assert_eq!(r.counts().refused, 1);
        assert_eq!(r.counts().evicted, 1);
        r.release(&b);
        assert_eq!(r.open(), 1);
    }

    #[test]
    fn a_finished_request_makes_the_connection_idle_again() {
        let r = Registry::new(4);
        let a = serve(&r);
        let guard = a.begin_request();
        assert!(a.is_busy() && a.has_served());
        assert_eq!(a.idle_for(), Duration::ZERO);
        drop(guard);
        assert!(!a.is_busy());
        assert!(r.evict_one());
        assert!(a.evicted.is_cancelled());
        assert!(!r.evict_one());
    }
}
