//! Alerts without Prometheus: after every sample, the daemon compares what runs with what
//! should, and fires a plugin trigger once when an incident starts (`firing`) and once when it
//! ends (`resolved`), which the bundled `notify` plugin delivers to webhooks. Incidents:
//! `replicas-below-desired` (fewer live instances than `ps:scale` asks, two samples running),
//! `crash-loop` (an instance restarted by its policy `CRASHES` times within `CRASH_WINDOW`), and
//! `cert-expiring` (an app's certificate expires within `CERT_WARNING`). What is firing is kept
//! in memory: a daemon restarted mid-incident reports it again.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::metrics::Sample;

/// Restarts within `CRASH_WINDOW` that make a crash loop.
pub const CRASHES: u64 = 3;
/// Seconds.
pub const CRASH_WINDOW: u64 = 600;
/// Seconds before expiry that a certificate is reported.
pub const CERT_WARNING: i64 = 14 * 24 * 3600;

/// One trigger to fire: its name and arguments (`APP firing|resolved MESSAGE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub trigger: &'static str,
    pub app: String,
    pub firing: bool,
    pub message: String,
}

impl Alert {
    pub fn args(&self) -> [String; 3] {
        let state = if self.firing { "firing" } else { "resolved" };
        [self.app.clone(), state.to_string(), self.message.clone()]
    }
}

/// What is firing, and what the samples so far showed.
#[derive(Debug, Default)]
pub struct Alerts {
    /// (app, process) → consecutive samples below desired.
    below: BTreeMap<(String, String), u32>,
    /// (app, process) firing.
    below_firing: BTreeSet<(String, String)>,
    /// (app, instance) → (time, restarts) seen within the window.
    restarts: BTreeMap<(String, String), VecDeque<(u64, u64)>>,
    crash_firing: BTreeSet<(String, String)>,
    cert_firing: BTreeSet<String>,
}

impl Alerts {
    /// The alerts `sample` starts or ends, given the instances each process should have.
    pub fn evaluate(
        &mut self,
        sample: &Sample,
        desired: &BTreeMap<(String, String), u32>,
    ) -> Vec<Alert> {
        let mut alerts = Vec::new();
        self.replicas(sample, desired, &mut alerts);
        self.crashes(sample, &mut alerts);
        self.certificates(sample, &mut alerts);
        alerts
    }

    fn replicas(
        &mut self,
        sample: &Sample,
        desired: &BTreeMap<(String, String), u32>,
        alerts: &mut Vec<Alert>,
    ) {
        let live = sample.live();
        for (key, want) in desired {
            let have = live.get(key).copied().unwrap_or(0);
            let (app, process) = key;
            if have < *want {
                let seen = self.below.entry(key.clone()).or_default();
                *seen += 1;
                if *seen >= 2 && self.below_firing.insert(key.clone()) {
                    alerts.push(Alert {
                        trigger: "replicas-below-desired",
                        app: app.clone(),
                        firing: true,
                        message: format!("{have} of {want} {process} instances running"),
                    });
                }
            } else {
                self.below.remove(key);
                if self.below_firing.remove(key) {
                    alerts.push(Alert {
                        trigger: "replicas-below-desired",
                        app: app.clone(),
                        firing: false,
                        message: format!("{have} of {want} {process} instances running again"),
                    });
                }
            }
        }
        // A process scaled to nothing, or an app destroyed, ends its incident quietly.
        self.below.retain(|key, _| desired.contains_key(key));
        self.below_firing.retain(|key| desired.contains_key(key));
    }

    fn crashes(&mut self, sample: &Sample, alerts: &mut Vec<Alert>) {
        let mut seen = BTreeSet::new();
        for instance in &sample.instances {
            let key = (instance.app.clone(), instance.dyno.clone());
            seen.insert(key.clone());
            let history = self.restarts.entry(key.clone()).or_default();
            history.push_back((sample.at, instance.restarts));
            while history
                .front()
                .is_some_and(|(at, _)| at + CRASH_WINDOW < sample.at)
            {
                history.pop_front();
            }
            let first = history.front().map_or(0, |(_, n)| *n);
            let recent = instance.restarts.saturating_sub(first);
            if recent >= CRASHES && self.crash_firing.insert(key.clone()) {
                alerts.push(Alert {
                    trigger: "crash-loop",
                    app: instance.app.clone(),
                    firing: true,
                    message: format!(
                        "{} restarted {recent} times in {} minutes",
                        instance.dyno,
                        CRASH_WINDOW / 60
                    ),
                });
            } else if recent == 0 && history.len() > 1 && self.crash_firing.remove(&key) {
                alerts.push(Alert {
                    trigger: "crash-loop",
                    app: instance.app.clone(),
                    firing: false,
                    message: format!(
                        "{} has not restarted for {} minutes",
                        instance.dyno,
                        CRASH_WINDOW / 60
                    ),
                });
            }
        }
        self.restarts.retain(|key, _| seen.contains(key));
        self.crash_firing.retain(|key| seen.contains(key));
    }

