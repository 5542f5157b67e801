//! What `report <app>` adds after every `:report`, for debugging in one page: the releases, the
//! instances as last sampled, the last failed deploy's last lines, the proxy's errors by kind
//! with the latest ones, and the app's recent events.

use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;

/// Lines of the last failed deploy's output shown.
const FAILED_LINES: usize = 10;
/// Latest proxy errors and events shown.
const LATEST: usize = 10;

pub async fn run(ctx: &Ctx, app: &AppName, io: &mut Io) -> Result<(), CommandError> {
    super::releases::run(
        ctx,
        io,
        super::argv::ListArgs {
            app: app.clone(),
            json: false,
        },
    )
    .await?;

    io.header(&format!("{app} instances (sampled)")).await;
    let sample = ctx.metrics.sample();
    let mut any = false;
    for i in sample.instances.iter().filter(|i| i.app == app.as_str()) {
        any = true;
        let state = if i.running { "running" } else { "stopped" };
        io.line(&format!(
            "{:<10} {state:<8} restarts {:<4} cpu {:.1}s  memory {} MiB",
            i.dyno,
            i.restarts,
            i.cpu_seconds,
            i.memory_bytes / (1024 * 1024)
        ))
        .await;
    }
    if !any {
        io.line("none").await;
    }

    io.header(&format!("{app} last failed deploy")).await;
    match ctx.store.failed_output(app)? {
        Some(text) => {
            let lines: Vec<&str> = text.lines().collect();
            for line in &lines[lines.len().saturating_sub(FAILED_LINES)..] {
                io.line(line).await;
            }
        }
        None => io.line("none").await,
    }

    io.header(&format!("{app} proxy errors")).await;
    if let Some(route) = ctx.routes.route(app) {
        let counts = route.errors.counts();
        let kinds: Vec<String> = crate::proxy::FAILURE_KINDS
            .iter()
            .zip(counts)
            .filter(|(_, n)| *n > 0)
            .map(|(kind, n)| format!("{kind}={n}"))
            .collect();
        match kinds.is_empty() {
            true => io.line("none").await,
            false => io.line(&kinds.join(" ")).await,
        }
        for line in route.errors.tail(LATEST, false).0 {
            io.line(&line).await;
        }
    }

    io.header(&format!("{app} recent events")).await;
    let events = ctx.events.latest(LATEST, |e| e.app.as_ref() == Some(app));
    if events.is_empty() {
        io.line("none").await;
    }
    for event in events {
        io.line(&event.to_string()).await;
    }
    Ok(())
}
