//! app.json `cron` tasks: the daemon's minute loop (`runner`) that runs due tasks in one-off
//! containers of the app's current release, and plugins' scheduled commands (`plugin_tasks`).
//! Their schedules are `crontab::Schedule`s.

mod plugin_tasks;
mod runner;

pub use runner::{run_loop, run_task, task_spec};
