//! `logs <app> [-n N] [-t|--tail] [-p PROCESS] [-q|--quiet]`: the app's containers' output,
//! merged in time order, each line prefixed `app[web.1]:`; `-t` follows live until the client
//! disconnects.

use futures_util::stream::{select_all, StreamExt};

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;
use crate::procfile::valid_process_name;
use crate::scheduler::{split_timestamp, Instance};

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub lines: usize,
    pub follow: bool,
    pub process: Option<String>,
    pub quiet: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("logs", words);
        let follow = argv.flag("-t") | argv.flag("--tail");
        let quiet = argv.flag("-q") | argv.flag("--quiet");
        let lines = match argv.option("-n")?.or(argv.option("--num")?) {
            None => 100,
            Some(n) => n.parse().map_err(|_| {
                CommandError::User(format!(
                    "-n takes a number of lines, not \"{shown}\"",
                    shown = crate::names::shown(&n)
                ))
            })?,
        };
        let process = argv.option("-p")?.or(argv.option("--ps")?);
        if let Some(process) = &process {
            if !valid_process_name(process) {
                return Err(CommandError::User(format!(
                    "Invalid process type \"{shown}\"",
                    shown = crate::names::shown(process)
                )));
            }
        }
        let app = AppName::parse(&argv.required("app name")?)?;
        argv.finish()?;
        Ok(Args {
            app,
            lines,
            follow,
            process,
            quiet,
        })
    }
}

fn render(app: &AppName, instance: &Instance, line: &str, quiet: bool) -> String {
    let (stamp, text) = split_timestamp(line);
    if quiet {
        format!("{text}\n")
    } else {
        format!("{stamp} {app}[{}]: {text}\n", instance.dyno())
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let Some(current) = record.current_release else {
        return Err(CommandError::User(format!(
            "{} has not been deployed",
            args.app
        )));
    };
    let mut instances: Vec<Instance> = ctx
        .scheduler
        .instances(Some(&args.app))
        .await
        .map_err(|err| CommandError::Internal(err.to_string()))?
        .into_iter()
        .filter(|i| i.release == current)
        .filter(|i| args.process.as_ref().is_none_or(|p| *p == i.process))
        .collect();
    instances.sort_by(|a, b| (&a.process, a.index).cmp(&(&b.process, b.index)));
    if instances.is_empty() {
        return Err(CommandError::User(format!(
            "{} has no containers to show logs of",
            args.app
        )));
    }

    let mut recent: Vec<(String, String)> = Vec::new();
    for instance in &instances {
        let mut stream = ctx
            .scheduler
            .log_lines(&instance.id, Some(args.lines), false);
        while let Some(line) = stream.next().await {
            let line = line.map_err(|err| CommandError::Internal(err.to_string()))?;
            let stamp = split_timestamp(&line).0.to_string();
            recent.push((stamp, render(&args.app, instance, &line, args.quiet)));
        }
    }
    recent.sort_by(|a, b| a.0.cmp(&b.0));
    let skip = recent.len().saturating_sub(args.lines);
    for (_, line) in recent.into_iter().skip(skip) {
        io.out(&line).await;
    }
    if !args.follow {
        return Ok(());
    }

    let streams = instances.iter().map(|instance| {
        let instance = instance.clone();
        let app = args.app.clone();
        let quiet = args.quiet;
        ctx.scheduler
            .log_lines(&instance.id, Some(0), true)
            .map(move |line| line.map(|l| render(&app, &instance, &l, quiet)))
            .boxed()
    });
    let mut merged = select_all(streams);
    let hangup = io.hangup.clone();
    loop {
        tokio::select! {
            _ = hangup.cancelled() => return Ok(()),
            next = merged.next() => match next {
                Some(Ok(line)) => io.out(&line).await,
                Some(Err(err)) => return Err(CommandError::Internal(err.to_string())),
                None => return Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shell_words::split(line).unwrap()
    }

    #[test]
    fn flags() {
        let args = Args::parse(&words("-t -n 5 -p worker shop")).unwrap();
        assert!(args.follow && !args.quiet);
        assert_eq!((args.lines, args.process.as_deref()), (5, Some("worker")));
        let args = Args::parse(&words("shop --quiet")).unwrap();
        assert_eq!((args.lines, args.quiet), (100, true));
        assert!(Args::parse(&words("shop -n many")).is_err());
    }
}
