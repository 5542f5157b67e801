//! End to end: `/metrics` on the admin listener, scraped and parsed as Prometheus would: replicas
//! follow `ps:scale`, proxy counts follow requests, deploys are counted; the bearer token.

mod support;

use std::io::{Read, Write};
use std::time::Duration;

use support::{eventually, http, repo, Berth};

/// `GET path` on the admin listener with `token` as bearer, if any: (status, body).
fn admin_get(berth: &Berth, path: &str, token: Option<&str>) -> (u16, String) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth
        .as_deref()
        .map(|value| vec![("Authorization", value)])
        .unwrap_or_default();
    let response = http::get_with(berth.admin, "localhost", path, &headers);
    (response.status, response.body)
}

/// The value of the sample `name{labels}` (labels as the exposition writes them, in order).
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let rest = line.strip_prefix(series)?.strip_prefix(' ')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

#[test]
fn metrics_follow_scaling_requests_and_deploys_behind_a_token() {
    let berth = Berth::start_with_admin("token = \"s3cret-token\"\nsample_secs = 1");
    assert_eq!(admin_get(&berth, "/metrics", None).0, 401);
    assert_eq!(admin_get(&berth, "/healthz", Some("wrong")).0, 401);
    assert_eq!(
        admin_get(&berth, "/healthz", Some("s3cret-token")),
        (200, "ok\n".to_string())
    );
    let scrape = || admin_get(&berth, "/metrics", Some("s3cret-token")).1;

    let app = berth.app("metrics");
    let source = repo::create(&repo::as_refs(&repo::web_app("counted")));
    berth.push(source.path(), &app, "main").ok();
    let web = format!("{{app=\"{app}\",process=\"web\"}}");
    let metrics = scrape();
    assert!(metrics.contains("berth_build_info{version=\""), "{metrics}");
    assert_eq!(
        value(&metrics, &format!("berth_replicas_desired{web}")),
        Some(1.0)
    );
    assert_eq!(
        value(
            &metrics,
            &format!("berth_deploys_total{{app=\"{app}\",result=\"succeeded\"}}")
        ),
        Some(1.0)
    );
    assert!(metrics.ends_with("# EOF\n"), "{metrics}");

    let requests = format!("berth_http_requests_total{{app=\"{app}\",class=\"2xx\"}}");
    let before = value(&scrape(), &requests).unwrap_or(0.0);
    for _ in 0..5 {
        assert_eq!(berth.get(&Berth::host(&app), "/").status, 200);
    }
    let metrics = scrape();
    assert_eq!(value(&metrics, &requests), Some(before + 5.0), "{metrics}");
    let count = format!("berth_http_request_duration_seconds_count{{app=\"{app}\"}}");
    assert!(value(&metrics, &count).unwrap_or(0.0) >= 5.0, "{metrics}");

    // Bytes both ways, and a keep-alive connection counted while it stays open.
    let series = |name: &str| format!("{name}{{app=\"{app}\"}}");
    let sent = value(&metrics, &series("berth_proxy_sent_bytes_total")).unwrap_or(0.0);
    let received = value(&metrics, &series("berth_proxy_received_bytes_total")).unwrap_or(0.0);
    let body = berth.get(&Berth::host(&app), "/").body;
    let upload = "x".repeat(700);
    let mut connection = std::net::TcpStream::connect(berth.http).unwrap();
    write!(
        connection,
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n{upload}",
        Berth::host(&app),
        upload.len()
    )
    .unwrap();
    let mut first = [0u8; 12];
    connection.read_exact(&mut first).unwrap();
    assert!(first.starts_with(b"HTTP/1.1 "), "{first:?}");
    let metrics = scrape();
    let now_sent = value(&metrics, &series("berth_proxy_sent_bytes_total")).unwrap();
    assert!(now_sent >= sent + body.len() as f64, "{metrics}");
    assert_eq!(
        value(&metrics, &series("berth_proxy_received_bytes_total")),
        Some(received + upload.len() as f64),
        "{metrics}"
    );
    // The earlier GET's connection may take a moment to be let go of.
    assert!(
        eventually(Duration::from_secs(10), || {
            value(&scrape(), &series("berth_proxy_open_connections")) == Some(1.0)
        }),
        "{}",
        scrape()
    );
    drop(connection);
    assert!(
        eventually(Duration::from_secs(10), || {
            value(&scrape(), &series("berth_proxy_open_connections")) == Some(0.0)
        }),
        "{}",
        scrape()
    );

    berth.ssh(&format!("ps:scale {app} web=2")).ok();
    assert!(
        eventually(Duration::from_secs(30), || {
            let metrics = scrape();
            value(&metrics, &format!("berth_replicas_desired{web}")) == Some(2.0)
                && value(&metrics, &format!("berth_replicas_live{web}")) == Some(2.0)
        }),
        "{}",
        scrape()
    );
    let memory =
        format!("berth_instance_memory_bytes{{app=\"{app}\",process=\"web\",instance=\"web.2\"}}");
    assert!(
        value(&scrape(), &memory).is_some_and(|bytes| bytes > 0.0),
        "{}",
        scrape()
    );

    // `report APP` gathers the app on one page.
    let page = berth.ssh(&format!("report {app}")).ok().stdout;
    for section in [
        "releases (current: v1)",
        "instances (sampled)",
        "last failed deploy",
        "proxy errors",
        "recent events",
    ] {
        assert!(
            page.contains(&format!("=====> {app} {section}\n")),
            "{section} in {page}"
        );
    }
    assert!(page.contains("web.2      running"), "{page}");
    assert!(
        page.contains(&format!("command ps:scale app={app} key=alice")),
        "{page}"
    );

    berth.ssh(&format!("ps:stop {app}")).ok();
    assert!(eventually(Duration::from_secs(30), || {
        let metrics = scrape();
        value(&metrics, &format!("berth_replicas_desired{web}")) == Some(0.0)
            && value(&metrics, &format!("berth_replicas_live{web}")) == Some(0.0)
    }));
}
