//! The change-feed trigger of `nicplane agent` (`--trigger feed`, the
//! default): a pass starts as soon as the feed has an event the agent may
//! see, and at least every `--resync-ms` as a safety net.
//!
//! The agent's credential reads `GET /v1/events` scoped to its host
//! (docs/feed.md, "Agents"): the events of its VMs and their interfaces,
//! and bare signals for shared objects (subnets, routers, public IPs,
//! security groups …) that may concern any host. The agent does not apply
//! events one by one: any event means "the desired state may have changed",
//! and the pass re-reads the whole of it. So an event can be missed or
//! repeated without harm; what must not happen is a change with no pass
//! after it, which the order below rules out:
//!
//! 1. at start, [`Follow::start`] reads the feed's position (its newest
//!    event the agent may see) *before* the first pass reads the desired
//!    state, so a change committed between the two leaves an event after
//!    that position;
//! 2. [`Follow::wait`] long-polls for events after the position; when some
//!    come, it moves the position past them (draining what is already
//!    there, bounded) and returns: the pass that follows reads a desired
//!    state at least as new as those events;
//! 3. when the feed answers `truncated` (the retention deleted events this
//!    agent had not read), or `--resync-ms` passed since the last pass, or
//!    the server cannot be reached, it returns too: a full pass is always
//!    correct.

use super::{Trigger, Wake};
use nicplane_client::Client;
use std::time::{Duration, Instant};

/// Longest long poll asked of the server (seconds; under the client's 60 s
/// request timeout, `nicplane_domain::feed::EVENTS_WAIT_MAX_SECS` is 60).
const WAIT_MAX_SECS: u64 = 50;
/// Events read per request (the server's maximum).
const PAGE: u32 = 1000;
/// Pages drained after a wake-up before the pass starts anyway.
const DRAIN_PAGES: usize = 100;
/// Pause after the server could not be reached, before the next pass tries.
const RETRY: Duration = Duration::from_secs(1);

/// Follows the change feed from a position (`after`).
pub struct Follow {
    client: Client,
    after: u64,
    resync: Duration,
    last_pass: Instant,
}

impl Follow {
    /// Read the feed's current position for this agent (its newest visible
    /// event); call it before the first pass. When the server cannot be
    /// reached the position is 0: the first wait then wakes on whatever is
    /// there, which costs one extra pass.
    pub fn start(client: Client, resync: Duration) -> Follow {
        let after = match client
            .get::<nicplane_domain::feed::EventPage>("/v1/events?latest=true&limit=1")
        {
            Ok(page) => page
                .next
                .max(page.oldest.map_or(0, |o| o.saturating_sub(1))),
            Err(e) => {
                eprintln!("agent: cannot read the change feed's position: {e}");
                0
            }
        };
        Follow {
            client,
            after,
            resync,
            last_pass: Instant::now(),
        }
    }

    /// Long-poll until an event comes ([`Wake::Changes`]), the resync is
    /// due or the feed says this agent missed events ([`Wake::Full`]);
    /// `None` when the server could not be read.
    fn next_wake(&mut self) -> Option<Wake> {
        // Bounded: every round waits at least one second on the server or
        // returns, and the resync deadline ends the loop.
        loop {
            let left = self.resync.saturating_sub(self.last_pass.elapsed());
            if left.is_zero() {
                return Some(Wake::Full);
            }
            let wait = left.as_secs().clamp(1, WAIT_MAX_SECS);
            let page = match self.client.events(self.after, Some(PAGE), Some(wait), None) {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("agent: cannot read the change feed: {e}");
                    return None;
                }
            };
            if page.truncated {
                eprintln!(
                    "agent: the change feed dropped events after {} (oldest kept {:?}): full pass",
                    self.after, page.oldest
                );
                self.after = self
                    .after
                    .max(page.next)
                    .max(page.oldest.map_or(0, |o| o.saturating_sub(1)));
                return Some(Wake::Full);
            }
            if !page.events.is_empty() {
                self.after = page.next;
                if !self.drain() {
                    return Some(Wake::Full);
                }
                return Some(Wake::Changes);
            }
        }
    }

    /// Move past the events already there (the pass reads them all at
    /// once); false when that could not be made sure of (the next pass is
    /// then a full one).
    fn drain(&mut self) -> bool {
        for _ in 0..DRAIN_PAGES {
            match self.client.events(self.after, Some(PAGE), Some(0), None) {
                Ok(p) if p.truncated => return false,
                Ok(p) if !p.events.is_empty() => self.after = p.next,
                Ok(_) => return true,
                Err(_) => return false,
            }
        }
        false
    }
}

impl Trigger for Follow {
    fn wait(&mut self) -> Wake {
        let wake = self.next_wake().unwrap_or_else(|| {
            std::thread::sleep(RETRY);
            Wake::Full
        });
        if wake == Wake::Full {
            self.last_pass = Instant::now();
        }
        wake
    }
}
