//! What a flood of wrong basic-auth passwords may cost: each check is a PBKDF2 hash, which
//! would stall a proxy worker (and every app it serves) for its duration. Checks run on the
//! blocking pool, a few at a time for the whole process; an address that keeps failing is
//! refused (429) for the rest of its minute without any hashing; and an unknown user costs
//! one hash too, so the time an answer takes does not tell which users exist.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// The window failures are counted in.
const WINDOW: Duration = Duration::from_secs(60);

/// Addresses remembered at most; past this, those whose window ended are forgotten.
const TRACKED: usize = 10_000;

/// Shared by every proxy worker and listener.
pub struct AuthGuard {
    /// Checks that may hash at once.
    slots: Semaphore,
    /// Failed checks per address in its current window (0: no limit).
    per_minute: u32,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    /// A hash of no one's password, checked against for unknown users.
    decoy: OnceLock<String>,
}

impl AuthGuard {
    /// `slots` checks at once; `per_minute` failures per address before it is refused.
    pub fn new(slots: usize, per_minute: u32) -> Arc<AuthGuard> {
        Arc::new(AuthGuard {
            slots: Semaphore::new(slots.max(1)),
            per_minute,
            failures: Mutex::new(HashMap::new()),
            decoy: OnceLock::new(),
        })
    }

    /// Half the CPUs (at least one) may hash at once.
    pub fn for_this_host(per_minute: u32) -> Arc<AuthGuard> {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        AuthGuard::new(cpus / 2, per_minute)
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (Instant, u32)>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How long `peer` is still refused, if it failed too often in its window.
    pub fn refused_for(&self, peer: IpAddr) -> Option<Duration> {
        if self.per_minute == 0 {
            return None;
        }
        let (start, count) = *self.failures().get(&peer)?;
        let left = WINDOW.checked_sub(start.elapsed())?;
        (count >= self.per_minute).then_some(left)
    }

    /// Counts a failed check from `peer`.
    pub fn failed(&self, peer: IpAddr) {
        if self.per_minute == 0 {
            return;
        }
        let mut failures = self.failures();
        if failures.len() >= TRACKED {
            failures.retain(|_, (start, _)| start.elapsed() < WINDOW);
            if failures.len() >= TRACKED {
                failures.clear();
            }
        }
        let entry = failures.entry(peer).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }

    /// Whether `password` matches `stored` (`None`: an unknown user, checked against the decoy
    /// and never matching), hashed off the calling thread when a slot is free.
    pub async fn verify(self: &Arc<Self>, password: &str, stored: Option<&str>) -> bool {
        let Ok(_slot) = self.slots.acquire().await else {
            return false;
        };
        let (guard, password) = (self.clone(), password.to_string());
        let stored = stored.map(str::to_string);
        let checked = tokio::task::spawn_blocking(move || match stored {
            Some(stored) => crate::password::verify(&password, &stored),
            None => {
                let decoy = guard.decoy.get_or_init(|| crate::password::hash("decoy"));
                std::hint::black_box(crate::password::verify(&password, decoy));
                false
            }
        })
        .await;
        checked.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_that_keeps_failing_is_refused_for_the_rest_of_its_minute() {
        let guard = AuthGuard::new(1, 3);
        let (peer, other): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..2 {
            guard.failed(peer);
            assert_eq!(guard.refused_for(peer), None);
        }
        guard.failed(peer);
        assert!(guard.refused_for(peer).is_some_and(|left| left <= WINDOW));
        assert_eq!(guard.refused_for(other), None);
        let unlimited = AuthGuard::new(1, 0);
        for _ in 0..10 {
            unlimited.failed(peer);
        }
        assert_eq!(unlimited.refused_for(peer), None);
    }

    #[tokio::test]
    async fn unknown_users_never_match() {
        let guard = AuthGuard::new(1, 0);
        let stored = crate::password::hash("pw");
        assert!(guard.verify("pw", Some(&stored)).await);
        assert!(!guard.verify("nope", Some(&stored)).await);
        assert!(!guard.verify("decoy", None).await);
    }
}
