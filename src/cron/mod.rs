//! app.json `cron` tasks: parsed schedules (`schedule`) and the daemon's minute loop
//! (`runner`) that runs due tasks in one-off containers of the app's current release.

mod runner;
mod schedule;

pub use runner::{run_loop, run_task, task_spec};
pub use schedule::{Schedule, ScheduleError};