    fn certificates(&mut self, sample: &Sample, alerts: &mut Vec<Alert>) {
        let now = sample.at as i64;
        let mut seen = BTreeSet::new();
        for (app, expires) in &sample.certificates {
            seen.insert(app.clone());
            let days = (expires - now).div_euclid(24 * 3600);
            if expires - now < CERT_WARNING {
                if self.cert_firing.insert(app.clone()) {
                    alerts.push(Alert {
                        trigger: "cert-expiring",
                        app: app.clone(),
                        firing: true,
                        message: format!("the certificate expires in {days} days"),
                    });
                }
            } else if self.cert_firing.remove(app) {
                alerts.push(Alert {
                    trigger: "cert-expiring",
                    app: app.clone(),
                    firing: false,
                    message: format!("the certificate now expires in {days} days"),
                });
            }
        }
        self.cert_firing.retain(|app| seen.contains(app));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::InstanceSample;

    fn instance(dyno: &str, running: bool, restarts: u64) -> InstanceSample {
        InstanceSample {
            app: "shop".into(),
            process: "web".into(),
            dyno: dyno.into(),
            running,
            restarts,
            cpu_seconds: 0.0,
            memory_bytes: 0,
        }
    }

    fn sample(at: u64, instances: Vec<InstanceSample>) -> Sample {
        Sample {
            at,
            instances,
            certificates: Vec::new(),
        }
    }

    fn names(alerts: &[Alert]) -> Vec<(&str, bool, &str)> {
        alerts
            .iter()
            .map(|a| (a.trigger, a.firing, a.message.as_str()))
            .collect()
    }

    #[test]
    fn replicas_below_desired_fire_once_after_two_samples_and_resolve_once() {
        let mut alerts = Alerts::default();
        let desired = BTreeMap::from([(("shop".to_string(), "web".to_string()), 2)]);
        let one = || vec![instance("web.1", true, 0), instance("web.2", false, 0)];
        assert!(alerts.evaluate(&sample(0, one()), &desired).is_empty());
        let fired = alerts.evaluate(&sample(15, one()), &desired);
        assert_eq!(
            names(&fired),
            [(
                "replicas-below-desired",
                true,
                "1 of 2 web instances running"
            )]
        );
        assert!(alerts.evaluate(&sample(30, one()), &desired).is_empty());
        let both = vec![instance("web.1", true, 0), instance("web.2", true, 0)];
        let resolved = alerts.evaluate(&sample(45, both.clone()), &desired);
        assert_eq!(
            names(&resolved),
            [(
                "replicas-below-desired",
                false,
                "2 of 2 web instances running again"
            )]
        );
        assert!(alerts.evaluate(&sample(60, both), &desired).is_empty());
    }

    #[test]
    fn a_crash_loop_fires_on_the_third_restart_in_the_window_and_resolves_when_quiet() {
        let mut alerts = Alerts::default();
        let desired = BTreeMap::new();
        let at = |t, n| sample(t, vec![instance("web.1", true, n)]);
        assert!(alerts.evaluate(&at(0, 0), &desired).is_empty());
        assert!(alerts.evaluate(&at(60, 2), &desired).is_empty());
        let fired = alerts.evaluate(&at(120, 3), &desired);
        assert_eq!(
            names(&fired),
            [("crash-loop", true, "web.1 restarted 3 times in 10 minutes")]
        );
        assert!(alerts.evaluate(&at(180, 5), &desired).is_empty());
        assert!(alerts.evaluate(&at(700, 5), &desired).is_empty());
        let resolved = alerts.evaluate(&at(800, 5), &desired);
        assert_eq!(
            names(&resolved),
            [(
                "crash-loop",
                false,
                "web.1 has not restarted for 10 minutes"
            )]
        );
    }

    #[test]
    fn an_expiring_certificate_fires_once_and_resolves_when_renewed() {
        let mut alerts = Alerts::default();
        let desired = BTreeMap::new();
        let day = 24 * 3600;
        let with = |expires: i64| Sample {
            at: 0,
            instances: Vec::new(),
            certificates: vec![("shop".to_string(), expires)],
        };
        assert!(alerts.evaluate(&with(30 * day), &desired).is_empty());
        let fired = alerts.evaluate(&with(10 * day), &desired);
        assert_eq!(
            names(&fired),
            [("cert-expiring", true, "the certificate expires in 10 days")]
        );
        assert!(alerts.evaluate(&with(9 * day), &desired).is_empty());
        let resolved = alerts.evaluate(&with(90 * day), &desired);
        assert_eq!(
            names(&resolved),
            [(
                "cert-expiring",
                false,
                "the certificate now expires in 90 days"
            )]
        );
    }
}
