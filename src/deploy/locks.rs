//! One deploy per app at a time; different apps deploy concurrently.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;

use super::DeployError;
use crate::io::Io;
use crate::names::AppName;

/// What to do when another deploy of the same app is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Wait for it, saying so.
    Wait,
    /// Refuse at once (`--no-wait`).
    NoWait,
}

#[derive(Default)]
pub struct DeployLocks {
    locks: Mutex<HashMap<AppName, Arc<tokio::sync::Mutex<()>>>>,
    /// A handoff to a new process is under way: no deploy may start here.
    paused: AtomicBool,
}

impl DeployLocks {
    /// Takes the app's deploy lock.
    pub async fn acquire(
        &self,
        app: &AppName,
        io: &mut Io,
        wait: Wait,
    ) -> Result<OwnedMutexGuard<()>, DeployError> {
        if self.paused.load(Ordering::SeqCst) {
            return Err(DeployError::HandingOver);
        }
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(app.clone())
            .or_default()
            .clone();
        if let Ok(guard) = lock.clone().try_lock_owned() {
            return Ok(guard);
        }
        if wait == Wait::NoWait {
            return Err(DeployError::Locked(app.clone()));
        }
        io.step(&format!(
            "Waiting for the deploy of {app} already in progress..."
        ))
        .await;
        Ok(lock.lock_owned().await)
    }

    /// Stops new deploys and waits (at most `limit`) until the running ones end; false if they
    /// did not (deploys are allowed again then).
    pub async fn pause(&self, limit: Duration) -> bool {
        self.paused.store(true, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + limit;
        // A deploy guard has no release hook to await; a short poll is cheap and bounded.
        while self.any_held() {
            if tokio::time::Instant::now() >= deadline {
                self.resume();
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        true
    }

    /// Allows deploys again (a handoff did not happen).
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }

    /// Whether `app` is being deployed right now.
    pub fn is_held(&self, app: &AppName) -> bool {
        self.locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(app)
            .is_some_and(|lock| lock.try_lock().is_err())
    }

    /// Whether any app is being deployed right now.
    pub fn any_held(&self) -> bool {
        self.locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .any(|lock| lock.try_lock().is_err())
    }
}
