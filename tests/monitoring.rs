//! docs/monitoring: the alert rules pass Debian's `promtool check rules`, and every metric the
//! rules and the Grafana dashboard name is one a running Berth exports.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use support::{http, Berth};

/// Every `berth_…` identifier in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("berth_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        names.insert(name);
    }
    names
}

/// The series names `/metrics` can hold: each family as PromQL sees it.
fn exported(exposition: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in exposition.lines() {
        let Some(family) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = family.split_once(' ').expect("# TYPE name kind");
        match kind {
            "counter" => {
                names.insert(format!("{name}_total"));
            }
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
            }
            _ => {
                names.insert(name.to_string());
            }
        }
    }
    names
}

#[test]
fn the_alert_rules_pass_promtool_and_the_dashboard_and_rules_name_only_exported_metrics() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/monitoring");
    let rules = docs.join("berth-alerts.yml");
    let checked = Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("run promtool (Debian's prometheus package; scripts/setup-host.sh installs it)");
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let berth = Berth::start();
    // Families with labels appear once they have a series: one app deployed gives every one.
    berth.deployed("monitored", "up");
    let exposition = http::get(berth.admin, "localhost", "/metrics").body;
    let exported = exported(&exposition);
    assert!(exported.contains("berth_replicas_live"), "{exposition}");
    for file in ["berth-alerts.yml", "grafana-dashboard.json"] {
        let text = std::fs::read_to_string(docs.join(file)).unwrap();
        let named = metric_names(&text);
        assert!(named.len() > 5, "{file} names {named:?}");
        let unknown: Vec<_> = named.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{file} names metrics Berth does not export: {unknown:?}"
        );
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(docs.join("grafana-dashboard.json")).unwrap(),
    )
    .expect("the dashboard is JSON");
    assert!(dashboard["panels"]
        .as_array()
        .is_some_and(|p| p.len() >= 10));
}
