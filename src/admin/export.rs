//! `/metrics`: Berth's metrics in the OpenMetrics text format (prometheus-client's encoder).
//! Deploys are prometheus-client families counted as they happen (`crate::metrics`); the rest is
//! read at scrape time from what the daemon already keeps (the proxy's per-app counters, the
//! apps' records, the build slots) and from the sampler's latest sample.

use std::collections::BTreeMap;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::context::Ctx;
use crate::proxy::{Snapshot, FAILURE_KINDS, LATENCY_BUCKETS};

/// Status classes, as `berth_http_requests_total{class}` labels them.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Every metric, encoded.
pub fn text(ctx: &Arc<Ctx>) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::default();
    registry.register(
        "berth_deploys",
        "Deploys by app and result (succeeded, failed)",
        ctx.metrics.deploys.clone(),
    );
    registry.register(
        "berth_deploy_duration_seconds",
        "How long deploys took, from the push to the switch (or the failure)",
        ctx.metrics.deploy_seconds.clone(),
    );
    registry.register_collector(Box::new(Now(ctx.clone())));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

/// What is read at scrape time.
struct Now(Arc<Ctx>);

impl std::fmt::Debug for Now {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Now")
    }
}

/// One metric family: its descriptor, then one value per label set.
fn family<L: EncodeLabelSet>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: impl IntoIterator<Item = (L, f64)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in rows {
        let mut row = metric.encode_family(&labels)?;
        match kind {
            // Whole counts print as integers (`5`, not `5.0`); CPU seconds keep their fraction.
            MetricType::Counter if value.fract() == 0.0 && value >= 0.0 => {
                row.encode_counter::<NoLabelSet, _, u64>(&(value as u64), None)?
            }
            MetricType::Counter => row.encode_counter::<NoLabelSet, _, u64>(&value, None)?,
            _ => row.encode_gauge(&value)?,
        }
    }
    Ok(())
}

impl Collector for Now {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let ctx = &self.0;
        let build = [
            ("version", env!("CARGO_PKG_VERSION")),
            (
                "revision",
                option_env!("BERTH_REVISION").unwrap_or("unknown"),
            ),
        ];
        family(
            &mut encoder,
            "berth_build_info",
            "Berth's version and the commit it was built from",
            MetricType::Gauge,
            [(build, 1.0)],
        )?;
        replicas(ctx, &mut encoder)?;
        instances(ctx, &mut encoder)?;
        proxy(ctx, &mut encoder)?;
        let sample = ctx.metrics.sample();
        family(
            &mut encoder,
            "berth_certificate_expiry_timestamp_seconds",
            "When each app's certificate expires (Unix seconds)",
            MetricType::Gauge,
            sample
                .certificates
                .iter()
                .map(|(app, at)| ([("app", app.as_str())], *at as f64)),
        )?;
        let builds = ctx.builds.list();
        let waiting = builds.iter().filter(|b| !b.running).count();
        family(
            &mut encoder,
            "berth_build_queue_length",
            "Builds waiting for a build slot ([build] concurrent)",
            MetricType::Gauge,
            [(NO_LABELS, waiting as f64)],
        )?;
        family(
            &mut encoder,
            "berth_builds_running",
            "Builds holding a build slot",
            MetricType::Gauge,
            [(NO_LABELS, (builds.len() - waiting) as f64)],
        )?;
        family(
            &mut encoder,
            "berth_sample_timestamp_seconds",
            "When instances and certificates were last sampled (Unix seconds; [admin] sample_secs)",
            MetricType::Gauge,
            [(NO_LABELS, sample.at as f64)],
        )
    }
}

/// The empty label set (prometheus-client encodes any array of labels).
const NO_LABELS: [(&str, &str); 0] = [];

/// Instances each deployed app's processes should have (0 for a stopped app).
pub fn desired(ctx: &Ctx) -> BTreeMap<(String, String), u32> {
    let mut desired = BTreeMap::new();
    for record in ctx.store.apps() {
        let Some(release) = record.current() else {
            continue;
        };
        for (process, count) in record.formation_for(release) {
            let count = if record.stopped { 0 } else { count };
            desired.insert((record.name.to_string(), process), count);
        }
    }
    desired
}

/// Desired instances per app and process, and live (running) ones.
fn replicas(ctx: &Ctx, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let desired = desired(ctx);
    let mut live = ctx.metrics.sample().live();
    for key in desired.keys() {
        live.entry(key.clone()).or_default();
    }
    let rows = |counts: &BTreeMap<(String, String), u32>| {
        counts
            .iter()
            .map(|((app, process), n)| {
                (
                    [("app", app.clone()), ("process", process.clone())],
                    f64::from(*n),
                )
            })
            .collect::<Vec<_>>()
    };
    family(
        encoder,
        "berth_replicas_desired",
        "Instances each process should have (ps:scale; 0 when stopped)",
        MetricType::Gauge,
        rows(&desired),
    )?;
    family(
        encoder,
        "berth_replicas_live",
        "Instances of each process running, as last sampled",
        MetricType::Gauge,
        rows(&live),
    )
}

