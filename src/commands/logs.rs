//! `logs <app> [-n N] [-t|--tail] [-p PROCESS] [-q|--quiet]`: the app's containers' output,
//! merged in time order, each line prefixed `app[web.1]:`; `-t` follows live until the client
//! disconnects.

use futures_util::stream::{select_all, StreamExt};

use super::argv::Argv;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;
use crate::procfile::no_such_type;
use crate::scheduler::{split_timestamp, Instance};

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub tail: Tail,
    pub process: Option<String>,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("logs", words);
        let tail = Tail::parse(&mut argv)?;
        let process = argv.option("-p")?.or(argv.option("--ps")?);
        let app = AppName::parse(&argv.required("app name")?)?;
        argv.finish()?;
        Ok(Args { app, tail, process })
    }
}

/// How much of the output to show, and how: `-n N` (100), `-t|--tail`, `-q|--quiet`.
#[derive(Debug, Clone, Copy)]
pub struct Tail {
    pub lines: usize,
    pub follow: bool,
    pub quiet: bool,
}

impl Tail {
    pub fn parse(argv: &mut Argv) -> Result<Tail, CommandError> {
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
        Ok(Tail {
            lines,
            follow,
            quiet,
        })
    }
}

/// One container whose output is shown: its id and its dyno (`web.1`).
pub struct Source {
    pub id: String,
    pub dyno: String,
}

fn render(app: &AppName, dyno: &str, line: &str, quiet: bool) -> String {
    let (stamp, text) = split_timestamp(line);
    if quiet {
        format!("{text}\n")
    } else {
        format!("{stamp} {app}[{dyno}]: {text}\n")
    }
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let Some(release) = record.current() else {
        return Err(CommandError::User(format!(
            "{} has not been deployed",
            args.app
        )));
    };
    let current = release.number;
    // A process type the release lacks, or a name no process type could have: one answer.
    if let Some(process) = &args.process {
        let types = release.process_types();
        if !types.contains(process) {
            return Err(CommandError::User(no_such_type(&args.app, process, &types)));
        }
    }
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
    let sources: Vec<Source> = instances
        .iter()
        .map(|i| Source {
            id: i.id.clone(),
            dyno: i.dyno(),
        })
        .collect();
    show(ctx, io, &args.app, &sources, args.tail).await
}

/// The sources' latest lines merged in time order, then with `follow` new ones as they come,
/// until the client disconnects or every source ends.
pub async fn show(
    ctx: &Ctx,
    io: &mut Io,
    app: &AppName,
    sources: &[Source],
    tail: Tail,
) -> Result<(), CommandError> {
    let mut recent: Vec<(String, String)> = Vec::new();
    for source in sources {
        let mut stream = ctx.scheduler.log_lines(&source.id, Some(tail.lines), false);
        while let Some(line) = stream.next().await {
            let line = line.map_err(|err| CommandError::Internal(err.to_string()))?;
            let stamp = split_timestamp(&line).0.to_string();
            recent.push((stamp, render(app, &source.dyno, &line, tail.quiet)));
        }
    }
    recent.sort_by(|a, b| a.0.cmp(&b.0));
    let skip = recent.len().saturating_sub(tail.lines);
    for (_, line) in recent.into_iter().skip(skip) {
        io.out(&line).await;
    }
    if !tail.follow {
        return Ok(());
    }

    let streams = sources.iter().map(|source| {
        let dyno = source.dyno.clone();
        let app = app.clone();
        ctx.scheduler
            .log_lines(&source.id, Some(0), true)
            .map(move |line| line.map(|l| render(&app, &dyno, &l, tail.quiet)))
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
        assert!(args.tail.follow && !args.tail.quiet);
        assert_eq!(
            (args.tail.lines, args.process.as_deref()),
            (5, Some("worker"))
        );
        let args = Args::parse(&words("shop --quiet")).unwrap();
        assert_eq!((args.tail.lines, args.tail.quiet), (100, true));
        assert!(Args::parse(&words("shop -n many")).is_err());
    }
}
