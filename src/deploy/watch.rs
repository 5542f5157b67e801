//! The watch window: for `watch_secs` after a switch, Berth watches what the proxy sees of the
//! new release. If too many requests fail (5xx, or the instance unreachable), it rolls back to
//! the previous release by itself, through the same checked cutover.

use std::sync::Arc;
use std::time::Duration;

use super::{deploy, DeployRequest, Source, Wait};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::io::Io;
use crate::names::AppName;

/// Should a release with these numbers be rolled back?
pub fn too_many_failures(requests: u64, failures: u64, min_requests: u64, rate: f64) -> bool {
    requests >= min_requests.max(1) && failures as f64 > rate * requests as f64
}

/// Starts watching `app`'s current route; `previous` is where a rollback would go.
pub fn watch(ctx: &Ctx, app: &AppName, release: u32, previous: u32) {
    let window = ctx.config.deploy.watch_secs;
    let (Some(ctx), Some(route)) = (ctx.this.upgrade(), ctx.routes.route(app)) else {
        return;
    };
    let app = app.clone();
    let tracker = ctx.tracker.clone();
    tracker.spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(window);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let still_current = ctx
                .routes
                .route(&app)
                .is_some_and(|now| Arc::ptr_eq(&now, &route));
            if !still_current || tokio::time::Instant::now() >= deadline {
                return;
            }
            let (requests, failures) = route.stats.snapshot();
            let config = &ctx.config.deploy;
            if too_many_failures(
                requests,
                failures,
                config.watch_min_requests,
                config.watch_error_rate,
            ) {
                let reason = format!("{failures} of {requests} requests failed after v{release}");
                tracing::warn!(app = %app, release, %reason, "watch window: rolling back");
                roll_back(&ctx, &app, previous, reason).await;
                return;
            }
        }
    });
}

async fn roll_back(ctx: &Ctx, app: &AppName, target: u32, reason: String) {
    let mut io = Io::detached(ctx.shutdown.child_token());
    let request = DeployRequest {
        app: app.clone(),
        caller: Caller::Watch,
        source: Source::Rollback {
            target,
            reason: Some(reason),
        },
        wait: Wait::NoWait,
    };
    match deploy(ctx, request, &mut io).await {
        Ok(number) => tracing::warn!(app = %app, release = number, "watch window rolled back"),
        Err(err) => tracing::error!(app = %app, error = %err, "watch window could not roll back"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_needs_enough_requests() {
        assert!(!too_many_failures(5, 5, 10, 0.5));
        assert!(too_many_failures(10, 6, 10, 0.5));
        assert!(!too_many_failures(10, 5, 10, 0.5));
        assert!(!too_many_failures(0, 0, 0, 0.5));
    }
}