/// Each instance's restarts, CPU time and memory, as last sampled.
fn instances(ctx: &Ctx, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let sample = ctx.metrics.sample();
    let labels = |i: &crate::metrics::InstanceSample| {
        [
            ("app", i.app.clone()),
            ("process", i.process.clone()),
            ("instance", i.dyno.clone()),
        ]
    };
    family(
        encoder,
        "berth_instance_restarts",
        "Times the engine restarted the instance (its restart policy)",
        MetricType::Counter,
        sample
            .instances
            .iter()
            .map(|i| (labels(i), i.restarts as f64)),
    )?;
    family(
        encoder,
        "berth_instance_cpu_seconds",
        "CPU time the instance used",
        MetricType::Counter,
        sample.instances.iter().map(|i| (labels(i), i.cpu_seconds)),
    )?;
    family(
        encoder,
        "berth_instance_memory_bytes",
        "Memory the instance uses",
        MetricType::Gauge,
        sample
            .instances
            .iter()
            .map(|i| (labels(i), i.memory_bytes as f64)),
    )
}

/// The proxy's requests by status class, their latency, upstream errors by kind, bytes both
/// ways and open connections, per app.
fn proxy(ctx: &Ctx, encoder: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let mut apps = ctx.store.app_names();
    apps.sort();
    let routes: Vec<_> = apps
        .iter()
        .filter_map(|app| ctx.routes.route(app).map(|route| (app.to_string(), route)))
        .collect();
    let snapshots: Vec<_> = routes
        .iter()
        .map(|(app, route)| (app, route.metrics.snapshot(), route.errors.counts()))
        .collect();
    family(
        encoder,
        "berth_http_requests",
        "Requests the proxy answered, by app and status class",
        MetricType::Counter,
        snapshots.iter().flat_map(|(app, snapshot, _)| {
            CLASSES
                .iter()
                .zip(snapshot.classes)
                .map(|(class, n)| ([("app", app.as_str()), ("class", class)], n as f64))
        }),
    )?;
    let mut metric = encoder.encode_descriptor(
        "berth_http_request_duration_seconds",
        "Time from a request to its app's response headers",
        None,
        MetricType::Histogram,
    )?;
    for (app, snapshot, _) in &snapshots {
        // The snapshot's counts are cumulative; the encoder wants each bucket's own.
        let mut below = 0;
        let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(&snapshot.cumulative)
            .map(|(bound, cumulative)| {
                let own = cumulative - below;
                below = *cumulative;
                (bound, own)
            })
            .collect();
        metric
            .encode_family(&[("app", app.as_str())])?
            .encode_histogram::<NoLabelSet>(
                snapshot.latency_sum.as_secs_f64(),
                snapshot.requests(),
                &buckets,
                None,
            )?;
    }
    for (name, help, kind, value) in [
        (
            "berth_proxy_received_bytes",
            "Request body bytes the proxy read from clients (and tunnels' bytes from them)",
            MetricType::Counter,
            (|s| s.received) as fn(&Snapshot) -> u64,
        ),
        (
            "berth_proxy_sent_bytes",
            "Response body bytes the proxy wrote to clients (and tunnels' bytes to them)",
            MetricType::Counter,
            |s| s.sent,
        ),
        (
            "berth_proxy_open_connections",
            "Client connections open whose latest request was the app's",
            MetricType::Gauge,
            |s| s.open_connections,
        ),
    ] {
        family(
            encoder,
            name,
            help,
            kind,
            snapshots
                .iter()
                .map(|(app, snapshot, _)| ([("app", app.as_str())], value(snapshot) as f64)),
        )?;
    }
    family(
        encoder,
        "berth_proxy_upstream_errors",
        "Requests the proxy could not get an answer to from the app, by kind",
        MetricType::Counter,
        snapshots.iter().flat_map(|(app, _, counts)| {
            FAILURE_KINDS
                .iter()
                .zip(*counts)
                .map(|(kind, n)| ([("app", app.as_str()), ("kind", kind)], n as f64))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::AppName;

    #[tokio::test]
    async fn every_family_is_described_and_typed() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::fake::test_ctx(dir.path()).await;
        let app = AppName::parse("shop").unwrap();
        ctx.create_app(&app).unwrap();
        ctx.metrics.deployed("shop", false, 3.5);
        let text = text(&ctx).unwrap();
        for (family, kind) in [
            ("berth_build_info", "gauge"),
            ("berth_deploys", "counter"),
            ("berth_deploy_duration_seconds", "histogram"),
            ("berth_replicas_desired", "gauge"),
            ("berth_replicas_live", "gauge"),
            ("berth_instance_restarts", "counter"),
            ("berth_instance_cpu_seconds", "counter"),
            ("berth_instance_memory_bytes", "gauge"),
            ("berth_http_requests", "counter"),
            ("berth_http_request_duration_seconds", "histogram"),
            ("berth_proxy_upstream_errors", "counter"),
            ("berth_proxy_received_bytes", "counter"),
            ("berth_proxy_sent_bytes", "counter"),
            ("berth_proxy_open_connections", "gauge"),
            ("berth_certificate_expiry_timestamp_seconds", "gauge"),
            ("berth_build_queue_length", "gauge"),
            ("berth_builds_running", "gauge"),
            ("berth_sample_timestamp_seconds", "gauge"),
        ] {
            assert!(
                text.contains(&format!("# TYPE {family} {kind}\n")),
                "{family} in {text}"
            );
        }
        assert!(text.contains("berth_deploys_total{app=\"shop\",result=\"failed\"} 1\n"));
        assert!(
            text.contains("berth_deploy_duration_seconds_bucket{le=\"5.0\",app=\"shop\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "berth_http_request_duration_seconds_bucket{le=\"+Inf\",app=\"shop\"} 0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "berth_proxy_upstream_errors_total{app=\"shop\",kind=\"unreachable\"} 0\n"
            ),
            "{text}"
        );
    }
}
