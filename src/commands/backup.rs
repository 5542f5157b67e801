//! `backup:export [--apps a,b] [--with-volumes]` (an archive on stdout), `backup:import` (an
//! archive on stdin, restored on a fresh host), and `backup:schedule <schedule> <dir> [--keep N]
//! [--with-volumes] [--apps a,b]`, `backup:unschedule`, `backup:schedule-cat`: archives made
//! on a cron schedule into `<data_dir>/backups/<dir>/` (as the service plugins'
//! `:backup-schedule` names them). Admins only: an archive holds every secret and key.

use super::argv::Argv;
use super::{CommandError, Io};
use crate::backup::{export, import, valid_dir, BackupError, Selection};
use crate::caller::Caller;
use crate::context::Ctx;
use crate::crontab::Schedule;
use crate::names::{shown, AppName};
use crate::state::BackupSchedule;

/// How many scheduled archives are kept unless `--keep` says.
const DEFAULT_KEEP: u32 = 7;

#[derive(Debug)]
pub enum Args {
    Export(Selection),
    Import,
    Schedule(BackupSchedule),
    Unschedule,
    ScheduleCat,
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let args = match name {
            "backup:export" => Args::Export(selection(&mut argv)?),
            "backup:import" => Args::Import,
            "backup:schedule" => {
                let keep = match argv.option("--keep")? {
                    None => DEFAULT_KEEP,
                    Some(raw) => raw
                        .parse()
                        .ok()
                        .filter(|n| (1..=1000).contains(n))
                        .ok_or_else(|| {
                            CommandError::User(format!(
                                "--keep takes a number from 1 to 1000, not \"{}\"",
                                shown(&raw)
                            ))
                        })?,
                };
                let chosen = selection(&mut argv)?;
                let schedule = argv.required("schedule")?;
                if let Err(err) = Schedule::parse(&schedule) {
                    return Err(CommandError::User(format!(
                        "Invalid schedule \"{}\": {err}",
                        shown(&schedule)
                    )));
                }
                let dir = argv.required("backup directory")?;
                if !valid_dir(&dir) {
                    return Err(CommandError::User(format!(
                        "Invalid backup directory \"{}\": a name (lowercase letters, digits, - and _) under <data_dir>/backups/",
                        shown(&dir)
                    )));
                }
                Args::Schedule(BackupSchedule {
                    schedule,
                    dir,
                    keep,
                    with_volumes: chosen.with_volumes,
                    apps: chosen.apps.unwrap_or_default(),
                })
            }
            "backup:unschedule" => Args::Unschedule,
            _ => Args::ScheduleCat,
        };
        argv.finish()?;
        Ok(args)
    }
}

/// `[--apps a,b] [--with-volumes]`.
fn selection(argv: &mut Argv) -> Result<Selection, CommandError> {
    let with_volumes = argv.flag("--with-volumes");
    let apps = match argv.option("--apps")? {
        None => None,
        Some(list) => Some(
            list.split(',')
                .filter(|a| !a.is_empty())
                .map(AppName::parse)
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    if apps.as_ref().is_some_and(Vec::is_empty) {
        return Err(CommandError::Usage("--apps needs app names, a,b".into()));
    }
    Ok(Selection { apps, with_volumes })
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    match args {
        Args::Export(selection) => {
            let mut out = std::mem::replace(&mut io.stdout, Box::new(tokio::io::sink()));
            let result = export(ctx, &selection, io, &mut out).await;
            io.stdout = out;
            result.map_err(error)?;
            io.progress("Archive complete").await;
            Ok(())
        }
        Args::Import => {
            let added = import(ctx, caller, io).await.map_err(error)?;
            if !added.is_empty() {
                super::authorized_keys::sync(ctx)?;
            }
            io.step("Backup restored").await;
            Ok(())
        }
        Args::Schedule(plan) => {
            for app in &plan.apps {
                ctx.store.app(app)?;
            }
            let said = format!(
                "Berth backups scheduled ({}, UTC) into <data_dir>/backups/{}, keeping the last {}",
                plan.schedule, plan.dir, plan.keep
            );
            ctx.store
                .update_global(|g| g.backup_schedule = Some(plan))?;
            io.step(&said).await;
            Ok(())
        }
        Args::Unschedule => {
            ctx.store.update_global(|g| g.backup_schedule = None)?;
            io.step("Berth backups unscheduled").await;
            Ok(())
        }
        Args::ScheduleCat => match ctx.store.global().backup_schedule {
            None => Err(CommandError::User("No backup is scheduled".into())),
            Some(plan) => {
                let mut line = format!("{} {} --keep {}", plan.schedule, plan.dir, plan.keep);
                if plan.with_volumes {
                    line.push_str(" --with-volumes");
                }
                if !plan.apps.is_empty() {
                    let apps: Vec<&str> = plan.apps.iter().map(AppName::as_str).collect();
                    line.push_str(&format!(" --apps {}", apps.join(",")));
                }
                io.line(&line).await;
                Ok(())
            }
        },
    }
}

fn error(err: BackupError) -> CommandError {
    match err {
        BackupError::State(err) => err.into(),
        err if err.is_user() => CommandError::User(err.to_string()),
        err => CommandError::Internal(err.to_string()),
    }
}
