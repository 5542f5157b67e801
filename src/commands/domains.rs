//! `domains:add|remove|set <app> DOMAIN...`, `domains:clear|reset|enable|disable|report <app>`,
//! `domains:add-global|remove-global|set-global DOMAIN...`, `domains:clear-global` and
//! `domains:report --global`. Routes change at once, in one swap, with no restart.

use super::argv::Argv;
use super::output::report;
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::domains::{app_vhosts, default_vhosts, parse_domain};
use crate::names::AppName;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Add,
    Remove,
    Set,
    Clear,
    Reset,
    Enable,
    Disable,
    Report,
}

#[derive(Debug)]
pub struct Args {
    pub command: &'static str,
    pub verb: Verb,
    /// `None` for the `-global` commands, `domains:report --global` and `--all`.
    pub app: Option<AppName>,
    pub domains: Vec<String>,
    /// `domains:enable|disable --all`: every app.
    pub all: bool,
}

const COMMANDS: [(&str, Verb, bool); 12] = [
    ("domains:add", Verb::Add, false),
    ("domains:remove", Verb::Remove, false),
    ("domains:set", Verb::Set, false),
    ("domains:clear", Verb::Clear, false),
    ("domains:reset", Verb::Reset, false),
    ("domains:enable", Verb::Enable, false),
    ("domains:disable", Verb::Disable, false),
    ("domains:report", Verb::Report, false),
    ("domains:add-global", Verb::Add, true),
    ("domains:remove-global", Verb::Remove, true),
    ("domains:set-global", Verb::Set, true),
    ("domains:clear-global", Verb::Clear, true),
];

impl Args {
    pub fn parse(name: &str, words: &[String]) -> Result<Args, CommandError> {
        let (command, verb, global) = COMMANDS
            .into_iter()
            .find(|(c, _, _)| *c == name)
            .ok_or_else(|| CommandError::Unknown(name.to_string()))?;
        let mut argv = Argv::new(command, words);
        let global = global || (verb == Verb::Report && argv.flag("--global"));
        let all = matches!(verb, Verb::Enable | Verb::Disable) && argv.flag("--all");
        let app = match global || all {
            true => None,
            false => Some(AppName::parse(&argv.required("app name")?)?),
        };
        let mut domains: Vec<String> = Vec::new();
        if matches!(verb, Verb::Add | Verb::Remove | Verb::Set) {
            for domain in argv.all("a domain", verb == Verb::Set, parse_domain)? {
                if !domains.contains(&domain) {
                    domains.push(domain);
                }
            }
        }
        argv.finish()?;
        Ok(Args {
            command,
            verb,
            app,
            domains,
            all,
        })
    }
}

/// Turns routing of the app's domains off (`Verb::Disable`) or on again (`Verb::Enable`).
async fn toggle(ctx: &Ctx, io: &mut Io, app: &AppName, verb: Verb) -> Result<(), CommandError> {
    let disabled = verb == Verb::Disable;
    ctx.store
        .update_app(app, |r| r.domains.disabled = disabled)?;
    ctx.reroute_hosts(app);
    let state = if disabled { "Disabling" } else { "Enabling" };
    io.step(&format!("{state} domains for {app}")).await;
    Ok(())
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    if args.all {
        for app in ctx.store.app_names() {
            toggle(ctx, io, &app, args.verb).await?;
        }
        return Ok(());
    }
    let Some(app) = args.app.clone() else {
        return run_global(ctx, io, args).await;
    };
    match args.verb {
        Verb::Report => return report_app(ctx, io, &app).await,
        Verb::Enable | Verb::Disable => return toggle(ctx, io, &app, args.verb).await,
        _ => {}
    }
    let (notes, wanted) = edit_app(ctx, &app, &args)?;
    for note in notes {
        io.detail(&note).await;
    }
    let action = args.command.trim_start_matches("domains:");
    let mut trigger_args = vec![app.to_string(), action.to_string()];
    trigger_args.extend(args.domains.iter().cloned());
    ctx.trigger("post-domains-update", &trigger_args, Some(&app), caller, io)
        .await?;
    let verb = match args.verb {
        Verb::Add => "Added",
        Verb::Remove => "Removed",
        Verb::Reset => "Reset",
        _ => "Set",
    };
    io.step(&format!("{verb} domains of {app}: {}", shown(&wanted)))
        .await;
    Ok(())
}

