//! One-off containers live at most their time to live (`run --ttl-seconds`, a day unless set,
//! as Dokku's): then they are stopped. Each detached one-off gets a timer when it starts, and
//! every running one-off gets one again when the daemon starts.

use std::time::Duration;

use crate::clock::now_unix;
use crate::context::Ctx;
use crate::scheduler::{InstanceSpec, OneOff, SchedulerError, LABEL_EXPIRES};

/// Seconds a stopped one-off gets between SIGTERM and SIGKILL.
pub const ONE_OFF_STOP_GRACE: Duration = Duration::from_secs(10);

/// How long a one-off may run unless `--ttl-seconds` says otherwise (Dokku's default).
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);

/// Marks `spec`'s container to be stopped `ttl` from now.
pub fn with_ttl(spec: &mut InstanceSpec, ttl: Duration) {
    let expires_at = now_unix() + ttl.as_secs();
    spec.options
        .labels
        .insert(LABEL_EXPIRES.to_string(), expires_at.to_string());
}

/// Stops `one_off` (of `app`) when its time to live ends, in the background, unless it has
/// ended by itself or the daemon stops first (the next start arms it again).
pub fn expire_later(ctx: &Ctx, one_off: OneOff) {
    let Some(at) = one_off.expires_at else {
        return;
    };
    let scheduler = ctx.scheduler.clone();
    let shutdown = ctx.shutdown.clone();
    ctx.tracker.spawn(async move {
        let left = Duration::from_secs(at.saturating_sub(now_unix()));
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(left) => {}
        }
        tracing::info!(name = %one_off.name, "a one-off's time to live is up; stopping it");
        if let Err(err) = scheduler.retire(&one_off.id, ONE_OFF_STOP_GRACE).await {
            tracing::warn!(name = %one_off.name, error = %err, "cannot stop an expired one-off");
        }
    });
}

/// At start: a timer for every running one-off that has a time to live.
pub async fn arm_expiries(ctx: &Ctx) -> Result<(), SchedulerError> {
    for app in ctx.store.app_names() {
        for one_off in ctx.scheduler.one_offs(&app).await? {
            expire_later(ctx, one_off);
        }
    }
    Ok(())
}
