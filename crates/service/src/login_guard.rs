//! What protects password checks from floods: a gate that runs at most as
//! many argon2 hashes at once as there are cores (the rest wait in a bounded
//! queue or get 429), and a throttle that slows down repeated failed logins
//! per user name and per source address.
//!
//! The throttle: the first `free_failures` failures of a user name (or
//! `free_failures_per_address` of a source address) within `window` cost
//! nothing; each further failure makes the key wait `base_delay × 2^k`
//! (k = failures beyond the free ones), capped at `max_delay`, before the
//! next attempt is even checked (429 with `Retry-After`). A key's record is
//! forgotten `window` after its last failure and a successful login clears
//! the user name's record, so nobody is locked out for good. The records
//! live in memory, at most `max_entries` of them: when full, stale records
//! go first, then the one whose last failure is oldest.

use nicplane_domain::{Error, Result};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Limits of password checking; the defaults are what `nicplane serve` uses.
#[derive(Debug, Clone)]
pub struct LoginLimits {
    /// Password hashes running at once (default: the number of cores).
    pub hash_concurrency: usize,
    /// Password checks waiting for a hash slot; beyond this a login is 429.
    pub hash_queue: usize,
    /// Failures of one user name that cost no delay.
    pub free_failures: u32,
    /// Failures from one source address that cost no delay (higher: many
    /// users may share an address behind NAT).
    pub free_failures_per_address: u32,
    /// Delay after the first failure beyond the free ones; doubles each time.
    pub base_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
    /// A record is forgotten this long after its last failure.
    pub window: Duration,
    /// Most throttle records kept in memory.
    pub max_entries: usize,
}

/// Default of [`LoginLimits::hash_queue`].
pub const DEFAULT_HASH_QUEUE: usize = 64;
/// Default of [`LoginLimits::free_failures`].
pub const DEFAULT_FREE_FAILURES: u32 = 5;
/// Default of [`LoginLimits::free_failures_per_address`].
pub const DEFAULT_FREE_FAILURES_PER_ADDRESS: u32 = 20;
/// Default of [`LoginLimits::base_delay`], in seconds.
pub const DEFAULT_BASE_DELAY_SECS: u64 = 1;
/// Default of [`LoginLimits::max_delay`], in seconds.
pub const DEFAULT_MAX_DELAY_SECS: u64 = 300;
/// Default of [`LoginLimits::window`], in seconds.
pub const DEFAULT_WINDOW_SECS: u64 = 900;
/// Default of [`LoginLimits::max_entries`].
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;

/// The number of cores, the default number of concurrent hashes.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            hash_concurrency: cores(),
            hash_queue: DEFAULT_HASH_QUEUE,
            free_failures: DEFAULT_FREE_FAILURES,
            free_failures_per_address: DEFAULT_FREE_FAILURES_PER_ADDRESS,
            base_delay: Duration::from_secs(DEFAULT_BASE_DELAY_SECS),
            max_delay: Duration::from_secs(DEFAULT_MAX_DELAY_SECS),
            window: Duration::from_secs(DEFAULT_WINDOW_SECS),
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}

/// What a throttle record is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    User(String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last_failure: Instant,
    blocked_until: Instant,
}

/// Failed-login records per user name and per source address.
pub struct Throttle {
    limits: LoginLimits,
    records: Mutex<HashMap<ThrottleKey, Record>>,
}

/// Round a wait up to whole seconds, at least one (`Retry-After`).
fn whole_seconds(d: Duration) -> u64 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.max(1)
}

