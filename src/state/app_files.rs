//! Files kept per app beside `app.toml`: `failed.log`, what the instance that failed the app's
//! last failed deploy printed, for `logs:failed` (Dokku keeps the failed containers instead;
//! Berth removes them), and `maintenance.html`, the page `maintenance:custom-page` set, with
//! `maintenance-assets.tar`, the files it uses.

use std::fs;
use std::io::Read;

use super::{io_err, write_atomic, StateError, Store};
use crate::names::AppName;

/// An app's own maintenance page and the files it uses (stylesheets, images), by their path
/// relative to the page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenancePage {
    pub html: Vec<u8>,
    pub assets: Vec<(String, Vec<u8>)>,
}

impl Store {
    /// Replaces the app's failed-deploy record. An app destroyed meanwhile gets none.
    pub fn save_failed_output(&self, app: &AppName, text: &str) -> Result<(), StateError> {
        let snapshot = self.lock_mut()?;
        if !snapshot.apps.contains_key(app) {
            return Err(snapshot.missing(app));
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

    /// Sets the app's maintenance page (`None`: back to the built-in one). The assets are
    /// written first and the page last, so a page never refers to assets not yet stored.
    pub fn save_maintenance_page(
        &self,
        app: &AppName,
        page: Option<&MaintenancePage>,
    ) -> Result<(), StateError> {
        let snapshot = self.lock_mut()?;
        if !snapshot.apps.contains_key(app) {
            return Err(snapshot.missing(app));
        }
        let (html, assets) = (
            self.layout.maintenance_page(app),
            self.layout.maintenance_assets(app),
        );
        let Some(page) = page else {
            remove_if_there(&html)?;
            return remove_if_there(&assets);
        };
        match page.assets.is_empty() {
            true => remove_if_there(&assets)?,
            false => {
                let tar = assets_tar(&page.assets).map_err(io_err(&assets))?;
                write_atomic(&assets, &tar, 0o644).map_err(io_err(&assets))?;
            }
        }
        write_atomic(&html, &page.html, 0o644).map_err(io_err(&html))
    }

    /// The app's own maintenance page, if it set one.
    pub fn maintenance_page(&self, app: &AppName) -> Result<Option<MaintenancePage>, StateError> {
        let path = self.layout.maintenance_page(app);
        let html = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(io_err(&path)(err)),
        };
        let path = self.layout.maintenance_assets(app);
        let assets = match fs::read(&path) {
            Ok(tar) => read_assets(&tar).map_err(io_err(&path))?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(err) => return Err(io_err(&path)(err)),
        };
        Ok(Some(MaintenancePage { html, assets }))
    }
}

fn remove_if_there(path: &std::path::Path) -> Result<(), StateError> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(io_err(path)(err)),
        _ => Ok(()),
    }
}

fn assets_tar(assets: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (path, data) in assets {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, path, data.as_slice())?;
    }
    builder.into_inner()
}

fn read_assets(tar: &[u8]) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut archive = tar::Archive::new(tar);
    let mut assets = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        assets.push((path, data));
    }
    Ok(assets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_survive_their_tar() {
        let assets = vec![
            ("style.css".to_string(), b"body{}".to_vec()),
            ("img/logo.svg".to_string(), b"<svg/>".to_vec()),
        ];
        assert_eq!(read_assets(&assets_tar(&assets).unwrap()).unwrap(), assets);
    }
}
