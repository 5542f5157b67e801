//! The format of state files: each carries `version = N`, the format of its kind of file.
//!
//! A daemon refuses a file written by a newer Berth (a handoff to an older binary must not
//! silently drop fields it does not know), and brings older ones up to date, one migration per
//! version, before deserializing. A migrated file is written in the current format at its next
//! change.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::StateError;

/// The key every state file carries its format under.
const KEY: &str = "version";

/// Brings a file's table from one format to the next.
type Migration = fn(&mut toml::Table);

/// One kind of state file's format: `migrations[n]` takes format `n` to `n + 1`, so the
/// current format is their count.
pub struct Format {
    migrations: &'static [Migration],
}

impl Format {
    pub const fn current(&self) -> u32 {
        self.migrations.len() as u32
    }
}

/// `apps/<app>/app.toml`.
pub const APP: Format = Format {
    migrations: &[without_version],
};
/// `global.toml`.
pub const GLOBAL: Format = Format {
    migrations: &[without_version],
};
/// `keys.toml`.
pub const KEYS: Format = Format {
    migrations: &[without_version],
};

/// Format 0, a file without a version (written by hand, say), is format 1 without the key.
fn without_version(_: &mut toml::Table) {}

/// Reads a state file's text, migrating older formats.
pub fn decode<T: DeserializeOwned>(
    format: &Format,
    path: &Path,
    text: &str,
) -> Result<T, StateError> {
    let corrupt = |message: String| StateError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let mut table: toml::Table =
        toml::from_str(text).map_err(|err| corrupt(err.message().to_string()))?;
    let found = match table.get(KEY) {
        None => 0,
        Some(toml::Value::Integer(n)) => {
            u32::try_from(*n).map_err(|_| corrupt(format!("its {KEY} {n} is not a format")))?
        }
        Some(other) => return Err(corrupt(format!("its {KEY} {other} is not a number"))),
    };
    if found > format.current() {
        return Err(StateError::Newer {
            path: path.to_path_buf(),
            found,
            current: format.current(),
        });
    }
    for migration in &format.migrations[found as usize..] {
        migration(&mut table);
    }
    table.insert(KEY.to_string(), i64::from(format.current()).into());
    T::deserialize(table).map_err(|err| corrupt(err.message().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{AppRecord, GlobalSettings, KeyRing};

    fn path() -> &'static Path {
        Path::new("apps/shop/app.toml")
    }

    #[test]
    fn a_file_from_a_newer_berth_is_refused() {
        let err = decode::<GlobalSettings>(&GLOBAL, path(), "version = 2\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "apps/shop/app.toml was written by a newer Berth (state format 2; this one reads up to 1): upgrade Berth, or restore the file from before the upgrade"
        );
        assert!(decode::<GlobalSettings>(&GLOBAL, path(), "version = \"x\"\n").is_err());
        assert!(decode::<GlobalSettings>(&GLOBAL, path(), "version = -1\n").is_err());
    }

    #[test]
    fn migration_from_files_without_a_version() {
        let record: AppRecord = decode(
            &APP,
            path(),
            "name = \"shop\"\ncreated_at = 7\n\n[env]\nA = \"b\"\n",
        )
        .unwrap();
        assert_eq!((record.version, record.env["A"].as_str()), (1, "b"));
        let global: GlobalSettings = decode(&GLOBAL, path(), "").unwrap();
        assert_eq!(global.version, 1);
        let keys: KeyRing = decode(&KEYS, path(), "").unwrap();
        assert_eq!((keys.version, keys.keys.len()), (1, 0));
    }

    /// The files as they are written: a change to the format shows here in review (and needs a
    /// new version with its migration when an older Berth could not read it).
    #[test]
    fn serialized_state_files() {
        use crate::names::{AppName, KeyName};
        use crate::state::{Mount, Release, SshKey};
        let mut record = AppRecord::new(AppName::parse("shop").unwrap(), 1_700_000_000);
        record.env.insert("GREETING".into(), "hello".into());
        record.mounts.push(Mount {
            host: "/var/lib/berth/storage/shop".into(),
            container: "/data".into(),
        });
        record.releases.push(Release {
            number: 1,
            image: "berth/shop:1".into(),
            git_rev: Some("1a2b3c4".into()),
            source_image: None,
            image_digest: None,
            pushed: None,
            created_at: 1_700_000_100,
            created_by: "alice".into(),
            port: 5000,
            description: "Deploy 1a2b3c4".into(),
            env: record.env.clone(),
            formation: [("web".to_string(), 1)].into(),
            checks: Vec::new(),
            processes: [("web".to_string(), "httpd".to_string())].into(),
            predeploy: None,
            postdeploy: None,
            declared_formation: Default::default(),
            cron: Vec::new(),
        });
        record.current_release = Some(1);
        expect_test::expect_file!["snapshots/app.toml"]
            .assert_eq(&toml::to_string_pretty(&record).unwrap());
        expect_test::expect_file!["snapshots/global.toml"]
            .assert_eq(&toml::to_string_pretty(&GlobalSettings::default()).unwrap());
        let keys = KeyRing {
            keys: vec![SshKey {
                name: KeyName::parse("alice").unwrap(),
                public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA".into(),
                fingerprint: "SHA256:abc".into(),
                added_at: 1_700_000_000,
                role: crate::state::Role::Developer,
            }],
            ..KeyRing::default()
        };
        expect_test::expect_file!["snapshots/keys.toml"]
            .assert_eq(&toml::to_string_pretty(&keys).unwrap());
    }
}
