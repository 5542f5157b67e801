//! `backup:schedule`: archives made on a cron schedule into `<data_dir>/backups/<dir>/`, named
//! by their UTC time (`berth-20261207-030000.tar.gz`), written under a `.partial` name and
//! renamed when complete, keeping the newest `keep`.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{export, io_error, BackupError, Selection};
use crate::context::Ctx;
use crate::crontab::Schedule;
use crate::io::Io;
use crate::state::BackupSchedule;

const PREFIX: &str = "berth-";
const SUFFIX: &str = ".tar.gz";

/// A directory name under `backups/` (the service plugins' rule): lowercase letters, digits,
/// `-` and `_`, starting with a letter or digit, at most 64.
pub fn valid_dir(dir: &str) -> bool {
    dir.len() <= 64
        && dir.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && dir
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Starts the scheduled archive when `minute` is due (called by the cron loop each minute).
pub fn run_if_due(ctx: &Arc<Ctx>, minute: &DateTime<Utc>) {
    let Some(plan) = ctx.store.global().backup_schedule else {
        return;
    };
    if !Schedule::parse(&plan.schedule).is_ok_and(|s| s.matches(minute)) {
        return;
    }
    let ctx2 = ctx.clone();
    let name = format!("{PREFIX}{}{SUFFIX}", minute.format("%Y%m%d-%H%M%S"));
    ctx.tracker.spawn(async move {
        match write(&ctx2, &plan, &name).await {
            Ok(()) => tracing::info!(archive = %name, dir = %plan.dir, "backup: archive written"),
            Err(err) => {
                tracing::error!(error = %err, dir = %plan.dir, "backup: scheduled archive failed")
            }
        }
    });
}

/// Writes one archive of `plan` as `name`, then drops the oldest beyond `keep`.
async fn write(ctx: &Ctx, plan: &BackupSchedule, name: &str) -> Result<(), BackupError> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = ctx.store.layout().backups_dir().join(&plan.dir);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(io_error("create", &dir))?;
    let partial = dir.join(format!("{name}.partial"));
    let mut file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .await
        .map_err(io_error("create", &partial))?;
    let selection = Selection {
        apps: (!plan.apps.is_empty()).then(|| plan.apps.clone()),
        with_volumes: plan.with_volumes,
    };
    let mut io = Io::detached(ctx.shutdown.child_token());
    let written = export(ctx, &selection, &mut io, &mut file).await;
    let synced = file.sync_all().await.map_err(io_error("write", &partial));
    if let Err(err) = written.and(synced) {
        let _ = std::fs::remove_file(&partial);
        return Err(err);
    }
    let done = dir.join(name);
    std::fs::rename(&partial, &done).map_err(io_error("rename", &done))?;
    rotate(&dir, plan.keep as usize)
}

/// Removes all but the newest `keep` archives in `dir` (names sort by time).
fn rotate(dir: &Path, keep: usize) -> Result<(), BackupError> {
    let mut archives: Vec<_> = std::fs::read_dir(dir)
        .map_err(io_error("read", dir))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        .collect();
    archives.sort();
    let excess = archives.len().saturating_sub(keep.max(1));
    for old in &archives[..excess] {
        let path = dir.join(old);
        std::fs::remove_file(&path).map_err(io_error("remove", &path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_keeps_the_newest_archives_and_nothing_else_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "berth-20261201-030000.tar.gz",
            "berth-20261203-030000.tar.gz",
            "berth-20261202-030000.tar.gz",
            "notes.txt",
        ] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        rotate(dir.path(), 2).unwrap();
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "berth-20261202-030000.tar.gz",
                "berth-20261203-030000.tar.gz",
                "notes.txt"
            ]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scheduled_archive_is_written_whole_and_the_oldest_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::fake::test_ctx(dir.path()).await;
        let shop = crate::names::AppName::parse("shop").unwrap();
        ctx.create_app(&shop).unwrap();
        let plan = BackupSchedule {
            schedule: "0 3 * * *".into(),
            dir: "nightly".into(),
            keep: 2,
            with_volumes: false,
            apps: Vec::new(),
        };
        for name in ["berth-1.tar.gz", "berth-2.tar.gz", "berth-3.tar.gz"] {
            write(&ctx, &plan, name).await.unwrap();
        }
        let nightly = dir.path().join("backups/nightly");
        let mut left: Vec<_> = std::fs::read_dir(&nightly)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["berth-2.tar.gz", "berth-3.tar.gz"]);
        let staging = dir.path().join("check");
        std::fs::create_dir(&staging).unwrap();
        let archive = std::fs::File::open(nightly.join("berth-3.tar.gz")).unwrap();
        let meta = super::super::archive::unpack(archive, &staging).unwrap();
        assert_eq!(meta.apps, ["shop"]);
        assert!(staging.join("apps/shop/app.toml").exists());
    }

    #[test]
    fn backup_directories_are_plain_names() {
        assert!(valid_dir("nightly"));
        assert!(valid_dir("db_2"));
        for bad in ["", "../etc", "a/b", "Nightly", "-x", &"a".repeat(65)] {
            assert!(!valid_dir(bad), "{bad}");
        }
    }
}
