//! Samples every instance (running or not, restarts, CPU, memory) and every app's certificate
//! expiry on a timer (`[admin] sample_secs`), so that a scrape reads memory and never waits for
//! Docker's stats API, which takes a moment per container; each sample feeds the alerts
//! (`crate::alerts`).

use std::sync::Arc;
use std::time::Duration;

use crate::alerts::Alerts;
use crate::context::Ctx;
use crate::metrics::{InstanceSample, Sample};

/// Samples until shutdown; after each sample, fires the alerts it starts or ends.
pub async fn run_loop(ctx: Arc<Ctx>) {
    let every = Duration::from_secs(ctx.config.admin.sample_secs.max(1));
    let mut alerts = Alerts::default();
    loop {
        match take(&ctx).await {
            Ok(sample) => {
                let fired = alerts.evaluate(&sample, &super::export::desired(&ctx));
                ctx.metrics.sample.store(Arc::new(sample));
                for alert in fired {
                    ctx.alert(&alert).await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot sample instances for /metrics"),
        }
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// One sample. An instance gone between the listing and its stats is left out.
pub async fn take(ctx: &Ctx) -> Result<Sample, crate::scheduler::SchedulerError> {
    let mut instances = Vec::new();
    for instance in ctx.scheduler.instances(None).await? {
        let Ok(usage) = ctx.scheduler.usage(&instance.id).await else {
            continue;
        };
        instances.push(InstanceSample {
            app: instance.app.to_string(),
            process: instance.process.clone(),
            dyno: instance.dyno(),
            running: instance.running,
            restarts: usage.restarts,
            cpu_seconds: usage.cpu_seconds,
            memory_bytes: usage.memory_bytes,
        });
    }
    let mut certificates = Vec::new();
    for app in ctx.store.app_names() {
        let Ok(Some(pem)) = ctx.store.cert(&app) else {
            continue;
        };
        if let Ok(bundle) = crate::certs::load(&pem.crt, &pem.key) {
            certificates.push((app.to_string(), bundle.info.expires_at));
        }
    }
    certificates.sort();
    Ok(Sample {
        at: crate::clock::now_unix(),
        instances,
        certificates,
    })
}
