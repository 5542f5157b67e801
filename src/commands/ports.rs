//! `ports:add|set|remove <app> scheme:host-port:container-port...` (`ports:remove` also takes
//! bare host ports, as Dokku's does), `ports:clear|report <app>`, `ports:list <app> [--format
//! stdout|json]`. `http:80` and `https:443` (the proxy's main listeners) pick the port the app
//! listens on inside its container; without them, Dokku's default applies: http:80 to the port the
//! image EXPOSEs (else 5000). Changing that port is a release: the app restarts with `PORT` set
//! to it, checked, without downtime. Other host ports open (and close) listeners at once:
//! `http`/`https` ones routed by Host, `tcp` ones passed through to the app.

use super::argv::Argv;
use super::deploying::run_deploy;
use super::output::report;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::deploy::{DeployRequest, Source, Wait};
use crate::names::AppName;
use crate::ports::{PortMap, Scheme};
use crate::state::AppRecord;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Add,
    Set,
    Remove,
    Clear,
    List,
    Report,
}

#[derive(Debug)]
pub struct Args {
    pub command: &'static str,
    pub verb: Verb,
    pub app: AppName,
    pub maps: Vec<PortMap>,
    /// `ports:remove`'s bare host ports: every mapping of each goes.
    pub host_ports: Vec<u16>,
    /// `ports:list --format json`.
    pub json: bool,
}

const COMMANDS: [(&str, Verb); 6] = [
    ("ports:add", Verb::Add),
    ("ports:set", Verb::Set),
    ("ports:remove", Verb::Remove),
    ("ports:clear", Verb::Clear),
    ("ports:list", Verb::List),
    ("ports:report", Verb::Report),
];

impl Args {
    pub fn parse(name: &str, words: &[String]) -> Result<Args, CommandError> {
        let (command, verb) = COMMANDS
            .into_iter()
            .find(|(c, _)| *c == name)
            .ok_or_else(|| CommandError::Unknown(name.to_string()))?;
        let mut argv = Argv::new(command, words);
        let json = verb == Verb::List && argv.json_format("stdout")?;
        let app = AppName::parse(&argv.required("app name")?)?;
        let (mut maps, mut host_ports) = (Vec::new(), Vec::new());
        match verb {
            Verb::Add | Verb::Set => maps = argv.all("a port mapping", false, PortMap::parse)?,
            Verb::Remove => {
                let words = argv.all("a port mapping or host port", false, |word| {
                    Ok::<_, std::convert::Infallible>(word.to_string())
                })?;
                for word in words {
                    match word.parse::<u16>() {
                        Ok(port) if port > 0 => host_ports.push(port),
                        _ => maps.push(
                            PortMap::parse(&word)
                                .map_err(|err| CommandError::User(err.to_string()))?,
                        ),
                    }
                }
            }
            Verb::Clear | Verb::List | Verb::Report => {}
        }
        argv.finish()?;
        Ok(Args {
            command,
            verb,
            app,
            maps,
            host_ports,
            json,
        })
    }
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let app = &args.app;
    if let Verb::List | Verb::Report = args.verb {
        let record = ctx.store.app(app)?;
        return show(
            ctx,
            io,
            app,
            (args.verb, args.json),
            &parse_maps(&record.ports),
        )
        .await;
    }
    let (record, stored, port_changes) = edit_maps(ctx, &args)?;
    let action = args.command.trim_start_matches("ports:");
    let trigger_args = [app.to_string(), action.to_string()];
    ctx.trigger(
        "post-proxy-ports-update",
        &trigger_args,
        Some(app),
        caller,
        io,
    )
    .await?;
    io.step(&format!(
        "Port mappings of {app}: {}",
        if stored.is_empty() {
            "the default".to_string()
        } else {
            stored.join(" ")
        }
    ))
    .await;
    if record.current_release.is_some() && port_changes {
        let request = DeployRequest {
            app: app.clone(),
            caller: caller.clone(),
            source: Source::Config {
                description: format!("Ports {}", stored.join(" ")),
            },
            wait: Wait::Wait,
        };
        run_deploy(ctx, request, io).await?;
    }
    Ok(())
}

/// The stored mappings, parsed (a stored one that no longer parses is left out).
fn parse_maps(stored: &[String]) -> Vec<PortMap> {
    stored
        .iter()
        .filter_map(|m| PortMap::parse(m).ok())
        .collect()
}

