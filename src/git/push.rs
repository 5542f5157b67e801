//! A push in flight: the `git receive-pack` process the SSH front end runs, and the registry that
//! lets the pre-receive hook (a separate process) find out which app and which key it serves.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use rand::RngExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::DeployBranch;
use crate::caller::Caller;
use crate::names::AppName;
use crate::state::Layout;

/// Set on `git receive-pack`, inherited by the hook: which registered push this is.
pub const ENV_PUSH_ID: &str = "BERTH_PUSH_ID";
/// Set on `git receive-pack`, inherited by the hook: where the daemon listens.
pub const ENV_CONTROL_SOCKET: &str = "BERTH_CONTROL_SOCKET";

/// One line of pre-receive input: `old new refname`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefUpdate {
    pub old: String,
    pub new: String,
    pub refname: String,
}

impl RefUpdate {
    pub fn parse_lines(text: &str) -> Vec<RefUpdate> {
        text.lines()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                Some(RefUpdate {
                    old: parts.next()?.to_string(),
                    new: parts.next()?.to_string(),
                    refname: parts.next()?.to_string(),
                })
            })
            .collect()
    }

    fn is_deletion(&self) -> bool {
        self.new.chars().all(|c| c == '0')
    }
}

/// The update Berth deploys: a push to the deploy branch (not a deletion).
pub fn deploy_target<'a>(updates: &'a [RefUpdate], branch: &DeployBranch) -> Option<&'a RefUpdate> {
    updates
        .iter()
        .find(|u| !u.is_deletion() && branch.deploys(&u.refname))
}

/// What a push that deploys nothing says about one of its updates.
pub fn not_deployed(update: &RefUpdate, app: &AppName, branch: &DeployBranch) -> String {
    let refname = &update.refname;
    match (update.is_deletion(), branch.deploys(refname)) {
        (true, true) => format!("Deleted {refname}; {app} keeps running its current release"),
        (true, false) => format!("Deleted {refname}"),
        (false, _) => format!("Pushed {refname}: {app} deploys pushes to {branch} only"),
    }
}

/// Who pushed to which app.
#[derive(Debug, Clone)]
pub struct PushContext {
    pub app: AppName,
    pub caller: Caller,
    /// Cancelled when the pusher disconnects: the deploy stops if it has not switched yet.
    pub hangup: CancellationToken,
    /// The push created the app (its `post-create` trigger fires in the hook).
    pub created: bool,
    /// The commit its hook deploys, once known (for the audit log).
    pub commit: Option<String>,
}

/// Pushes under way, by the random id handed to their hook, and a turn per app.
#[derive(Default)]
pub struct PushRegistry {
    pushes: Mutex<HashMap<String, PushContext>>,
    turns: Mutex<HashMap<AppName, Arc<tokio::sync::Mutex<()>>>>,
}

/// Unregisters its push when dropped.
pub struct PushTicket {
    registry: Arc<PushRegistry>,
    pub id: String,
}

impl Drop for PushTicket {
    fn drop(&mut self) {
        if let Some(push) = self.registry.lock().remove(&self.id) {
            push.hangup.cancel();
        }
    }
}

impl PushRegistry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PushContext>> {
        self.pushes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn register(self: &Arc<Self>, context: PushContext) -> PushTicket {
        let bytes: [u8; 16] = rand::rng().random();
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.lock().insert(id.clone(), context);
        PushTicket {
            registry: self.clone(),
            id,
        }
    }

    pub fn get(&self, id: &str) -> Option<PushContext> {
        self.lock().get(id).cloned()
    }

    /// Notes the commit push `id` deploys.
    pub fn set_commit(&self, id: &str, commit: &str) {
        if let Some(push) = self.lock().get_mut(id) {
            push.commit = Some(commit.to_string());
        }
    }

    /// The commit push `id` deploys, if its hook got that far.
    pub fn deployed(&self, id: &str) -> Option<String> {
        self.lock().get(id).and_then(|push| push.commit.clone())
    }

