//! `resource:limit|reserve [--memory SIZE] [--cpu N] [--process-type P] <app>` and
//! `resource:limit-clear|reserve-clear [--process-type P] <app>` and `resource:report <app>`:
//! per process type (or all), applied at the next deploy or restart.
//! A limit caps (Docker's `--memory`, `--cpus`); a reservation is Docker's
//! `--memory-reservation` and a CPU weight (`--cpu-shares`, 1024 per CPU).

use super::argv::{AppArgs, Argv};
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::AppName;
use crate::procfile::valid_process_name;
use crate::size::Size;
use crate::state::{Resources, ALL_PROCESSES};

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub reserve: bool,
    /// `-clear`: both values unset.
    pub clear: bool,
    pub process: String,
    pub memory: Option<u64>,
    pub cpu: Option<f64>,
}

impl Args {
    pub fn parse(command: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let reserve = command.starts_with("resource:reserve");
        let clear = command.ends_with("-clear");
        let mut argv = Argv::new(command, words);
        let memory = argv
            .option("--memory")?
            .map(|m| parse_memory(&m))
            .transpose()?;
        let cpu = argv.option("--cpu")?.map(|c| parse_cpu(&c)).transpose()?;
        let process = argv
            .option("--process-type")?
            .unwrap_or_else(|| ALL_PROCESSES.to_string());
        if process != ALL_PROCESSES && !valid_process_name(&process) {
            return Err(CommandError::User(format!(
                "Invalid process type \"{shown}\"",
                shown = crate::names::shown(&process)
            )));
        }
        let app = AppName::parse(&argv.required("app name")?)?;
        argv.finish()?;
        match (clear, memory.is_some() || cpu.is_some()) {
            (false, false) => {
                return Err(CommandError::Usage(format!(
                    "{command} needs --memory and/or --cpu"
                )))
            }
            (true, true) => {
                return Err(CommandError::Usage(format!(
                    "{command} clears both; it takes no --memory or --cpu"
                )))
            }
            _ => {}
        }
        Ok(Args {
            app,
            reserve,
            clear,
            process,
            memory,
            cpu,
        })
    }
}

/// `512m`, `1g`, `256k`, `1048576` → bytes (at least 6 MiB, Docker's floor).
pub fn parse_memory(raw: &str) -> Result<u64, CommandError> {
    match Size::parse(raw).map(Size::bytes) {
        Some(bytes) if bytes >= 6 << 20 => Ok(bytes),
        _ => Err(CommandError::User(format!(
            "Invalid memory size \"{shown}\": use e.g. 512m or 1g (at least 6m)",
            shown = crate::names::shown(raw)
        ))),
    }
}

fn parse_cpu(raw: &str) -> Result<f64, CommandError> {
    match raw.parse::<f64>() {
        Ok(cpu) if cpu > 0.0 && cpu <= 1024.0 => Ok(cpu),
        _ => Err(CommandError::User(format!(
            "Invalid CPU count \"{shown}\": use e.g. 0.5 or 2",
            shown = crate::names::shown(raw)
        ))),
    }
}

fn show_memory(bytes: Option<u64>) -> String {
    bytes.map(|b| format!("{}m", b >> 20)).unwrap_or_default()
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    ctx.store.update_app(&args.app, |record| {
        let entry = record.resources.entry(args.process.clone()).or_default();
        let (memory, cpu) = match args.reserve {
            true => (&mut entry.memory_reservation, &mut entry.cpu_reservation),
            false => (&mut entry.memory_limit, &mut entry.cpu_limit),
        };
        match args.clear {
            true => (*memory, *cpu) = (None, None),
            false => (*memory, *cpu) = (args.memory.or(*memory), args.cpu.or(*cpu)),
        }
        if *entry == Resources::default() {
            record.resources.remove(&args.process);
        }
    })?;
    let what = if args.reserve {
        "reservations"
    } else {
        "limits"
    };
    let scope = if args.process == ALL_PROCESSES {
        "all processes".to_string()
    } else {
        args.process.clone()
    };
    let verb = if args.clear { "Clearing" } else { "Setting" };
    io.step(&format!(
        "{verb} resource {what} for {} ({scope})",
        args.app
    ))
    .await;
    io.detail(&format!(
        "They apply from the next deploy: ps:restart {}",
        args.app
    ))
    .await;
    Ok(())
}

pub async fn report_app(ctx: &Ctx, io: &mut Io, args: AppArgs) -> Result<(), CommandError> {
    let record = ctx.store.app(&args.app)?;
    let mut rows: Vec<(String, String)> = Vec::new();
    for (process, resources) in &record.resources {
        let name = if process == ALL_PROCESSES {
            "Default"
        } else {
            process.as_str()
        };
        rows.push((
            format!("{name} limit memory"),
            show_memory(resources.memory_limit),
        ));
        rows.push((
            format!("{name} limit cpu"),
            resources
                .cpu_limit
                .map(|c| c.to_string())
                .unwrap_or_default(),
        ));
        rows.push((
            format!("{name} reserve memory"),
            show_memory(resources.memory_reservation),
        ));
        rows.push((
            format!("{name} reserve cpu"),
            resources
                .cpu_reservation
                .map(|c| c.to_string())
                .unwrap_or_default(),
        ));
    }
    let rows: Vec<(&str, String)> = rows.iter().map(|(l, v)| (l.as_str(), v.clone())).collect();
    report(io, &format!("{} resource information", args.app), &rows).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("512m").unwrap(), 512 << 20);
        assert_eq!(parse_memory("1G").unwrap(), 1 << 30);
        assert_eq!(parse_memory("8192k").unwrap(), 8 << 20);
        assert_eq!(parse_memory("10485760").unwrap(), 10 << 20);
        assert_eq!(parse_memory("64mb").unwrap(), 64 << 20);
        for bad in ["", "m", "5m", "12x", "-1g", "99999999999999g", "64mbbb"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn clears_take_no_values() {
        let words = crate::commands::argv::words;
        let clear = Args::parse("resource:limit-clear", &words("--process-type web shop")).unwrap();
        assert!(clear.clear && !clear.reserve && clear.process == "web");
        let reserve = Args::parse("resource:reserve-clear", &words("shop")).unwrap();
        assert!(reserve.clear && reserve.reserve);
        assert!(Args::parse("resource:limit-clear", &words("--memory 1g shop")).is_err());
        assert!(Args::parse("resource:limit", &words("shop")).is_err());
    }

    #[test]
    fn cpus() {
        assert_eq!(parse_cpu("0.5").unwrap(), 0.5);
        assert!(parse_cpu("0").is_err());
        assert!(parse_cpu("lots").is_err());
    }
}
