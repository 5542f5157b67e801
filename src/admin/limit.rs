//! What one peer can make the deploy webhook do. `FailureLimit`: failed authentications, per
//! client address: each address may fail `BURST`
//! times, then once every `REFILL`; past that it is answered 429 before its token is looked at
//! (the right token included), so guessing a token costs time. The table is bounded: at
//! `MAX_ADDRESSES`, addresses that are back to a full allowance are forgotten, and if that frees
//! nothing the table starts again (a flood from that many addresses loses its memory, never the
//! daemon's).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures an address may have in a row.
pub const BURST: f64 = 10.0;
/// One more failure allowed per this long.
pub const REFILL: Duration = Duration::from_secs(10);
const MAX_ADDRESSES: usize = 10_000;

#[derive(Default)]
pub struct FailureLimit {
    allowance: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl FailureLimit {
    /// `Err(wait)` when `address` has no failures left: how long until it has one.
    pub fn check(&self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let table = self.table();
        let Some(&(left, at)) = table.get(&address) else {
            return Ok(());
        };
        let left = refilled(left, at, now);
        match left >= 1.0 {
            true => Ok(()),
            false => Err(REFILL.mul_f64(1.0 - left)),
        }
    }

    /// Counts a failure of `address`.
    pub fn failed(&self, address: IpAddr, now: Instant) {
        let mut table = self.table();
        if table.len() >= MAX_ADDRESSES && !table.contains_key(&address) {
            table.retain(|_, (left, at)| refilled(*left, *at, now) < BURST);
            if table.len() >= MAX_ADDRESSES {
                table.clear();
            }
        }
        let (left, at) = table.get(&address).copied().unwrap_or((BURST, now));
        table.insert(address, ((refilled(left, at, now) - 1.0).max(0.0), now));
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (f64, Instant)>> {
        self.allowance
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Recent forge deliveries that started a deploy, by what was signed of them (`deploy.rs`):
/// a signed delivery captured on the way and sent again is answered without deploying again,
/// while one that deployed nothing may be redelivered from the forge. The last
/// `KEPT_DELIVERIES` are remembered.
#[derive(Default)]
pub struct Deliveries {
    seen: Mutex<VecDeque<String>>,
}

const KEPT_DELIVERIES: usize = 1024;

impl Deliveries {
    /// True the first time `id` is seen.
    pub fn first(&self, id: &str) -> bool {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.iter().any(|known| known == id) {
            return false;
        }
        if seen.len() >= KEPT_DELIVERIES {
            seen.pop_front();
        }
        seen.push_back(id.to_string());
        true
    }

    /// Forgets `id` (its deploy did not start after all).
    pub fn forget(&self, id: &str) {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        seen.retain(|known| known != id);
    }
}

/// `left` failures at `at`, refilled up to `now`.
fn refilled(left: f64, at: Instant, now: Instant) -> f64 {
    let gained = now.saturating_duration_since(at).as_secs_f64() / REFILL.as_secs_f64();
    (left + gained).min(BURST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_that_keeps_failing_waits_and_others_do_not() {
        let limit = FailureLimit::default();
        let (guesser, other) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let start = Instant::now();
        for _ in 0..BURST as usize {
            assert!(limit.check(guesser, start).is_ok());
            limit.failed(guesser, start);
        }
        let wait = limit.check(guesser, start).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= REFILL);
        assert!(limit.check(other, start).is_ok());
        assert!(limit.check(guesser, start + REFILL).is_ok());
        limit.failed(guesser, start + REFILL);
        assert!(limit.check(guesser, start + REFILL).is_err());
    }

    #[test]
    fn a_delivery_counts_once() {
        let deliveries = Deliveries::default();
        assert!(deliveries.first("a") && deliveries.first("b"));
        assert!(!deliveries.first("a"));
        deliveries.forget("a");
        assert!(deliveries.first("a") && !deliveries.first("a"));
        for n in 0..KEPT_DELIVERIES {
            deliveries.first(&n.to_string());
        }
        assert!(deliveries.first("a"), "forgotten once a thousand more came");
    }

    #[test]
    fn the_table_stays_bounded() {
        let limit = FailureLimit::default();
        let now = Instant::now();
        for n in 0..(MAX_ADDRESSES as u32 + 10) {
            limit.failed(IpAddr::from(n.to_be_bytes()), now);
        }
        assert!(limit.table().len() <= MAX_ADDRESSES);
    }
}
