//! Deploys started through the deploy webhook, each numbered per app: `apps/<app>/deploys/
//! <id>.toml` says what ran, for whom and how it ended, `<id>.log` holds its output as it is
//! written, so `GET /deploy/<app>/<id>` and `deploys:status` read it while it runs. The newest
//! `KEPT_RUNS` of an app are kept.
//!
//! These files are read from disk on every request, never from the snapshot, so a deploy that
//! ends after a handover (the successor serves the data dir by then) still records its end.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{io_err, StateError, Store};
use crate::names::AppName;

/// How many of an app's webhook deploys are kept.
pub const KEPT_RUNS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// The daemon running it stopped before it ended.
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// One webhook deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRun {
    pub id: u64,
    pub status: RunStatus,
    /// The command it runs (`git:sync --build shop https://… v2`).
    pub command: Vec<String>,
    /// Who asked (`token:ci`), as the audit log names it.
    pub by: String,
    /// The address it came from.
    pub from: String,
    pub started: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The daemon running it: a run still `running` whose daemon is gone was interrupted.
    pub pid: u32,
}

impl Store {
    /// Records a new run of `command` and creates its empty log; `None` when the app has
    /// `at_most` runs going already.
    pub fn start_deploy_run(
        &self,
        app: &AppName,
        command: Vec<String>,
        by: &str,
        from: &str,
        at_most: usize,
    ) -> Result<Option<DeployRun>, StateError> {
        let snapshot = self.lock_mut()?;
        snapshot.record(app)?;
        let dir = self.layout.deploy_runs_dir(app);
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let runs = self.read_runs(app)?;
        if runs
            .iter()
            .filter(|r| r.status == RunStatus::Running)
            .count()
            >= at_most
        {
            return Ok(None);
        }
        let run = DeployRun {
            id: runs.first().map_or(1, |newest| newest.id + 1),
            status: RunStatus::Running,
            command,
            by: by.to_string(),
            from: from.to_string(),
            started: crate::clock::now_unix(),
            finished: None,
            exit_code: None,
            pid: std::process::id(),
        };
        let log = self.deploy_run_log(app, run.id);
        fs::write(&log, b"").map_err(io_err(&log))?;
        self.write_run(app, &run)?;
        for old in runs.iter().skip(KEPT_RUNS - 1) {
            for path in [self.run_file(app, old.id), self.deploy_run_log(app, old.id)] {
                let _ = fs::remove_file(path);
            }
        }
        Ok(Some(run))
    }

    /// Records how the run ended (`status` 0: succeeded). An app destroyed meanwhile has no
    /// runs left to record it in.
    pub fn finish_deploy_run(
        &self,
        app: &AppName,
        id: u64,
        status: Option<i32>,
    ) -> Result<(), StateError> {
        let _serialised = self.lock();
        let Some(mut run) = self.read_run(app, id)? else {
            return Ok(());
        };
        run.status = match status {
            Some(0) => RunStatus::Succeeded,
            Some(_) => RunStatus::Failed,
            None => RunStatus::Interrupted,
        };
        run.exit_code = status;
        run.finished = Some(crate::clock::now_unix());
        self.write_run(app, &run)
    }

    /// The app's run `id`.
    pub fn deploy_run(&self, app: &AppName, id: u64) -> Result<Option<DeployRun>, StateError> {
        self.app(app)?;
        self.read_run(app, id)
    }

    /// The app's runs, newest first.
    pub fn deploy_runs(&self, app: &AppName) -> Result<Vec<DeployRun>, StateError> {
        self.app(app)?;
        self.read_runs(app)
    }

    /// Run `id`'s output file, opened to append to.
    pub fn open_deploy_run_log(&self, app: &AppName, id: u64) -> Result<fs::File, StateError> {
        let path = self.deploy_run_log(app, id);
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io_err(&path))
    }

    fn deploy_run_log(&self, app: &AppName, id: u64) -> PathBuf {
        self.layout.deploy_runs_dir(app).join(format!("{id}.log"))
    }

    /// Up to `max` bytes of run `id`'s output from byte `from`, and where they end.
    pub fn deploy_run_output(
        &self,
        app: &AppName,
        id: u64,
        from: u64,
        max: u64,
    ) -> Result<(Vec<u8>, u64), StateError> {
        let path = self.deploy_run_log(app, id);
        let mut file = match fs::File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(err) => return Err(io_err(&path)(err)),
        };
        let len = file.metadata().map_err(io_err(&path))?.len();
        let from = from.min(len);
        file.seek(SeekFrom::Start(from)).map_err(io_err(&path))?;
        let mut bytes = Vec::new();
        file.take(max)
            .read_to_end(&mut bytes)
            .map_err(io_err(&path))?;
        let end = from + bytes.len() as u64;
        Ok((bytes, end))
    }

    fn run_file(&self, app: &AppName, id: u64) -> PathBuf {
        self.layout.deploy_runs_dir(app).join(format!("{id}.toml"))
    }

    fn read_run(&self, app: &AppName, id: u64) -> Result<Option<DeployRun>, StateError> {
        let path = self.run_file(app, id);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io_err(&path)(err)),
        };
        let mut run: DeployRun = toml::from_str(&text).map_err(|err| StateError::Corrupt {
            path,
            message: err.to_string(),
        })?;
        if run.status == RunStatus::Running && !alive(run.pid) {
            run.status = RunStatus::Interrupted;
        }
        Ok(Some(run))
    }

    fn read_runs(&self, app: &AppName) -> Result<Vec<DeployRun>, StateError> {
        let dir = self.layout.deploy_runs_dir(app);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(io_err(&dir)(err)),
        };
        let mut runs = Vec::new();
        for entry in entries {
            let name = entry.map_err(io_err(&dir))?.file_name();
            let id = name.to_str().and_then(|n| n.strip_suffix(".toml"));
            if let Some(id) = id.and_then(|id| id.parse().ok()) {
                runs.extend(self.read_run(app, id)?);
            }
        }
        runs.sort_by_key(|run| std::cmp::Reverse(run.id));
        Ok(runs)
    }

    fn write_run(&self, app: &AppName, run: &DeployRun) -> Result<(), StateError> {
        self.write(&self.run_file(app, run.id), run)
    }
}

/// Whether the process `pid` runs (this one always does).
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only asks whether the process exists; nothing is sent.
    let found = unsafe { libc::kill(pid, 0) } == 0;
    found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
