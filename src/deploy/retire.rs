//! After a switch: old instances keep serving in-flight requests for `wait-to-retire` seconds,
//! then stop gracefully; images of releases beyond the kept ones are removed.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::context::Ctx;
use crate::scheduler::Instance;
use crate::state::AppRecord;

/// The instances waiting out `wait-to-retire` (by container id): still running, serving their
/// in-flight requests, but no longer part of the app. A scale or check never counts them, so
/// one that is due to stop is never taken back into service (a new instance starts instead).
#[derive(Debug, Clone, Default)]
pub struct Retiring(Arc<Mutex<HashSet<String>>>);

impl Retiring {
    fn ids(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids().contains(id)
    }
}

/// Retires `instances` after `delay`, each given `grace` between SIGTERM and SIGKILL, in the
/// background; meanwhile they are `Retiring`. If the daemon stops first, the next start retires
/// them (`adopt_running`), so none is left behind.
pub fn retire_later(ctx: &Ctx, instances: Vec<Instance>, delay: Duration, grace: Duration) {
    if instances.is_empty() {
        return;
    }
    let retiring = ctx.retiring.clone();
    retiring
        .ids()
        .extend(instances.iter().map(|i| i.id.clone()));
    let scheduler = ctx.scheduler.clone();
    let shutdown = ctx.shutdown.clone();
    ctx.tracker.spawn(async move {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        for old in instances {
            tracing::info!(app = %old.app, release = old.release, "retiring");
            if let Err(err) = scheduler.retire(&old.id, grace).await {
                tracing::warn!(id = %old.id, error = %err, "could not retire an old instance");
            }
            retiring.ids().remove(&old.id);
        }
    });
}

/// Stops `instances` now (stop-first deploys, destroy), each given `grace`.
pub async fn retire_now(ctx: &Ctx, instances: &[Instance], grace: Duration) {
    for old in instances {
        if let Err(err) = ctx.scheduler.retire(&old.id, grace).await {
            tracing::warn!(id = %old.id, error = %err, "could not retire an old instance");
        }
    }
}

/// Removes image tags that no kept release uses (the newest `keep_releases`, and the current).
pub async fn prune_images(ctx: &Ctx, record: &AppRecord) {
    let mut newest: Vec<_> = record.releases.iter().collect();
    newest.sort_by_key(|r| std::cmp::Reverse(r.number));
    let mut keep: HashSet<&str> = newest
        .iter()
        .take(ctx.config.deploy.keep_releases.max(1))
        .map(|r| r.image.as_str())
        .collect();
    if let Some(current) = record.current() {
        keep.insert(current.image.as_str());
    }
    let repository = crate::scheduler::image_repository(&record.name);
    let tags = match ctx.builder.repository_tags(&repository).await {
        Ok(tags) => tags,
        Err(err) => {
            tracing::warn!(error = %err, "cannot list images to prune");
            return;
        }
    };
    for tag in tags.iter().filter(|t| !keep.contains(t.as_str())) {
        if let Err(err) = ctx.builder.remove_image(tag).await {
            tracing::info!(%tag, error = %err, "image not pruned yet");
        }
    }
}
