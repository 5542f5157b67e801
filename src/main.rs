//! The `berth` binary: `berth daemon`, `berth <command>` (through the control socket), and the
//! git pre-receive hook (when invoked through the `pre-receive` symlink).

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use berth::config::Config;
use berth::control::{client, Request};
use berth::git::{hook_env, RefUpdate, ENV_CONTROL_SOCKET};
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

const DEFAULT_CONFIG: &str = "/etc/berth/berth.toml";

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "A single-host, Heroku-style PaaS: git push to deploy"
)]
#[command(disable_help_subcommand = true)]
struct Cli {
    /// The daemon's configuration file.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Subcommand)]
enum Sub {
    /// Run the daemon: SSH server, HTTP proxy and control socket.
    Daemon,
    /// The forced command of the host sshd's authorized_keys: runs SSH_ORIGINAL_COMMAND (a
    /// command or a push) as the key NAME, as Berth's own SSH server would.
    SshCommand {
        /// The key's name in Berth.
        #[arg(long)]
        key: String,
        /// The daemon's control socket (the config file's when unset).
        #[arg(long)]
        socket: Option<PathBuf>,
    },
    /// Check this host for Berth: Docker, ports, the data dir, DNS, disk, clock, state files.
    Doctor,
    /// Print a completion script: `source <(berth completions bash)`.
    Completions {
        /// bash, zsh or fish.
        shell: String,
        /// The command to complete, if not `berth` (an alias for `ssh -p 2222 berth@host`).
        name: Option<String>,
    },
    /// Any Berth command (apps:create, ssh-keys:add, help, ...), run by the daemon.
    #[command(external_subcommand)]
    Command(Vec<String>),
}

fn main() -> ExitCode {
    let invoked_as = std::env::args().next().unwrap_or_default();
    let result = if Path::new(&invoked_as).file_name() == Some("pre-receive".as_ref()) {
        hook()
    } else {
        run(Cli::parse())
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(err) => {
            eprintln!(" !     {}", one_line(&err));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line, each said once (many messages already quote their
/// source, as `cannot read config file X: No such file` does).
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Stack per runtime thread. A command runs a deploy inside its front end's task (SSH session,
/// control connection, plugin calling back), and unoptimised builds lay every nested future's
/// frame out in full: 2 MiB, tokio's default, overflowed there. Pages are only touched as used.
const THREAD_STACK: usize = 8 * 1024 * 1024;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(THREAD_STACK)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The CLI and the hook only relay bytes: one thread is faster to start than a pool.
fn client_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let (path, must_exist) = match &cli.config {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG), false),
    };
    Ok(Config::load(&path, must_exist)?)
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    if let Some(Sub::Completions { shell, name }) = &cli.command {
        let Some(script) =
            berth::commands::completion_script(shell, name.as_deref().unwrap_or("berth"))
        else {
            eprintln!(
                " !     No completions for {shell}: use one of {}",
                berth::commands::SHELLS.join(", ")
            );
            return Ok(1);
        };
        print!("{script}");
        return Ok(0);
    }
    // Inside a plugin, `berth` (or `dokku`) talks to the daemon that runs the plugin.
    let from_plugin = match (&cli.config, &cli.command) {
        (None, Some(Sub::Command(_)) | None) => std::env::var_os(ENV_CONTROL_SOCKET),
        _ => None,
    };
    let socket = match (from_plugin, &cli.command) {
        (
            _,
            Some(Sub::SshCommand {
                socket: Some(socket),
                ..
            }),
        ) => socket.clone(),
        (Some(socket), _) => PathBuf::from(socket),
        (None, _) => {
            let config = load_config(&cli)?;
            match cli.command {
                Some(Sub::Daemon) => return daemon(config),
                Some(Sub::Doctor) => return doctor(&config),
                _ => {}
            }
            config.control_socket()
        }
    };
    let argv = match cli.command {
        // Answered here, daemon or not: what an installer or `berth doctor` asks first.
        Some(Sub::Command(argv)) if matches!(argv.as_slice(), [v] if v == "version" || v == "--version") =>
        {
            println!("{}", berth::commands::version_line());
            return Ok(0);
        }
        Some(Sub::Command(argv)) => argv,
        Some(Sub::SshCommand { key, .. }) => {
            return Ok(client_runtime()?.block_on(client::run_ssh_command(&socket, key))?);
        }
        _ => vec!["help".into()],
    };
    Ok(client_runtime()?.block_on(client::run_command(&socket, argv))?)
}

fn daemon(config: Config) -> anyhow::Result<i32> {
    // Before any thread starts: this reads and clears the handoff environment.
    let inherited = berth::handoff::Inherited::from_env();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    runtime()?.block_on(async {
        let shutdown = CancellationToken::new();
        let signals = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            signals.cancel();
        });
        berth::daemon::run(config, inherited, shutdown, |bound| {
            let admin = bound.admin.map_or("off".to_string(), |a| a.to_string());
            println!(
                "berth daemon ready: ssh={} http={} https={} control={} admin={admin}",
                bound.ssh,
                bound.http,
                bound.https,
                bound.control.display()
            );
        })
        .await
    })?;
    Ok(0)
}

/// `berth doctor`: one line per check; exit status 1 when any fails.
fn doctor(config: &Config) -> anyhow::Result<i32> {
    let running = std::os::unix::net::UnixStream::connect(config.control_socket()).is_ok();
    let findings = client_runtime()?.block_on(berth::doctor::run(config, running));
    for finding in &findings {
        println!("{}", finding.line());
    }
    let failed = findings
        .iter()
        .any(|f| f.level == berth::doctor::Level::Fail);
    Ok(i32::from(failed))
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// The pre-receive hook: git gives the ref updates on stdin and the quarantine in the env.
fn hook() -> anyhow::Result<i32> {
    let socket = std::env::var_os(ENV_CONTROL_SOCKET)
        .map(PathBuf::from)
        .context("this hook only runs inside a push to Berth")?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the pushed refs")?;
    let (push_id, object_dirs) = hook_env();
    let request = Request::Hook {
        push_id: push_id.context("this hook only runs inside a push to Berth")?,
        updates: RefUpdate::parse_lines(&input),
        object_dirs,
    };
    Ok(client_runtime()?.block_on(client::run_hook(&socket, request))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let quoted = anyhow::Error::new(io).context(format!(
            "cannot read config file /etc/berth.toml: {}",
            std::io::Error::from(std::io::ErrorKind::NotFound)
        ));
        assert_eq!(
            one_line(&quoted),
            "cannot read config file /etc/berth.toml: entity not found"
        );
        let chained = anyhow::anyhow!("refused").context("cannot start");
        assert_eq!(one_line(&chained), "cannot start: refused");
    }
}