impl Throttle {
    pub fn new(limits: LoginLimits) -> Self {
        Throttle {
            limits,
            records: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ThrottleKey, Record>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Refuse (429) when any of `keys` must still wait at `now`.
    pub fn check(&self, keys: &[ThrottleKey], now: Instant) -> Result<()> {
        let mut records = self.lock();
        let mut wait = Duration::ZERO;
        for k in keys {
            if let Some(r) = records.get(k).copied() {
                if now.saturating_duration_since(r.last_failure) >= self.limits.window {
                    records.remove(k);
                } else if r.blocked_until > now {
                    wait = wait.max(r.blocked_until - now);
                }
            }
        }
        if wait > Duration::ZERO {
            let secs = whole_seconds(wait);
            let unit = if secs == 1 { "second" } else { "seconds" };
            return Err(Error::too_many_requests(
                format!("Too many failed logins; try again in {secs} {unit}."),
                secs,
            ));
        }
        Ok(())
    }

    /// Record a failed login for every key.
    pub fn fail(&self, keys: &[ThrottleKey], now: Instant) {
        let mut records = self.lock();
        for k in keys {
            if !records.contains_key(k) && records.len() >= self.limits.max_entries {
                self.make_room(&mut records, now);
            }
            let r = records.entry(k.clone()).or_insert(Record {
                failures: 0,
                last_failure: now,
                blocked_until: now,
            });
            if now.saturating_duration_since(r.last_failure) >= self.limits.window {
                r.failures = 0;
            }
            r.failures = r.failures.saturating_add(1);
            r.last_failure = now;
            let free = match k {
                ThrottleKey::User(_) => self.limits.free_failures,
                ThrottleKey::Address(_) => self.limits.free_failures_per_address,
            };
            if r.failures > free {
                let k = (r.failures - free - 1).min(31);
                let delay = self
                    .limits
                    .base_delay
                    .saturating_mul(1u32 << k)
                    .min(self.limits.max_delay);
                r.blocked_until = now + delay;
            }
        }
    }

    /// A successful login clears the record of `key`.
    pub fn succeed(&self, key: &ThrottleKey) {
        self.lock().remove(key);
    }

    /// Records kept (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drop stale records; if none were stale, the oldest one.
    fn make_room(&self, records: &mut HashMap<ThrottleKey, Record>, now: Instant) {
        let window = self.limits.window;
        records.retain(|_, r| now.saturating_duration_since(r.last_failure) < window);
        if records.len() >= self.limits.max_entries {
            if let Some(oldest) = records
                .iter()
                .min_by_key(|(_, r)| r.last_failure)
                .map(|(k, _)| k.clone())
            {
                records.remove(&oldest);
            }
        }
    }
}

/// Runs password hashes on the blocking pool, at most `hash_concurrency` at
/// once, with at most `hash_queue` callers waiting.
///
/// Each running hash works in argon2 memory taken from a pool of
/// `hash_concurrency` buffers, allocated once and reused: freeing and
/// re-allocating 19 MiB per login let glibc's heap keep them, and a flood of
/// logins grew the server past a gigabyte although only two ran at once.
pub struct HashGate {
    slots: std::sync::Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    memory: std::sync::Arc<Mutex<Vec<Vec<argon2::Block>>>>,
}

/// Decrements the waiting count even when the waiting caller goes away.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl HashGate {
    pub fn new(limits: &LoginLimits) -> Self {
        HashGate {
            slots: std::sync::Arc::new(Semaphore::new(limits.hash_concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting: limits.hash_queue,
            memory: std::sync::Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Run `f` (a hash, given reusable argon2 memory) when a slot is free;
    /// 429 when the queue is full.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Vec<argon2::Block>) -> R + Send + 'static,
    ) -> Result<R> {
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(Error::too_many_requests(
                        "Too many password checks are waiting; try again in 1 second.",
                        1,
                    ));
                }
                let _waiting = Waiting(&self.waiting);
                self.slots
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| Error::unavailable("The password checker is shutting down."))?
            }
        };
        // The permit moves into the blocking task: the slot stays taken
        // until the hash is done, even if the caller has gone.
        let pool = self.memory.clone();
        tokio::task::spawn_blocking(move || {
            // A permit guarantees a buffer: there are never more hashes
            // running than buffers in use.
            let mut memory = pool
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop()
                .unwrap_or_default();
            let r = f(&mut memory);
            pool.lock().unwrap_or_else(|e| e.into_inner()).push(memory);
            drop(permit);
            r
        })
        .await
        .map_err(|e| Error::internal(format!("password check failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LoginLimits {
        LoginLimits {
            hash_concurrency: 1,
            hash_queue: 1,
            free_failures: 2,
            free_failures_per_address: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(4),
            window: Duration::from_secs(60),
            max_entries: 3,
        }
    }

    fn user(n: &str) -> ThrottleKey {
        ThrottleKey::User(n.into())
    }

    #[test]
    fn delay_grows_after_the_free_failures_and_is_capped() {
        let t = Throttle::new(limits());
        let t0 = Instant::now();
        let k = [user("alice")];
        t.fail(&k, t0);
        t.fail(&k, t0);
        assert!(t.check(&k, t0).is_ok(), "two failures are free");
        let mut expected = [1u64, 2, 4, 4, 4].into_iter();
        let mut now = t0;
        for _ in 0..5 {
            t.fail(&k, now);
            let want = expected.next().unwrap();
            let e = t.check(&k, now).unwrap_err();
            assert_eq!(e.http_status(), 429);
            assert_eq!(e.retry_after(), Some(want));
            now += Duration::from_secs(want);
            assert!(t.check(&k, now).is_ok(), "free again after {want} s");
        }
    }

    #[test]
    fn success_and_time_clear_the_record() {
        let t = Throttle::new(limits());
        let t0 = Instant::now();
        let k = [user("bob")];
        for _ in 0..3 {
            t.fail(&k, t0);
        }
        assert!(t.check(&k, t0).is_err());
        assert!(t.check(&k, t0 + Duration::from_secs(60)).is_ok());
        assert!(t.is_empty(), "a stale record is dropped when checked");
        for _ in 0..3 {
            t.fail(&k, t0);
        }
        t.succeed(&k[0]);
        assert!(t.check(&k, t0).is_ok());
    }

    #[test]
    fn records_are_bounded() {
        let t = Throttle::new(limits());
        let t0 = Instant::now();
        for i in 0..100u32 {
            t.fail(
                &[user(&format!("random-{i}"))],
                t0 + Duration::from_millis(i.into()),
            );
        }
        assert_eq!(t.len(), 3);
    }

    #[tokio::test]
    async fn the_gate_refuses_beyond_its_queue() {
        let gate = std::sync::Arc::new(HashGate::new(&limits()));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let running = {
            let g = gate.clone();
            tokio::spawn(async move { g.run(move |_| rx.recv().ok()).await })
        };
        // Wait (bounded) until the first hash holds the only slot.
        for _ in 0..1000 {
            if gate.slots.available_permits() == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.slots.available_permits(), 0);
        let queued = {
            let g = gate.clone();
            tokio::spawn(async move { g.run(|_| 7).await })
        };
        for _ in 0..1000 {
            if gate.waiting.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::task::yield_now().await;
        }
        let refused = gate.run(|_| 8).await.unwrap_err();
        assert_eq!(refused.http_status(), 429);
        assert_eq!(refused.retry_after(), Some(1));
        tx.send(()).unwrap();
        assert!(running.await.unwrap().is_ok());
        assert_eq!(queued.await.unwrap().unwrap(), 7);
    }
}
