//! # Berth
//!
//! A single-host, Heroku-style PaaS daemon: `git push` over SSH builds the app with Docker,
//! starts it, checks it answers, and only then switches the embedded proxy to it.
//!
//! # Layout
//!
//! - `daemon`: wires everything together and owns the shutdown tree.
//! - `ssh/`: the SSH front end (russh); exec requests become commands or pushes.
//! - `control/`: the unix control socket used by the local CLI and the git hook.
//! - `commands/`: the command router, one file per command, shared by both front ends.
//! - `git/`: bare repositories, `git receive-pack`, the pre-receive hook, commit export.
//! - `build/`: choosing a builder; buildpack builds in a container of the stack image.
//! - `deploy/`: the pipeline build → release → start → check → switch → retire; start-up adoption.
//! - `scheduler`: the traits deploy logic uses to build images and run instances.
//! - `docker/`: the only module that talks to Docker (bollard); implements `scheduler`.
//! - `health/`: is a new instance alive?
//! - `proxy/`: the HTTP reverse proxy and its atomically swapped route table.
//! - `acme/`: certificates by ACME (http-01 answered by the proxy) and their renewal.
//! - `state/`: the only module that writes the data dir's state files.
//! - `config`, `names`, `context`: configuration, validated names, shared context.
//! - `accept`: what every accept loop does when `accept` fails.
//! - `plugins/`: installed plugins (an index in memory) and running their commands.
//! - `backup/`: archives of a whole Berth, written and restored as streams.
//! - `doctor`: `berth doctor`, the host's readiness checks.
//! - `fetch`: cloning a buildpack's or a plugin's git repository with the real `git`.
//! - `fake` (unit tests only): an in-memory engine behind `scheduler`'s traits.
//!
//! See `docs/architecture.md` for the invariants.

pub mod accept;
pub mod acme;
pub mod admin;
pub mod alerts;
pub mod appjson;
pub mod backup;
pub mod build;
pub mod caller;
pub mod certs;
pub mod clock;
pub mod commands;
pub mod config;
pub mod context;
pub mod control;
pub mod cron;
pub mod crontab;
pub mod daemon;
pub mod deploy;
pub mod docker;
pub mod doctor;
pub mod domains;
pub mod events;
#[cfg(test)]
pub mod fake;
pub mod fetch;
pub mod git;
pub mod handoff;
pub mod health;
pub mod io;
pub mod metrics;
pub mod names;
pub mod options;
pub mod password;
pub mod plugins;
pub mod ports;
pub mod procfile;
pub mod proxy;
pub mod routing;
pub mod scheduler;
pub mod sessions;
pub mod size;
pub mod ssh;
pub mod state;
pub mod tokens;
pub mod urls;
