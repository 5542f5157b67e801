//! One daemon per data dir: `berth.lock`, held with `flock` for as long as a daemon serves.
//!
//! Two daemons on one data dir would each keep their own copy of the state and overwrite each
//! other's writes. A handoff passes the locked descriptor to the successor (a lock belongs to
//! the open file, which both processes share), so the data dir is never unlocked in between.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;

use super::{io_err, Layout, StateError};

/// The held lock; dropping the last descriptor of it (in every process) releases it.
#[derive(Debug)]
pub struct DataDirLock {
    file: File,
}

impl DataDirLock {
    /// Takes the lock, or keeps the one a predecessor handed over as `inherited`; creates the
    /// data dir (0700) on a first start.
    pub fn acquire(layout: &Layout, inherited: Option<OwnedFd>) -> Result<DataDirLock, StateError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(layout.root())
            .map_err(io_err(layout.root()))?;
        let path = layout.lock_file();
        let file = match inherited {
            Some(fd) => File::from(fd),
            None => OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(&path)
                .map_err(io_err(&path))?,
        };
        match file.try_lock() {
            Ok(()) => Ok(DataDirLock { file }),
            Err(TryLockError::WouldBlock) => Err(StateError::Locked {
                data_dir: layout.root().to_path_buf(),
                pid: std::fs::read_to_string(layout.pid_file())
                    .map(|pid| pid.trim().to_string())
                    .unwrap_or_else(|_| "unknown".to_string()),
            }),
            Err(TryLockError::Error(err)) => Err(io_err(&path)(err)),
        }
    }

    /// A descriptor of the locked file, to hand to a successor.
    pub fn share(&self) -> std::io::Result<OwnedFd> {
        Ok(self.file.try_clone()?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_daemon_on_one_data_dir_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let held = DataDirLock::acquire(&layout, None).unwrap();
        let err = DataDirLock::acquire(&layout, None).unwrap_err().to_string();
        assert!(err.contains("another berth daemon"), "{err}");
        let successor = DataDirLock::acquire(&layout, Some(held.share().unwrap())).unwrap();
        drop(held);
        assert!(DataDirLock::acquire(&layout, None).is_err());
        drop(successor);
        assert!(DataDirLock::acquire(&layout, None).is_ok());
    }
}