    /// The app's push turn: one `receive-pack` per app at a time, from its ref advertisement to
    /// its ref update. Two at once would both deploy, and git would then refuse the ref update of
    /// the one that deployed last (its advertised old value is stale), so the push reported as
    /// failed would be the one serving. `None` when the turn is taken (`wait_turn` waits).
    pub fn try_turn(&self, app: &AppName) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        self.turn(app).try_lock_owned().ok()
    }

    pub async fn wait_turn(&self, app: &AppName) -> tokio::sync::OwnedMutexGuard<()> {
        self.turn(app).lock_owned().await
    }

    fn turn(&self, app: &AppName) -> Arc<tokio::sync::Mutex<()>> {
        self.turns
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(app.clone())
            .or_default()
            .clone()
    }
}

/// `git -c core.hooksPath=<hooks> receive-pack <repo>`, with the hook's environment. No shell.
/// `max_input` bounds the pack git accepts (`receive.maxInputSize`).
pub fn receive_pack_command(
    layout: &Layout,
    repo: &Path,
    push_id: &str,
    control_socket: &Path,
    max_input: u64,
) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("git");
    command
        .arg("-c")
        .arg(format!("core.hooksPath={}", layout.hooks_dir().display()))
        .arg("-c")
        .arg(format!("receive.maxInputSize={max_input}"))
        .arg("receive-pack")
        .arg(repo)
        .env(ENV_PUSH_ID, push_id)
        .env(ENV_CONTROL_SOCKET, control_socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// What the hook reads from its environment: its push id and git's quarantine directories.
pub fn hook_env() -> (Option<String>, Vec<PathBuf>) {
    let push_id = std::env::var(ENV_PUSH_ID).ok();
    let mut dirs = Vec::new();
    if let Ok(dir) = std::env::var("GIT_OBJECT_DIRECTORY") {
        dirs.push(PathBuf::from(dir));
    }
    if let Ok(list) = std::env::var("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
        dirs.extend(std::env::split_paths(&list));
    }
    (push_id, dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_deploy_branch_deploys() {
        let zero = "0".repeat(40);
        let a = "a".repeat(40);
        let text = format!("{zero} {a} refs/heads/feature\n{zero} {a} refs/heads/main\n");
        let updates = RefUpdate::parse_lines(&text);
        assert_eq!(updates.len(), 2);
        let none = crate::state::GitSettings::default();
        let default = DeployBranch::of(&none, &none);
        assert_eq!(
            deploy_target(&updates, &default).unwrap().refname,
            "refs/heads/main"
        );
        let feature = crate::state::GitSettings {
            deploy_branch: Some("feature".into()),
            ..Default::default()
        };
        let named = DeployBranch::of(&feature, &none);
        assert_eq!(
            deploy_target(&updates, &named).unwrap().refname,
            "refs/heads/feature"
        );
        let deletion = RefUpdate::parse_lines(&format!("{a} {zero} refs/heads/master\n"));
        assert!(deploy_target(&deletion, &default).is_none());
        let app = AppName::parse("shop").unwrap();
        assert_eq!(
            not_deployed(&deletion[0], &app, &default),
            "Deleted refs/heads/master; shop keeps running its current release"
        );
        assert_eq!(
            not_deployed(&updates[0], &app, &default),
            "Pushed refs/heads/feature: shop deploys pushes to main or master only"
        );
    }

    #[test]
    fn tickets_unregister_on_drop() {
        let registry = Arc::new(PushRegistry::default());
        let hangup = CancellationToken::new();
        let ticket = registry.register(PushContext {
            app: AppName::parse("shop").unwrap(),
            caller: Caller::Local,
            hangup: hangup.clone(),
            created: false,
            commit: None,
        });
        let id = ticket.id.clone();
        assert!(registry.get(&id).is_some());
        drop(ticket);
        assert!(registry.get(&id).is_none());
        assert!(hangup.is_cancelled());
    }
}