/// Changes the app's domains as `args` asks, checked against every app's, and stores them, as
/// one edit. Returns what to say about domains skipped, and the domains the app now has.
fn edit_app(
    ctx: &Ctx,
    app: &AppName,
    args: &Args,
) -> Result<(Vec<String>, Vec<String>), CommandError> {
    let _edit = ctx.edit();
    let record = ctx.store.app(app)?;
    let globals = ctx.global_domains();
    let current = app_vhosts(&record, &globals);
    let mut notes = Vec::new();
    let vhosts = match args.verb {
        Verb::Add => {
            let mut list = current.clone();
            for domain in &args.domains {
                if list.contains(domain) {
                    notes.push(format!("Skipping: {domain} already added to {app}"));
                } else {
                    list.push(domain.clone());
                }
            }
            Some(list)
        }
        Verb::Remove => {
            notes = skipped(&format!("App {app} has"), &args.domains, &current)?;
            Some(
                current
                    .iter()
                    .filter(|d| !args.domains.contains(d))
                    .cloned()
                    .collect(),
            )
        }
        Verb::Set => Some(args.domains.clone()),
        Verb::Reset => None,
        Verb::Clear | Verb::Enable | Verb::Disable | Verb::Report => Some(Vec::new()),
    };
    let wanted = vhosts
        .clone()
        .unwrap_or_else(|| default_vhosts(app, &globals));
    // Only what the app does not have yet: another app's wildcard may have come to cover one
    // of its domains since (the app keeps it: an exact domain beats a wildcard).
    let added: Vec<String> = wanted
        .iter()
        .filter(|d| !current.contains(d))
        .cloned()
        .collect();
    check_unclaimed(ctx, app, &added, &globals)?;
    ctx.store
        .update_app(app, |r| r.domains.vhosts = vhosts.clone())?;
    ctx.reroute_hosts(app);
    Ok((notes, wanted))
}

/// What to say about the domains to remove that are not there (`owner`: "App shop has");
/// refuses when none is.
fn skipped(
    owner: &str,
    removed: &[String],
    current: &[String],
) -> Result<Vec<String>, CommandError> {
    let absent: Vec<String> = removed
        .iter()
        .filter(|d| !current.contains(d))
        .cloned()
        .collect();
    if absent.len() == removed.len() {
        return Err(CommandError::User(format!(
            "{owner} no domain {}",
            absent.join(" ")
        )));
    }
    Ok(absent
        .iter()
        .map(|domain| format!("Skipping: {owner} no domain {domain}"))
        .collect())
}

fn shown(domains: &[String]) -> String {
    match domains.is_empty() {
        true => "none".to_string(),
        false => domains.join(" "),
    }
}

/// A domain belongs to one app at a time: refuses domains another app has. A wildcard and an
/// exact domain under it may belong to different apps: the exact one wins, as with nginx.
fn check_unclaimed(
    ctx: &Ctx,
    app: &AppName,
    wanted: &[String],
    globals: &[String],
) -> Result<(), CommandError> {
    for other in ctx.store.apps() {
        if &other.name == app {
            continue;
        }
        for theirs in app_vhosts(&other, globals) {
            if let Some(ours) = wanted.iter().find(|d| **d == theirs) {
                return Err(CommandError::User(format!(
                    "Domain {ours} is already used by app {}; remove it there first: domains:remove {} {ours}",
                    other.name, other.name
                )));
            }
        }
    }
    Ok(())
}

async fn run_global(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    if args.verb == Verb::Report {
        let globals = ctx.global_domains();
        report(
            io,
            "global domains information",
            &[("Domains global vhosts", globals.join(" "))],
        )
        .await?;
        return Ok(());
    }
    if args.domains.iter().any(|d| d.starts_with("*.")) {
        return Err(CommandError::User(
            "Global domains cannot be wildcards: apps get <app>.<domain> under each".into(),
        ));
    }
    let (notes, next) = edit_global(ctx, &args)?;
    for note in notes {
        io.detail(&note).await;
    }
    io.step(&format!("Global domains: {}", shown(&next))).await;
    Ok(())
}

