//! `network:create|destroy|list|info|exists|set|report`: Docker networks apps share or keep
//! private (Dokku's network plugin). Apps on one network reach each other's instances by name
//! (`<app>.<process>`, `<app>` for web); apps on different networks cannot reach each other.
//! The proxy, on the host, reaches web instances on any of them.

use super::argv::{AppArgs, Argv};
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::{shown, AppName, NetworkName};
use crate::scheduler::NetworkInfo;
use crate::state::NetworkSettings;

#[derive(Debug)]
pub enum Args {
    Create(NetworkName),
    Destroy { network: NetworkName, force: bool },
    List { json: bool },
    Info { network: NetworkName, json: bool },
    Exists(NetworkName),
    Set(AppName, Property, Vec<NetworkName>),
    Report(AppArgs),
}

/// A `network:set` property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    InitialNetwork,
    AttachPostCreate,
    AttachPostDeploy,
}

impl Property {
    fn parse(raw: &str) -> Result<Property, CommandError> {
        match raw {
            "initial-network" => Ok(Property::InitialNetwork),
            "attach-post-create" => Ok(Property::AttachPostCreate),
            "attach-post-deploy" => Ok(Property::AttachPostDeploy),
            other => Err(CommandError::User(format!(
                "Invalid property \"{}\": network:set knows initial-network, attach-post-create and attach-post-deploy",
                shown(other)
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Property::InitialNetwork => "initial-network",
            Property::AttachPostCreate => "attach-post-create",
            Property::AttachPostDeploy => "attach-post-deploy",
        }
    }
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        if name == "network:report" {
            return Ok(Args::Report(AppArgs::parse(name, words)?));
        }
        let mut argv = Argv::new(name, words);
        let network = |argv: &mut Argv| -> Result<NetworkName, CommandError> {
            Ok(NetworkName::parse(&argv.required("network name")?)?)
        };
        let args = match name {
            "network:create" => Args::Create(network(&mut argv)?),
            "network:destroy" => {
                let force = argv.flag("--force");
                Args::Destroy {
                    network: network(&mut argv)?,
                    force,
                }
            }
            "network:list" => Args::List {
                json: argv.json_format("text")?,
            },
            "network:info" => {
                let json = argv.json_format("text")?;
                Args::Info {
                    network: network(&mut argv)?,
                    json,
                }
            }
            "network:exists" => Args::Exists(network(&mut argv)?),
            _ => {
                if argv.flag("--global") {
                    return Err(CommandError::User(
                        "network:set takes an app: Berth has no global network properties".into(),
                    ));
                }
                let app = AppName::parse(&argv.required("app name")?)?;
                let property = Property::parse(&argv.required("property")?)?;
                let networks = argv.all("network name", true, NetworkName::parse)?;
                if property == Property::InitialNetwork && networks.len() > 1 {
                    return Err(CommandError::User(
                        "initial-network takes one network".into(),
                    ));
                }
                return Ok(Args::Set(app, property, networks));
            }
        };
        argv.finish()?;
        Ok(args)
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    match args {
        Args::Create(network) => {
            if ctx.scheduler.network(&network).await?.is_some() {
                return Err(CommandError::User(format!(
                    "Network {network} already exists"
                )));
            }
            io.step(&format!("Creating network {network}")).await;
            ctx.scheduler.create_network(&network).await?;
            Ok(())
        }
        Args::Destroy { network, force } => destroy(ctx, io, &network, force).await,
        Args::List { json } => {
            let networks = ctx.scheduler.networks().await?;
            if json {
                let list: Vec<serde_json::Value> = networks.iter().map(as_json).collect();
                io.line(&serde_json::Value::from(list).to_string()).await;
                return Ok(());
            }
            io.header("Networks").await;
            for network in networks {
                io.line(&network.name).await;
            }
            Ok(())
        }
        Args::Info { network, json } => {
            let info = existing(ctx, &network).await?;
            if json {
                io.line(&as_json(&info).to_string()).await;
                return Ok(());
            }
            let apps = users(ctx, &network).join(" ");
            let rows = [
                ("ID", info.id.clone()),
                ("Name", info.name.clone()),
                ("Driver", info.driver.clone()),
                ("Scope", info.scope.clone()),
                ("Berth managed", info.managed.to_string()),
                ("Apps", apps),
                ("Containers", info.containers.join(" ")),
            ];
            report(io, &format!("{network} network information"), &rows).await
        }
        Args::Exists(network) => match ctx.scheduler.network(&network).await? {
            Some(_) => {
                io.line("Network exists").await;
                Ok(())
            }
            None => Err(CommandError::User("Network does not exist".into())),
        },
        Args::Set(app, property, networks) => set(ctx, io, &app, property, networks).await,
        Args::Report(args) => {
            let record = ctx.store.app(&args.app)?;
            let joined = |list: &[NetworkName]| {
                let names: Vec<&str> = list.iter().map(NetworkName::as_str).collect();
                names.join(",")
            };
            let port = record.current().map(|r| r.port);
            let listeners: Vec<String> = ctx
                .scheduler
                .instances(Some(&args.app))
                .await?
                .iter()
                .filter(|i| i.process == "web" && i.running)
                .filter_map(|i| i.reach(port?))
                .map(|addr| addr.to_string())
                .collect();
            let network = &record.network;
            let rows = [
                (
                    "Network attach post create",
                    joined(&network.attach_post_create),
                ),
                (
                    "Network attach post deploy",
                    joined(&network.attach_post_deploy),
                ),
                (
                    "Network initial network",
                    network
                        .initial_network
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ),
                ("Network web listeners", listeners.join(" ")),
            ];
            report(io, &format!("{} network information", args.app), &rows).await
        }
    }
}

fn as_json(network: &NetworkInfo) -> serde_json::Value {
    serde_json::json!({
        "Name": network.name,
        "ID": network.id,
        "Driver": network.driver,
        "Scope": network.scope,
        "BerthManaged": network.managed,
    })
}

/// The network, or the refusal that says there is none.
async fn existing(ctx: &Ctx, network: &NetworkName) -> Result<NetworkInfo, CommandError> {
    ctx.scheduler
        .network(network)
        .await?
        .ok_or_else(|| CommandError::User(format!("Network {network} does not exist")))
}

/// The apps whose network properties name `network`, sorted.
fn users(ctx: &Ctx, network: &NetworkName) -> Vec<String> {
    let mut apps: Vec<String> = ctx
        .store
        .apps()
        .into_iter()
        .filter(|record| record.network.all().contains(network))
        .map(|record| record.name.to_string())
        .collect();
    apps.sort();
    apps
}

async fn destroy(
    ctx: &Ctx,
    io: &mut Io,
    network: &NetworkName,
    force: bool,
) -> Result<(), CommandError> {
    let info = existing(ctx, network).await?;
    if !info.managed {
        return Err(CommandError::User(format!(
            "Network {network} was not made by network:create; Berth leaves it alone"
        )));
    }
    let detached = detach_all(ctx, network, &info, force)?;
    io.step(&format!("Destroying network {network}")).await;
    for app in detached {
        io.detail(&format!("Detached {app}")).await;
    }
    ctx.scheduler.remove_network(network).await?;
    Ok(())
}

/// Unless an app runs on `network` (its initial network), or without `force` anything uses it:
/// takes it out of every app's properties, under the edits lock; returns those apps.
fn detach_all(
    ctx: &Ctx,
    network: &NetworkName,
    info: &NetworkInfo,
    force: bool,
) -> Result<Vec<AppName>, CommandError> {
    let _edit = ctx.edit();
    let apps = users(ctx, network);
    if !force && (!apps.is_empty() || !info.containers.is_empty()) {
        let what = match apps.is_empty() {
            true => format!("containers {}", info.containers.join(", ")),
            false => format!("apps {}", apps.join(", ")),
        };
        return Err(CommandError::User(format!(
            "Network {network} is in use by {what}; network:destroy --force {network} detaches them"
        )));
    }
    let initial: Vec<String> = ctx
        .store
        .apps()
        .into_iter()
        .filter(|record| record.network.initial_network.as_ref() == Some(network))
        .map(|record| record.name.to_string())
        .collect();
    if !initial.is_empty() {
        return Err(CommandError::User(format!(
            "Apps {} run on network {network} (initial-network); set another first",
            initial.join(", ")
        )));
    }
    let mut detached = Vec::new();
    for app in &apps {
        let app = AppName::parse(app)?;
        ctx.store.update_app(&app, |record| {
            record.network.attach_post_create.retain(|n| n != network);
            record.network.attach_post_deploy.retain(|n| n != network);
        })?;
        detached.push(app);
    }
    Ok(detached)
}

async fn set(
    ctx: &Ctx,
    io: &mut Io,
    app: &AppName,
    property: Property,
    networks: Vec<NetworkName>,
) -> Result<(), CommandError> {
    ctx.store.app(app)?;
    for network in &networks {
        if ctx.scheduler.network(network).await?.is_none() {
            return Err(CommandError::User(format!(
                "Network {network} does not exist; create it with network:create {network}"
            )));
        }
    }
    {
        let _edit = ctx.edit();
        let mut settings = ctx.store.app(app)?.network;
        apply(&mut settings, property, networks.clone());
        if let Some(network) = twice(&settings) {
            return Err(CommandError::User(format!(
                "Network {network} is already set on another property of {app}"
            )));
        }
        ctx.store
            .update_app(app, |record| record.network = settings.clone())?;
    }
    let names: Vec<&str> = networks.iter().map(NetworkName::as_str).collect();
    match names.is_empty() {
        true => {
            io.step(&format!("Unsetting {} for {app}", property.name()))
                .await
        }
        false => {
            io.step(&format!(
                "Setting {} to {} for {app}",
                property.name(),
                names.join(",")
            ))
            .await
        }
    }
    io.detail("It applies to containers made from now on (ps:restart)")
        .await;
    Ok(())
}

fn apply(settings: &mut NetworkSettings, property: Property, networks: Vec<NetworkName>) {
    match property {
        Property::InitialNetwork => settings.initial_network = networks.into_iter().next(),
        Property::AttachPostCreate => settings.attach_post_create = networks,
        Property::AttachPostDeploy => settings.attach_post_deploy = networks,
    }
}

/// A network named twice across the properties (a container joins a network once).
fn twice(settings: &NetworkSettings) -> Option<&NetworkName> {
    let mut seen = std::collections::BTreeSet::new();
    settings
        .initial_network
        .iter()
        .chain(&settings.attach_post_create)
        .chain(&settings.attach_post_deploy)
        .find(|network| !seen.insert(*network))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    fn parse(line: &str) -> Result<Args, CommandError> {
        let words = words(line);
        let name = match words[0].as_str() {
            "network:create" => "network:create",
            "network:destroy" => "network:destroy",
            "network:set" => "network:set",
            _ => "network:info",
        };
        Args::parse(name, &words[1..])
    }

    #[test]
    fn parses_dokkus_forms_and_refuses_bad_names() {
        assert!(matches!(
            parse("network:destroy --force backend").unwrap(),
            Args::Destroy { force: true, .. }
        ));
        let Args::Set(app, property, networks) =
            parse("network:set shop attach-post-deploy a b").unwrap()
        else {
            panic!("not a set");
        };
        assert_eq!(
            (app.as_str(), property, networks.len()),
            ("shop", Property::AttachPostDeploy, 2)
        );
        let unset = parse("network:set shop initial-network").unwrap();
        assert!(matches!(unset, Args::Set(_, _, ref n) if n.is_empty()));
        for (line, said) in [
            ("network:create bridge", "Docker's own"),
            ("network:create Bad/Name", "is invalid"),
            ("network:set shop initial-network a b", "takes one network"),
            ("network:set shop tld x", "Invalid property"),
            ("network:set --global initial-network a", "takes an app"),
        ] {
            let err = parse(line).unwrap_err().to_string();
            assert!(err.contains(said), "{line}: {err}");
        }
    }

    #[test]
    fn a_network_is_set_once_per_app() {
        let mut settings = NetworkSettings::default();
        let a = NetworkName::parse("a").unwrap();
        apply(&mut settings, Property::InitialNetwork, vec![a.clone()]);
        assert_eq!(twice(&settings), None);
        apply(&mut settings, Property::AttachPostDeploy, vec![a.clone()]);
        assert_eq!(twice(&settings), Some(&a));
    }
}
