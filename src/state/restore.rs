//! State from a backup (`backup:import`): the staged files read and checked whole before
//! anything changes, then apps, keys and global settings put in place one at a time.

use std::fs;
use std::path::Path;

use super::{format, io_err, GlobalSettings, KeyRing, StateError, Store};
use crate::names::AppName;
use crate::state::AppRecord;

/// The state files of a staged backup, decoded (older formats migrated as at start).
pub struct Staged {
    pub global: GlobalSettings,
    pub keys: KeyRing,
    pub apps: Vec<AppRecord>,
}

/// Reads `global.toml`, `keys.toml` and each `apps/<app>/app.toml` under `staged`; an
/// unreadable one fails the whole read.
pub fn read_staged(staged: &Path) -> Result<Staged, StateError> {
    let global = super::read_or_default(&format::GLOBAL, &staged.join("global.toml"))?;
    let keys = super::read_or_default(&format::KEYS, &staged.join("keys.toml"))?;
    let mut apps = Vec::new();
    let dir = staged.join("apps");
    if dir.exists() {
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let file = entry.path().join("app.toml");
            let name = entry.file_name();
            let corrupt = |message: String| StateError::Corrupt {
                path: file.clone(),
                message,
            };
            let name = name
                .to_str()
                .and_then(|n| AppName::parse(n).ok())
                .ok_or_else(|| corrupt("not an app's name".into()))?;
            let text = fs::read_to_string(&file).map_err(io_err(&file))?;
            let record: AppRecord = format::decode(&format::APP, &file, &text)?;
            if record.name != name {
                return Err(corrupt(format!("it names another app, {}", record.name)));
            }
            apps.push(record);
        }
    }
    apps.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Staged { global, keys, apps })
}

impl Store {
    /// Makes `record` an app, with the files of `staged_dir` (its certificate, secrets,
    /// maintenance page) moved in beside it. Refused when the name is taken.
    pub fn import_app(&self, record: AppRecord, staged_dir: &Path) -> Result<(), StateError> {
        let mut snapshot = self.lock_mut()?;
        let name = record.name.clone();
        if snapshot.taken(&name) {
            return Err(StateError::AppExists(name));
        }
        let dir = self.layout.app_dir(&name);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(io_err(&dir))?;
        }
        fs::rename(staged_dir, &dir).map_err(io_err(&dir))?;
        self.write(&self.layout.app_file(&name), &record)?;
        snapshot.apps.insert(name, record);
        Ok(())
    }

    /// Replaces the global settings with `global`.
    pub fn replace_global(&self, global: GlobalSettings) -> Result<(), StateError> {
        self.update_global(|current| *current = global)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_imported_app_survives_reopening_and_a_taken_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("data")).unwrap();
        let shop = AppName::parse("shop").unwrap();
        let staged = dir.path().join("staged/apps/shop");
        fs::create_dir_all(staged.join("tls")).unwrap();
        fs::write(staged.join("tls/server.crt"), "crt").unwrap();
        let mut record = AppRecord::new(shop.clone(), 1);
        record.current_release = Some(3);
        store.write(&staged.join("app.toml"), &record).unwrap();
        let read = read_staged(&dir.path().join("staged")).unwrap();
        assert_eq!(read.apps.len(), 1);
        store.import_app(read.apps[0].clone(), &staged).unwrap();
        let again = AppRecord::new(shop.clone(), 1);
        assert!(matches!(
            store.import_app(again, &staged),
            Err(StateError::AppExists(_))
        ));
        let reopened = Store::open(&dir.path().join("data")).unwrap();
        assert_eq!(reopened.app(&shop).unwrap().current_release, Some(3));
        assert!(reopened.layout().tls_dir(&shop).join("server.crt").exists());
    }
}
