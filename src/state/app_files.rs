//! Files kept per app beside `app.toml`: `failed.log`, what the instance that failed the app's
//! last failed deploy printed, for `logs:failed` (Dokku keeps the failed containers instead;
//! Berth removes them), and `maintenance.html`, the page `maintenance:custom-page` set.

use std::fs;

use super::{io_err, write_atomic, StateError, Store};
use crate::names::AppName;

impl Store {
    /// Replaces the app's failed-deploy record. An app destroyed meanwhile gets none.
    pub fn save_failed_output(&self, app: &AppName, text: &str) -> Result<(), StateError> {
        let snapshot = self.lock();
        if !snapshot.apps.contains_key(app) {
            return Err(StateError::AppMissing(app.clone()));
        }
        let path = self.layout.failed_log(app);
        write_atomic(&path, text.as_bytes(), 0o600).map_err(io_err(&path))
    }

    /// The app's last failed deploy, if one was recorded.
    pub fn failed_output(&self, app: &AppName) -> Result<Option<String>, StateError> {
        self.app(app)?;
        let path = self.layout.failed_log(app);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io_err(&path)(err)),
        }
    }

    /// Sets the app's maintenance page (`None`: back to the built-in one).
    pub fn save_maintenance_page(
        &self,
        app: &AppName,
        html: Option<&[u8]>,
    ) -> Result<(), StateError> {
        let snapshot = self.lock();
        if !snapshot.apps.contains_key(app) {
            return Err(StateError::AppMissing(app.clone()));
        }
        let path = self.layout.maintenance_page(app);
        match html {
            Some(html) => write_atomic(&path, html, 0o644).map_err(io_err(&path)),
            None => match fs::remove_file(&path) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(io_err(&path)(err)),
                _ => Ok(()),
            },
        }
    }

    /// The app's own maintenance page, if it set one.
    pub fn maintenance_page(&self, app: &AppName) -> Result<Option<Vec<u8>>, StateError> {
        let path = self.layout.maintenance_page(app);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io_err(&path)(err)),
        }
    }
}
