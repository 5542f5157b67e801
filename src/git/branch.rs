//! Which pushes deploy (`git:set deploy-branch`) and which config var names the deployed commit
//! (`git:set rev-env-var`): the app's own setting, else the global one, else Berth's default.

use std::fmt;

use crate::state::GitSettings;

/// The variable that holds the deployed commit unless `rev-env-var` says otherwise.
const DEFAULT_REV_ENV_VAR: &str = "GIT_REV";

/// Deployed when no deploy branch is set, the first one present for `ps:rebuild`.
const DEFAULT_BRANCHES: [&str; 2] = ["main", "master"];

/// The branches whose pushes deploy: the one set, or `main` and `master`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployBranch(Option<String>);

impl DeployBranch {
    pub fn of(app: &GitSettings, global: &GitSettings) -> DeployBranch {
        DeployBranch(app.deploy_branch.clone().or(global.deploy_branch.clone()))
    }

    /// Full ref names, in the order `ps:rebuild` tries them.
    pub fn refs(&self) -> Vec<String> {
        let names = match &self.0 {
            Some(branch) => vec![branch.as_str()],
            None => DEFAULT_BRANCHES.to_vec(),
        };
        names
            .into_iter()
            .map(|name| format!("refs/heads/{name}"))
            .collect()
    }

    pub fn deploys(&self, refname: &str) -> bool {
        self.refs().iter().any(|r| r == refname)
    }
}

impl fmt::Display for DeployBranch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(branch) => f.write_str(branch),
            None => f.write_str("main or master"),
        }
    }
}

/// Whether `name` can be a branch: a valid git ref under `refs/heads/`, not an option.
pub fn is_branch_name(name: &str) -> bool {
    !name.starts_with('-')
        && name.len() <= 200
        && git2::Reference::is_valid_name(&format!("refs/heads/{name}"))
}

/// The variable an instance gets its release's commit in; `None` when it is turned off.
pub fn rev_env_var(app: &GitSettings, global: &GitSettings) -> Option<String> {
    let name = app
        .rev_env_var
        .as_deref()
        .or(global.rev_env_var.as_deref())
        .unwrap_or(DEFAULT_REV_ENV_VAR);
    (!name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(branch: Option<&str>, var: Option<&str>) -> GitSettings {
        GitSettings {
            deploy_branch: branch.map(String::from),
            rev_env_var: var.map(String::from),
            ..GitSettings::default()
        }
    }

    #[test]
    fn the_app_setting_wins_then_the_global_one_then_main_or_master() {
        let none = settings(None, None);
        let default = DeployBranch::of(&none, &none);
        assert!(default.deploys("refs/heads/main") && default.deploys("refs/heads/master"));
        assert!(!default.deploys("refs/heads/prod"));
        assert_eq!(default.to_string(), "main or master");
        let global = DeployBranch::of(&none, &settings(Some("prod"), None));
        assert!(global.deploys("refs/heads/prod") && !global.deploys("refs/heads/main"));
        let own = DeployBranch::of(&settings(Some("live"), None), &settings(Some("prod"), None));
        assert_eq!(own.refs(), ["refs/heads/live"]);
    }

    #[test]
    fn branch_names_are_git_refs() {
        for good in ["main", "release/2026", "v1.2", "feature_x"] {
            assert!(is_branch_name(good), "{good}");
        }
        for bad in ["-x", "a..b", "a b", "x.lock", "", "a~1", "a:b", "/x", "x/"] {
            assert!(!is_branch_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_revision_variable_can_be_renamed_or_turned_off() {
        let none = settings(None, None);
        assert_eq!(rev_env_var(&none, &none).as_deref(), Some("GIT_REV"));
        let global = settings(None, Some("SOURCE_VERSION"));
        assert_eq!(
            rev_env_var(&none, &global).as_deref(),
            Some("SOURCE_VERSION")
        );
        assert_eq!(rev_env_var(&settings(None, Some("")), &global), None);
    }
}
