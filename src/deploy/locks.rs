//! One deploy per app at a time; different apps deploy concurrently.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use crate::commands::Io;
use crate::names::AppName;

#[derive(Default)]
pub struct DeployLocks {
    locks: Mutex<HashMap<AppName, Arc<tokio::sync::Mutex<()>>>>,
}

impl DeployLocks {
    /// Takes the app's deploy lock, telling the user when it has to wait for another deploy.
    pub async fn acquire(&self, app: &AppName, io: &mut Io) -> OwnedMutexGuard<()> {
        let lock = self
            .locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(app.clone())
            .or_default()
            .clone();
        match lock.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                io.step(&format!(
                    "Waiting for the deploy of {app} already in progress..."
                ))
                .await;
                lock.lock_owned().await
            }
        }
    }
}
