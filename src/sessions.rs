//! The sessions open now, per key: each SSH command or push, through the embedded server or
//! the host's sshd (`ssh-command`). Listed by `ssh-keys:sessions`; the caller caps developer
//! keys' (`[ssh] developer_sessions`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One open session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub key: String,
    pub source: String,
    /// The command's name (`git-receive-pack` for a push).
    pub command: String,
    /// Unix seconds.
    pub started: u64,
}

#[derive(Default)]
pub struct Sessions {
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, Session>>,
}

/// A session's place in the list, given back when dropped.
pub struct Open {
    sessions: Arc<Sessions>,
    id: u64,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.sessions.lock().remove(&self.id);
    }
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Session>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens `session` unless its key already has `cap` open (`None`: no cap); refused with
    /// how many it has.
    pub fn open(self: &Arc<Self>, session: Session, cap: Option<usize>) -> Result<Open, usize> {
        let mut open = self.lock();
        let of_key = open.values().filter(|s| s.key == session.key).count();
        if cap.is_some_and(|cap| of_key >= cap) {
            return Err(of_key);
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        open.insert(id, session);
        Ok(Open {
            sessions: self.clone(),
            id,
        })
    }

    /// Every open session, oldest first.
    pub fn list(&self) -> Vec<Session> {
        self.lock().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(key: &str) -> Session {
        Session {
            key: key.into(),
            source: "127.0.0.1".into(),
            command: "logs".into(),
            started: 0,
        }
    }

    #[test]
    fn a_key_at_its_cap_is_refused_until_one_of_its_sessions_ends() {
        let sessions = Arc::new(Sessions::default());
        let first = sessions.open(session("bob"), Some(2)).unwrap();
        let _second = sessions.open(session("bob"), Some(2)).unwrap();
        assert_eq!(sessions.open(session("bob"), Some(2)).err(), Some(2));
        let _other = sessions.open(session("alice"), None).unwrap();
        drop(first);
        let _third = sessions.open(session("bob"), Some(2)).unwrap();
        assert_eq!(sessions.list().len(), 3);
    }
}
