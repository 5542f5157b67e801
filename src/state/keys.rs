//! The SSH keys allowed in (`keys.toml`), their roles, and the apps' ACLs that name them.

use super::{KeyRing, Role, SshKey, StateError, Store};
use crate::names::{AppName, KeyName};

impl Store {
    pub fn keys(&self) -> Vec<SshKey> {
        self.lock().keys.keys.clone()
    }

    /// The name of the key whose OpenSSH text (`type base64`) is `public_key`.
    pub fn key_name_for(&self, public_key: &str) -> Option<KeyName> {
        self.lock()
            .keys
            .keys
            .iter()
            .find(|k| k.public_key == public_key)
            .map(|k| k.name.clone())
    }

    pub fn add_key(&self, key: SshKey) -> Result<(), StateError> {
        let mut snapshot = self.lock_mut()?;
        if snapshot.keys.keys.iter().any(|k| k.name == key.name) {
            return Err(StateError::KeyNameTaken(key.name));
        }
        if let Some(existing) = snapshot
            .keys
            .keys
            .iter()
            .find(|k| k.public_key == key.public_key)
        {
            return Err(StateError::KeyAlreadyAdded(existing.name.clone()));
        }
        let mut ring = snapshot.keys.clone();
        ring.keys.push(key);
        self.write(&self.layout.keys_file(), &ring)?;
        snapshot.keys = ring;
        Ok(())
    }

    pub fn remove_key(&self, name: &KeyName) -> Result<(), StateError> {
        let mut snapshot = self.lock_mut()?;
        let mut ring = snapshot.keys.clone();
        let before = ring.keys.len();
        ring.keys.retain(|k| &k.name != name);
        if ring.keys.len() == before {
            return Err(StateError::KeyMissing(name.clone()));
        }
        // Its grants go first: a key added later under the same name starts with none, and a
        // crash in between leaves the key with fewer rights, never more.
        let granted: Vec<AppName> = snapshot
            .apps
            .values()
            .filter(|record| record.acl.contains(name))
            .map(|record| record.name.clone())
            .collect();
        for app in granted {
            let mut record = snapshot.record(&app)?;
            record.acl.remove(name);
            self.write(&self.layout.app_file(&app), &record)?;
            snapshot.apps.insert(app, record);
        }
        self.write(&self.layout.keys_file(), &ring)?;
        snapshot.keys = ring;
        Ok(())
    }

    /// The key named `name`.
    pub fn key(&self, name: &KeyName) -> Option<SshKey> {
        self.lock()
            .keys
            .keys
            .iter()
            .find(|k| &k.name == name)
            .cloned()
    }

    pub fn set_key_role(&self, name: &KeyName, role: Role) -> Result<(), StateError> {
        let mut snapshot = self.lock_mut()?;
        let mut ring: KeyRing = snapshot.keys.clone();
        let key = ring
            .keys
            .iter_mut()
            .find(|k| &k.name == name)
            .ok_or_else(|| StateError::KeyMissing(name.clone()))?;
        key.role = role;
        self.write(&self.layout.keys_file(), &ring)?;
        snapshot.keys = ring;
        Ok(())
    }

    /// The apps whose ACL names `key`.
    pub fn apps_granted(&self, key: &KeyName) -> Vec<AppName> {
        self.lock()
            .apps
            .values()
            .filter(|record| record.acl.contains(key))
            .map(|record| record.name.clone())
            .collect()
    }
}