/// Changes the global domains as `args` asks and points every app at its hosts, as one edit.
/// Returns what to say about domains skipped, and the global domains now.
fn edit_global(ctx: &Ctx, args: &Args) -> Result<(Vec<String>, Vec<String>), CommandError> {
    let _edit = ctx.edit();
    let current = ctx.global_domains();
    let mut notes = Vec::new();
    let next: Vec<String> = match args.verb {
        Verb::Add => {
            let mut list = current;
            for domain in &args.domains {
                if !list.contains(domain) {
                    list.push(domain.clone());
                }
            }
            list
        }
        Verb::Remove => {
            notes = skipped("The global domains have", &args.domains, &current)?;
            current
                .into_iter()
                .filter(|d| !args.domains.contains(d))
                .collect()
        }
        Verb::Set => args.domains.clone(),
        _ => Vec::new(),
    };
    ctx.store
        .update_global(|global| global.domains = Some(next.clone()))?;
    for app in ctx.store.app_names() {
        ctx.routes.set_hosts(&app, &ctx.app_hosts(&app));
    }
    ctx.refresh_certs();
    Ok((notes, next))
}

async fn report_app(ctx: &Ctx, io: &mut Io, app: &AppName) -> Result<(), CommandError> {
    let record = ctx.store.app(app)?;
    let globals = ctx.global_domains();
    report(
        io,
        &format!("{app} domains information"),
        &[
            (
                "Domains app enabled",
                (!record.domains.disabled).to_string(),
            ),
            (
                "Domains app vhosts",
                app_vhosts(&record, &globals).join(" "),
            ),
            ("Domains global enabled", (!globals.is_empty()).to_string()),
            ("Domains global vhosts", globals.join(" ")),
        ],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two commands that read an app's domains before either wrote them back would store one
    /// list without the other's domain, after both said "Added".
    use crate::fake::at_once;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_domain_edits_lose_nothing_and_claim_a_domain_once() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::fake::test_ctx(dir.path()).await;
        let (shop, blog) = (
            AppName::parse("shop").unwrap(),
            AppName::parse("blog").unwrap(),
        );
        ctx.create_app(&shop).unwrap();
        ctx.create_app(&blog).unwrap();

        let adds: Vec<String> = (0..200)
            .map(|i| format!("domains:add shop d{i}.example"))
            .collect();
        assert!(at_once(&ctx, &adds).await.iter().all(|status| *status == 0));
        let vhosts = ctx.store.app(&shop).unwrap().domains.vhosts.unwrap();
        let lost: Vec<String> = (0..200)
            .map(|i| format!("d{i}.example"))
            .filter(|d| !vhosts.contains(d))
            .collect();
        assert!(lost.is_empty(), "lost {lost:?}");

        // The same domain asked for by two apps at once goes to one of them.
        let contested: Vec<String> = (0..100)
            .flat_map(|i| {
                [
                    format!("domains:add shop c{i}.example"),
                    format!("domains:add blog c{i}.example"),
                ]
            })
            .collect();
        let statuses = at_once(&ctx, &contested).await;
        for pair in statuses.chunks(2) {
            assert_eq!(pair.iter().filter(|s| **s == 0).count(), 1, "{statuses:?}");
        }
    }

    fn parse(command: &str, line: &str) -> Result<Args, CommandError> {
        Args::parse(command, &crate::commands::argv::words(line))
    }

    #[test]
    fn parses_app_and_global_forms() {
        let args = parse(
            "domains:add",
            "shop Shop.Example *.shop.example shop.example",
        )
        .unwrap();
        assert_eq!(args.domains, ["shop.example", "*.shop.example"]);
        let args = parse("domains:set-global", "apps.example").unwrap();
        assert!(args.app.is_none());
        assert_eq!(args.verb, Verb::Set);
        let args = parse("domains:report", "--global").unwrap();
        assert!(args.app.is_none());
        assert!(parse("domains:set", "shop").unwrap().domains.is_empty());
        for (command, line) in [
            ("domains:add", "shop"),
            ("domains:add", "shop bad_domain"),
            ("domains:clear", "shop extra"),
            ("domains:add-global", ""),
        ] {
            assert!(parse(command, line).is_err(), "{command} {line}");
        }
    }
}
