//! Daemon start: route every app to the containers that already run its current release.
//! Containers are adopted by their labels, never recreated.

use std::net::SocketAddr;
use std::time::Duration;

use crate::context::Ctx;
use crate::scheduler::SchedulerError;

/// Rebuilds the route table from state and running containers. Leftovers of a deploy that never
/// committed (a release newer than the current one) are removed; instances of older releases,
/// which a stopped daemon did not get to retire, are retired now.
pub async fn adopt_running(ctx: &Ctx) -> Result<(), SchedulerError> {
    let instances = ctx.scheduler.instances(None).await?;
    let grace = Duration::from_secs(ctx.config.deploy.stop_timeout_secs);
    for record in ctx.store.apps() {
        let app = &record.name;
        let current = record.current();
        let mut upstreams: Vec<SocketAddr> = Vec::new();
        for instance in instances.iter().filter(|i| &i.app == app) {
            match current {
                Some(release) if instance.release == release.number => {
                    if let (true, "web", Some(ip)) = (
                        instance.running,
                        instance.process.as_str(),
                        instance.address,
                    ) {
                        upstreams.push(SocketAddr::new(ip, release.port));
                    }
                }
                Some(release) if instance.release < release.number => {
                    tracing::info!(app = %app, release = instance.release, "retiring an old instance");
                    ctx.scheduler.retire(&instance.id, grace).await?;
                }
                _ => {
                    tracing::info!(app = %app, release = instance.release, "removing an instance of an unfinished deploy");
                    ctx.scheduler.retire(&instance.id, Duration::ZERO).await?;
                }
            }
        }
        tracing::info!(app = %app, upstreams = upstreams.len(), "adopted");
        ctx.routes.set_app(app, &ctx.app_hosts(app), upstreams);
    }
    Ok(())
}