/// Changes the app's mappings as `args` asks, checked against every app's, opens the
/// listeners they need and stores them, as one edit. Returns the app as it was, the stored
/// mappings, and whether they change the port the app listens on.
fn edit_maps(ctx: &Ctx, args: &Args) -> Result<(AppRecord, Vec<String>, bool), CommandError> {
    let app = &args.app;
    let _edit = ctx.edit();
    let record = ctx.store.app(app)?;
    let current = parse_maps(&record.ports);
    let next: Vec<PortMap> = match args.verb {
        Verb::Add => {
            let mut list = current.clone();
            for map in &args.maps {
                if list.contains(map) {
                    return Err(CommandError::User(format!(
                        "{map} is already mapped for {app}"
                    )));
                }
                list.push(*map);
            }
            list
        }
        Verb::Set => args.maps.clone(),
        Verb::Remove => current
            .iter()
            .filter(|m| !args.maps.contains(m) && !args.host_ports.contains(&m.host))
            .copied()
            .collect(),
        Verb::Clear | Verb::List | Verb::Report => Vec::new(),
    };
    let mut apps = ctx.port_maps();
    crate::ports::check(app, &next, &apps).map_err(|err| CommandError::User(err.to_string()))?;
    apps.retain(|(other, _)| other != app);
    apps.push((app.clone(), next.clone()));
    ctx.open_ports(&apps)
        .map_err(|err| CommandError::User(err.to_string()))?;
    // A release only when the mappings name a port other than the one the app listens on.
    // Without a port in them the release keeps its own, so removing mappings restarts nothing.
    let running = record.current().map(|r| r.port);
    let port_changes =
        crate::ports::container_port(&next).is_some_and(|port| Some(port) != running);
    let stored: Vec<String> = next.iter().map(|m| m.to_string()).collect();
    if let Err(err) = ctx.store.update_app(app, |r| r.ports = stored.clone()) {
        // Listeners opened for mappings that were not stored close again.
        ctx.reopen_ports();
        return Err(err.into());
    }
    ctx.refresh_policy(app);
    Ok((record, stored, port_changes))
}

/// `ports:list` (as JSON when `json`) or `ports:report`.
async fn show(
    ctx: &Ctx,
    io: &mut Io,
    app: &AppName,
    (verb, json): (Verb, bool),
    maps: &[PortMap],
) -> Result<(), CommandError> {
    let record = ctx.store.app(app)?;
    let detected = record.current().map(|r| r.port).unwrap_or(5000);
    let has_cert = matches!(ctx.store.cert(app), Ok(Some(_)));
    let mut effective: Vec<PortMap> = maps.to_vec();
    if effective.is_empty() {
        effective.push(PortMap {
            scheme: Scheme::Http,
            host: 80,
            container: detected,
        });
        if has_cert {
            effective.push(PortMap {
                scheme: Scheme::Https,
                host: 443,
                container: detected,
            });
        }
    }
    if verb == Verb::List && json {
        let rows: Vec<serde_json::Value> = effective
            .iter()
            .map(|m| serde_json::json!({"scheme": m.scheme.to_string(), "host_port": m.host, "container_port": m.container}))
            .collect();
        return super::output::json(io, &rows).await;
    }
    if verb == Verb::List {
        io.step(&format!("Port mappings for {app}")).await;
        io.step("scheme  host port  container port").await;
        for map in &effective {
            let scheme = map.scheme.to_string();
            io.line(&format!("{scheme:<8}{:<11}{}", map.host, map.container))
                .await;
        }
        return Ok(());
    }
    let joined = |list: &[PortMap]| {
        list.iter()
            .map(|m| m.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    report(
        io,
        &format!("{app} ports information"),
        &[
            ("Ports map", joined(maps)),
            ("Ports map detected", joined(&effective)),
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Args, CommandError> {
        let words: Vec<String> = line.split_whitespace().map(String::from).collect();
        Args::parse("ports:remove", &words)
    }

    #[test]
    fn remove_takes_mappings_and_bare_host_ports() {
        let args = parse("shop 8080 http:80:5000").unwrap();
        assert_eq!(args.host_ports, [8080]);
        assert_eq!(args.maps, [PortMap::parse("http:80:5000").unwrap()]);
        for bad in ["shop 0", "shop 70000", "shop http:80"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
