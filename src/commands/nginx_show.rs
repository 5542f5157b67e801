//! `nginx:show-config <app>`: what the proxy does for the app right now, read from its live
//! route rather than from settings — the hosts routed to it, the instances requests go to (and
//! those down while Docker restarts them), whether requests are held, and the policy applied.
//! Dokku prints the app's generated nginx.conf here; Berth has none, so this is its equivalent.

use super::argv::AppArgs;
use super::nginx::size_text;
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::proxy::Upstream;

pub async fn run(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let app = &args.app;
    ctx.store.app(app)?;
    let route = ctx.routes.route(app);
    let dynos: Vec<(String, String)> = ctx
        .scheduler
        .instances(Some(app))
        .await
        .map_err(|err| CommandError::Internal(err.to_string()))?
        .into_iter()
        .map(|i| (i.id.clone(), i.dyno()))
        .collect();
    let named = |list: &[Upstream]| -> String {
        let shown: Vec<String> = list
            .iter()
            .map(|u| {
                let dyno = dynos.iter().find(|(id, _)| *id == u.instance);
                format!("{} {}", dyno.map_or("?", |(_, d)| d.as_str()), u.addr)
            })
            .collect();
        match shown.is_empty() {
            true => "none".to_string(),
            false => shown.join(", "),
        }
    };
    let limits = &ctx.config.proxy;
    let (upstreams, down, held, policy) = match &route {
        Some(route) => (
            named(&route.upstreams),
            named(&route.down),
            route.held.to_string(),
            Some(route.policy.clone()),
        ),
        None => ("none".into(), "none".into(), "false".into(), None),
    };
    let policy = policy.unwrap_or_default();
    let on_off = |on: bool| if on { "on" } else { "off" }.to_string();
    let body = policy
        .max_body
        .unwrap_or(limits.client_max_body_size.bytes());
    let timeout = policy
        .read_timeout
        .map_or(limits.read_timeout_secs, |t| t.as_secs());
    let body_timeout = policy
        .body_timeout
        .map_or(limits.client_body_timeout_secs, |t| t.as_secs());
    let send_timeout = policy
        .send_timeout
        .map_or(limits.send_timeout_secs, |t| t.as_secs());
    let hosts = ctx.routes.hosts_of(app);
    report(
        io,
        &format!("{app} proxy configuration (live)"),
        &[
            ("Urls", ctx.app_urls(app).join(" ")),
            ("Hosts", hosts.join(" ")),
            ("Upstreams", upstreams),
            ("Down", down),
            ("Requests held", held),
            (
                "Https redirect",
                policy
                    .redirect_https
                    .map_or("off".into(), |port| format!("to port {port}")),
            ),
            ("Hsts", policy.hsts.clone().unwrap_or_else(|| "off".into())),
            ("Basic auth", on_off(policy.auth.is_some())),
            ("Client max body size", size_text(body)),
            ("Proxy read timeout", format!("{timeout}s")),
            ("Client body timeout", format!("{body_timeout}s")),
            ("Send timeout", format!("{send_timeout}s")),
            ("Maintenance", on_off(policy.maintenance)),
        ],
    )
    .await
}
