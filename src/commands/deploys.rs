//! The deploys the deploy webhook started (`POST /deploy/<app>`): `deploys:list <app> [--format
//! json]` and `deploys:status <app> <id> [--format json]`, its state and its output so far (the
//! whole output while it runs, as `GET /deploy/<app>/<id>` gives it).

use super::argv::Argv;
use super::output::{table, utc};
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::{shown, AppName};
use crate::state::{DeployRun, RunStatus};

/// The most output `deploys:status` prints and one `GET /deploy/<app>/<id>` returns: the
/// webhook's deploys write at most this much (`admin`).
pub const MAX_OUTPUT: u64 = 4 * 1024 * 1024;

#[derive(Debug)]
pub enum Args {
    /// With `--format json`.
    List(AppName, bool),
    Status(AppName, u64, bool),
}

impl Args {
    pub fn parse(command: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(command, words);
        let json = argv.json_format("stdout")?;
        let app = AppName::parse(&argv.required("app name")?)?;
        let args = match command {
            "deploys:list" => Args::List(app, json),
            _ => {
                let raw = argv.required("deploy id")?;
                let id = raw.parse().map_err(|_| {
                    CommandError::User(format!("Invalid deploy id \"{}\"", shown(&raw)))
                })?;
                Args::Status(app, id, json)
            }
        };
        argv.finish()?;
        Ok(args)
    }

    pub fn app(&self) -> &AppName {
        match self {
            Args::List(app, _) | Args::Status(app, _, _) => app,
        }
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    match args {
        Args::List(app, json) => list(ctx, io, &app, json).await,
        Args::Status(app, id, json) => {
            let Some(run) = ctx.store.deploy_run(&app, id)? else {
                return Err(CommandError::User(format!("{app} has no deploy {id}")));
            };
            let (output, _) = ctx.store.deploy_run_output(&app, id, 0, MAX_OUTPUT)?;
            let output = String::from_utf8_lossy(&output);
            if json {
                io.line(&status_json(&app, &run, &output, None).to_string())
                    .await;
                return Ok(());
            }
            io.header(&format!("{app} deploy {id}")).await;
            for (label, value) in rows(&run) {
                io.line(&format!("{:<13}{value}", format!("{label}:")))
                    .await;
            }
            io.step("Output").await;
            io.out(&output).await;
            Ok(())
        }
    }
}

async fn list(ctx: &Ctx, io: &mut Io, app: &AppName, json: bool) -> Result<(), CommandError> {
    let runs = ctx.store.deploy_runs(app)?;
    if json {
        let entries: Vec<serde_json::Value> = runs
            .iter()
            .map(|run| {
                let mut value = status_json(app, run, "", None);
                if let Some(object) = value.as_object_mut() {
                    object.remove("output");
                }
                value
            })
            .collect();
        io.line(&serde_json::Value::from(entries).to_string()).await;
        return Ok(());
    }
    io.header(&format!("{app} webhook deploys")).await;
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|run| {
            vec![
                run.id.to_string(),
                run.status.as_str().to_string(),
                utc(run.started),
                run.by.clone(),
                run.command.join(" "),
            ]
        })
        .collect();
    table(io, &["ID", "STATUS", "STARTED", "BY", "COMMAND"], &rows).await;
    Ok(())
}

/// The rows `deploys:status` prints.
fn rows(run: &DeployRun) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("Status", run.status.as_str().to_string()),
        ("Command", run.command.join(" ")),
        ("By", format!("{} from {}", run.by, run.from)),
        ("Started", utc(run.started)),
    ];
    if let Some(finished) = run.finished {
        rows.push(("Finished", utc(finished)));
    }
    if let (Some(code), RunStatus::Failed) = (run.exit_code, run.status) {
        rows.push(("Exit status", code.to_string()));
    }
    rows
}

/// A run as JSON: what `deploys:status --format json` prints and `GET /deploy/<app>/<id>`
/// answers; `next` is where the output given ends (for `?from=`).
pub fn status_json(
    app: &AppName,
    run: &DeployRun,
    output: &str,
    next: Option<u64>,
) -> serde_json::Value {
    let mut value = serde_json::json!({
        "app": app.as_str(),
        "id": run.id,
        "status": run.status.as_str(),
        "command": run.command,
        "by": run.by,
        "from": run.from,
        "started_at": run.started,
        "finished_at": run.finished,
        "exit_status": run.exit_code,
        "output": output,
    });
    if let (Some(next), Some(object)) = (next, value.as_object_mut()) {
        object.insert("next".into(), next.into());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::argv::words;

    #[test]
    fn parses_both_commands() {
        let args = Args::parse("deploys:status", &words("shop 3")).unwrap();
        assert!(matches!(args, Args::Status(_, 3, false)));
        let args = Args::parse("deploys:list", &words("--format json shop")).unwrap();
        assert!(matches!(args, Args::List(_, true)));
        for (command, bad) in [
            ("deploys:status", "shop"),
            ("deploys:status", "shop x"),
            ("deploys:status", "shop -1"),
            ("deploys:list", "shop 3"),
        ] {
            assert!(
                Args::parse(command, &words(bad)).is_err(),
                "{command} {bad}"
            );
        }
    }
}
