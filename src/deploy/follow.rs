//! Routes follow instances the scheduler restarts by itself. Docker restarts a crashed container
//! (its restart policy), and every container when the engine comes back; a restarted container
//! may get another address on Berth's network, and its old address may go to another app's
//! container (dokku#3932). The proxy must not keep sending requests there.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;

use super::restore_idle_apps;
use crate::context::Ctx;
use crate::scheduler::{Instance, SchedulerError};

/// The longest pause before reconnecting to the engine's events.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// Until shutdown: watches the instances the engine starts and moves a routed instance's
/// upstream to its new address. After every (re)connection to the engine it also looks at
/// every instance, for restarts it missed while disconnected; after a lost connection it also
/// restores apps left without a running instance (containers removed meanwhile, or not
/// brought back by the engine), as the daemon does when it starts.
pub async fn follow_restarts(ctx: Arc<Ctx>) {
    let mut retry = Duration::from_secs(1);
    let mut lost = false;
    loop {
        // Events from a second before the check on, so none falls between the two.
        let since = SystemTime::now() - Duration::from_secs(1);
        let mut started = ctx.scheduler.started(since);
        match resync(&ctx).await {
            Ok(()) => {
                retry = Duration::from_secs(1);
                if std::mem::take(&mut lost) {
                    tracing::info!("the engine answers again");
                    ctx.tracker.spawn(restore_idle_apps(ctx.clone()));
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot list instances to check their addresses")
            }
        }
        loop {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return,
                next = started.next() => match next {
                    Some(Ok(instance)) => follow(&ctx, &instance),
                    Some(Err(err)) => {
                        tracing::warn!(error = %err, "lost the engine's events");
                        break;
                    }
                    None => {
                        tracing::warn!("lost the engine's events");
                        break;
                    }
                },
            }
        }
        lost = true;
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(retry) => {}
        }
        retry = (retry * 2).min(MAX_RETRY);
    }
}

async fn resync(ctx: &Ctx) -> Result<(), SchedulerError> {
    for instance in ctx.scheduler.instances(None).await? {
        follow(ctx, &instance);
    }
    Ok(())
}

/// Moves the instance's upstream to its current address, if it is routed and moved.
fn follow(ctx: &Ctx, instance: &Instance) {
    let (true, Some(ip)) = (instance.running, instance.address) else {
        return;
    };
    if ctx.routes.readdress(&instance.app, &instance.id, ip) {
        tracing::info!(
            app = %instance.app,
            instance = %instance.dyno(),
            %ip,
            "an instance came back with a new address; its route follows"
        );
    }
}
