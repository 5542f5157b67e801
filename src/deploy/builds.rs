//! Build slots: at most `[build] concurrent` builds (Dockerfile or buildpacks) run at once on
//! this host; the others wait in arrival order, saying so. `builds:list` shows them and
//! `builds:cancel` stops one. Only the build holds a slot: checks, the switch and retiring the
//! old release run outside it, so a waiting push never waits for another app's deploy.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::DeployError;
use crate::clock::now_unix;
use crate::io::Io;
use crate::names::AppName;

/// A build that is running or waiting for a slot, as `builds:list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildEntry {
    pub app: AppName,
    pub running: bool,
    /// When it was queued (Unix seconds).
    pub since: u64,
    /// What it builds (`Deploy 1a2b3c4`, `Rebuild 1a2b3c4`).
    pub description: String,
}

struct Entry {
    id: u64,
    shown: BuildEntry,
    cancel: CancellationToken,
}

pub struct Builds {
    slots: Arc<Semaphore>,
    entries: Mutex<Vec<Entry>>,
    next_id: AtomicU64,
}

impl Builds {
    /// `concurrent` slots (at least one).
    pub fn new(concurrent: usize) -> Builds {
        Builds {
            slots: Arc::new(Semaphore::new(concurrent.max(1))),
            entries: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
        }
    }

    /// Waits for a slot (saying how many builds are ahead) and takes it. Fails with `Cancelled`
    /// when `builds:cancel` names the app while it waits.
    pub async fn slot(
        &self,
        app: &AppName,
        description: &str,
        io: &mut Io,
    ) -> Result<Slot<'_>, DeployError> {
        let ticket = self.enqueue(app, description);
        let permit = match self.slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let ahead = self.position(ticket.id);
                tracing::info!(app = %app, ahead, "build waiting for a slot");
                let noun = if ahead == 1 { "build" } else { "builds" };
                io.step(&format!(
                    "Waiting for a build slot: {ahead} {noun} ahead (builds:list shows them)"
                ))
                .await;
                tokio::select! {
                    permit = self.slots.clone().acquire_owned() => permit
                        .map_err(|_| DeployError::Engine("the build slots are closed".into()))?,
                    _ = ticket.cancel.cancelled() => return Err(DeployError::Cancelled),
                }
            }
        };
        self.mark_running(ticket.id);
        Ok(Slot {
            _permit: permit,
            ticket,
        })
    }

    /// The builds running and waiting, oldest first.
    pub fn list(&self) -> Vec<BuildEntry> {
        self.entries().iter().map(|e| e.shown.clone()).collect()
    }

    /// Cancels the app's builds; false if it has none running or waiting.
    pub fn cancel(&self, app: &AppName) -> bool {
        let entries = self.entries();
        let mut found = false;
        for entry in entries.iter().filter(|e| &e.shown.app == app) {
            tracing::info!(app = %app, running = entry.shown.running, "build cancelled");
            entry.cancel.cancel();
            found = true;
        }
        found
    }

    fn enqueue(&self, app: &AppName, description: &str) -> Ticket<'_> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let cancel = CancellationToken::new();
        self.entries().push(Entry {
            id,
            shown: BuildEntry {
                app: app.clone(),
                running: false,
                since: now_unix(),
                description: description.to_string(),
            },
            cancel: cancel.clone(),
        });
        Ticket {
            builds: self,
            id,
            cancel,
        }
    }

    /// How many builds were queued before this one and have not ended.
    fn position(&self, id: u64) -> usize {
        self.entries().iter().filter(|e| e.id < id).count()
    }

    fn mark_running(&self, id: u64) {
        if let Some(entry) = self.entries().iter_mut().find(|e| e.id == id) {
            entry.shown.running = true;
        }
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A build slot, held until the build ends.
pub struct Slot<'a> {
    _permit: OwnedSemaphorePermit,
    ticket: Ticket<'a>,
}

impl Slot<'_> {
    /// Runs `build`; fails with `Cancelled` when `builds:cancel` names the app first. The
    /// build's future is then dropped, which stops its work in the engine.
    pub async fn run<T>(
        self,
        build: impl Future<Output = Result<T, DeployError>>,
    ) -> Result<T, DeployError> {
        tokio::select! {
            result = build => result,
            _ = self.ticket.cancel.cancelled() => Err(DeployError::Cancelled),
        }
    }
}

/// A build's place in the list; leaving it (however the build ends) removes the entry.
struct Ticket<'a> {
    builds: &'a Builds,
    id: u64,
    cancel: CancellationToken,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.builds.entries().retain(|e| e.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(name: &str) -> AppName {
        AppName::parse(name).unwrap()
    }

    #[tokio::test]
    async fn a_second_build_waits_for_the_slot_and_can_be_cancelled() {
        let builds = Arc::new(Builds::new(1));
        let (release_first, first_may_end) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let builds = builds.clone();
            tokio::spawn(async move {
                let mut io = Io::detached(CancellationToken::new());
                let slot = builds.slot(&app("shop"), "Deploy 1", &mut io).await?;
                slot.run(async {
                    first_may_end.await.ok();
                    Ok(1)
                })
                .await
            })
        };
        while builds.list().iter().all(|b| !b.running) {
            tokio::task::yield_now().await;
        }
        let second = {
            let builds = builds.clone();
            tokio::spawn(async move {
                let mut io = Io::detached(CancellationToken::new());
                let slot = builds.slot(&app("blog"), "Deploy 2", &mut io).await?;
                slot.run(async { Ok(2) }).await
            })
        };
        while builds.list().len() < 2 {
            tokio::task::yield_now().await;
        }
        let listed = builds.list();
        assert_eq!(listed[0].app, app("shop"));
        assert!(listed[0].running);
        assert_eq!(listed[1].app, app("blog"));
        assert!(!listed[1].running, "one slot: the second build waits");

        assert!(builds.cancel(&app("blog")));
        assert!(matches!(second.await.unwrap(), Err(DeployError::Cancelled)));
        assert!(
            !builds.cancel(&app("blog")),
            "the cancelled build left the list"
        );

        release_first.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert!(builds.list().is_empty());
    }

    #[tokio::test]
    async fn cancelling_a_running_build_drops_its_work() {
        let builds = Builds::new(2);
        let mut io = Io::detached(CancellationToken::new());
        let slot = builds
            .slot(&app("shop"), "Deploy 1", &mut io)
            .await
            .unwrap();
        let cancelled = slot.run(async {
            assert!(builds.cancel(&app("shop")));
            std::future::pending::<Result<(), DeployError>>().await
        });
        assert!(matches!(cancelled.await, Err(DeployError::Cancelled)));
        assert!(builds.list().is_empty());
    }
}
