//! Secrets as files (`secrets:*`), as Docker Swarm keeps them: each value in
//! `apps/<app>/secrets/<name>` (mode 0600, in a 0700 directory), its name and change time in
//! the app's record. Instances mount them read-only at `/run/secrets/<name>`; the values are
//! never in the record, the environment, or any output.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use super::{io_err, write_atomic, StateError, Store};
use crate::clock::now_unix;
use crate::names::AppName;

/// The largest secret, in bytes (Docker Swarm's limit).
pub const MAX_SECRET: usize = 500 * 1024;

/// A secret's name: a letter or digit, then letters, digits, `_`, `.` or `-`, at most 64 (one
/// path component under `/run/secrets`, never `.` or `..`).
pub fn valid_secret_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

impl Store {
    /// Where the value of the app's secret `name` is stored.
    pub fn secret_file(&self, app: &AppName, name: &str) -> PathBuf {
        self.layout.app_dir(app).join("secrets").join(name)
    }

    /// Stores the value first, then names it in the record: a record never names a missing file.
    pub fn set_secret(&self, app: &AppName, name: &str, value: &[u8]) -> Result<(), StateError> {
        let mut snapshot = self.lock_mut()?;
        let mut record = snapshot.record(app)?;
        let path = self.secret_file(app, name);
        if let Some(dir) = path.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io_err(dir))?;
        }
        write_atomic(&path, value, 0o600).map_err(io_err(&path))?;
        record.secrets.insert(name.to_string(), now_unix());
        self.write(&self.layout.app_file(app), &record)?;
        snapshot.apps.insert(app.clone(), record);
        Ok(())
    }

    /// Unnames the secret first, then removes its value; false when the app has no such secret.
    pub fn unset_secret(&self, app: &AppName, name: &str) -> Result<bool, StateError> {
        let mut snapshot = self.lock_mut()?;
        let mut record = snapshot.record(app)?;
        if record.secrets.remove(name).is_none() {
            return Ok(false);
        }
        self.write(&self.layout.app_file(app), &record)?;
        snapshot.apps.insert(app.clone(), record);
        let path = self.secret_file(app, name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(err) => Err(io_err(&path)(err)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_one_safe_path_component() {
        for ok in ["db_password", "tls.key", "A-1"] {
            assert!(valid_secret_name(ok), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in ["", ".", "..", "../x", "a/b", ".hidden", "-x", "a b", &long] {
            assert!(!valid_secret_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_secret_is_a_private_file_named_in_the_record() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let app = AppName::parse("shop").unwrap();
        store.create_app(&app).unwrap();
        store.set_secret(&app, "db_password", b"hunter2").unwrap();
        let path = store.secret_file(&app, "db_password");
        assert_eq!(fs::read(&path).unwrap(), b"hunter2");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let record = fs::read_to_string(dir.path().join("apps/shop/app.toml")).unwrap();
        assert!(record.contains("db_password") && !record.contains("hunter2"));
        assert!(store.unset_secret(&app, "db_password").unwrap());
        assert!(!path.exists());
        assert!(!store.unset_secret(&app, "db_password").unwrap());
    }
}
