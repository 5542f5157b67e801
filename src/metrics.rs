//! What Berth counts for `/metrics` beyond what the proxy and the state already hold: deploys by
//! result and their durations (prometheus-client's own families), and the latest sample of
//! every instance (live or not, restarts, CPU and memory), taken on a timer by the admin
//! module's sampler so that a scrape never waits for Docker.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

/// Upper bounds of the deploy duration buckets, in seconds.
pub const DEPLOY_BUCKETS: [f64; 10] = [1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeployLabels {
    pub app: String,
    /// `succeeded` or `failed`.
    pub result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AppLabel {
    pub app: String,
}

/// One instance as the sampler last saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceSample {
    pub app: String,
    pub process: String,
    /// `web.1`.
    pub dyno: String,
    pub running: bool,
    /// Times the engine restarted it (its restart policy).
    pub restarts: u64,
    /// CPU time used, in seconds.
    pub cpu_seconds: f64,
    pub memory_bytes: u64,
}

/// Every instance, and every app's certificate expiry, at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Unix seconds; 0 before the first sample.
    pub at: u64,
    pub instances: Vec<InstanceSample>,
    /// Apps with a certificate, and when it expires (Unix seconds).
    pub certificates: Vec<(String, i64)>,
}

impl Sample {
    /// Running instances per (app, process).
    pub fn live(&self) -> BTreeMap<(String, String), u32> {
        let mut live = BTreeMap::new();
        for instance in self.instances.iter().filter(|i| i.running) {
            *live
                .entry((instance.app.clone(), instance.process.clone()))
                .or_default() += 1;
        }
        live
    }
}

pub struct Metrics {
    pub deploys: Family<DeployLabels, Counter>,
    pub deploy_seconds: Family<AppLabel, Histogram>,
    pub sample: ArcSwap<Sample>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            deploys: Family::default(),
            deploy_seconds: Family::new_with_constructor(|| {
                Histogram::new(DEPLOY_BUCKETS.iter().copied())
            }),
            sample: ArcSwap::from_pointee(Sample::default()),
        }
    }
}

impl Metrics {
    /// Counts one deploy of `app` that took `seconds`.
    pub fn deployed(&self, app: &str, succeeded: bool, seconds: f64) {
        let result = if succeeded { "succeeded" } else { "failed" };
        self.deploys
            .get_or_create(&DeployLabels {
                app: app.to_string(),
                result: result.to_string(),
            })
            .inc();
        self.deploy_seconds
            .get_or_create(&AppLabel {
                app: app.to_string(),
            })
            .observe(seconds);
    }

    pub fn sample(&self) -> Arc<Sample> {
        self.sample.load_full()
    }
}
