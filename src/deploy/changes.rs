//! What a deploy changes, as the user is told before it happens: the code (a commit, or an
//! image) and which config keys are added, removed or changed (never their values).

use std::collections::BTreeMap;

use crate::git::short;
use crate::state::Release;

/// A release's code: its commit, else the image it was deployed from.
pub fn code(release: &Release) -> String {
    match (&release.git_rev, &release.source_image) {
        (Some(rev), _) => format!("commit {}", short(rev)),
        (None, Some(image)) => format!("image {image}"),
        (None, None) => format!("image {}", release.image),
    }
}

/// The lines a rollback from `from` to `to` prints: the code, then the config keys.
pub fn rollback(from: &Release, to: &Release) -> Vec<String> {
    let (before, after) = (code(from), code(to));
    let code = match before == after {
        true => format!("Code: unchanged, {after}"),
        false => format!(
            "Code: {before} (v{}) → {after} (v{})",
            from.number, to.number
        ),
    };
    vec![code, config(&from.env, &to.env)]
}

/// `Config: added A; removed B; changed C`, or `Config: unchanged`.
fn config(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> String {
    let only_in = |one: &BTreeMap<String, String>, other: &BTreeMap<String, String>| {
        one.keys()
            .filter(|key| !other.contains_key(*key))
            .cloned()
            .collect::<Vec<_>>()
    };
    let changed = before
        .iter()
        .filter(|(key, value)| after.get(*key).is_some_and(|now| now != *value))
        .map(|(key, _)| key.clone())
        .collect::<Vec<_>>();
    let parts: Vec<String> = [
        ("added", only_in(after, before)),
        ("removed", only_in(before, after)),
        ("changed", changed),
    ]
    .into_iter()
    .filter(|(_, keys)| !keys.is_empty())
    .map(|(what, keys)| format!("{what} {}", keys.join(", ")))
    .collect();
    match parts.is_empty() {
        true => "Config: unchanged".to_string(),
        false => format!("Config: {}", parts.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(number: u32, rev: &str, env: &[(&str, &str)]) -> Release {
        let mut release = Release::test(number);
        release.git_rev = Some(rev.to_string());
        release.env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        release
    }

    #[test]
    fn a_rollback_names_the_code_and_the_config_keys_it_changes() {
        let from = release(5, "abcdef0123", &[("A", "1"), ("B", "2"), ("C", "3")]);
        let to = release(3, "9f8e7d6543", &[("A", "1"), ("B", "old"), ("D", "4")]);
        assert_eq!(
            rollback(&from, &to),
            [
                "Code: commit abcdef0 (v5) → commit 9f8e7d6 (v3)",
                "Config: added D; removed C; changed B",
            ]
        );
        let same = release(3, "abcdef0123", &[("A", "1"), ("B", "2"), ("C", "3")]);
        assert_eq!(
            rollback(&from, &same),
            ["Code: unchanged, commit abcdef0", "Config: unchanged"]
        );
    }
}
