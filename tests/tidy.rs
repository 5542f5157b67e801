//! The code keeps the shape docs/architecture.md gives it (rust-analyzer's tidy tests are the
//! model): each module uses only the modules its "Module dependencies" entry lists, the only
//! cycles are the three named there, and bollard, hyper and russh stay in their modules. No
//! Docker, git or ssh needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The pairs of modules the docs allow to depend on each other.
const CYCLES: [(&str, &str); 3] = [
    ("acme", "context"),
    ("commands", "ssh"),
    ("context", "deploy"),
];

/// Crates used by one set of modules only.
const HOMES: [(&str, &[&str]); 3] = [
    ("bollard", &["docker"]),
    ("hyper", &["proxy", "health"]),
    ("russh", &["ssh"]),
];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// `src/deploy/checks.rs` → `deploy`; `src/names.rs` → `names`; the crate roots → `None`.
fn module_of(path: &Path) -> Option<String> {
    let src = Path::new(ROOT).join("src");
    let first = path.strip_prefix(&src).ok()?.components().next()?;
    let name = first.as_os_str().to_str()?.trim_end_matches(".rs");
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// The file's code without its unit tests (`#[cfg(test)] mod tests` comes last by convention,
/// or is a file of its own, `tests.rs`).
fn code(path: &Path) -> String {
    if path.file_name().is_some_and(|name| name == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).expect("read source");
    match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The identifiers that follow `prefix` in `text` (`crate::` → the modules named).
fn names_after(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .filter(|(at, _)| {
            // `crate::` itself, not the end of a longer path such as `foo_crate::`.
            !text[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// Every module's `crate::` dependencies, from the code.
fn actual() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = module_of(&file) else {
            continue;
        };
        let used = names_after(&code(&file), "crate::");
        let entry = deps.entry(module.clone()).or_default();
        entry.extend(used.into_iter().filter(|used| *used != module));
    }
    deps
}

/// The "Module dependencies" list of docs/architecture.md.
fn documented() -> BTreeMap<String, BTreeSet<String>> {
    let docs = std::fs::read_to_string(Path::new(ROOT).join("docs/architecture.md"))
        .expect("read docs/architecture.md");
    let section = docs
        .split("## Module dependencies")
        .nth(1)
        .expect("a Module dependencies section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|line| line.strip_prefix("- `"))
        .filter_map(|line| line.split_once("`: "))
        .map(|(module, uses)| {
            let uses = uses
                .split(", ")
                .map(|used| used.trim_matches('`').to_string())
                .filter(|used| used != "nothing")
                .collect();
            (module.to_string(), uses)
        })
        .collect()
}

#[test]
fn every_module_uses_only_what_the_docs_list() {
    let documented = documented();
    let mut wrong = Vec::new();
    for (module, uses) in actual() {
        let Some(allowed) = documented.get(&module) else {
            wrong.push(format!("{module} has no entry in docs/architecture.md"));
            continue;
        };
        for used in uses.difference(allowed) {
            wrong.push(format!(
                "{module} uses {used}, which its entry does not list"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn dependencies_point_one_way_but_for_the_named_seams() {
    let graph = documented();
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(next) = stack.pop() {
            for used in graph.get(&next).into_iter().flatten() {
                if used == to {
                    return true;
                }
                if seen.insert(used.clone()) {
                    stack.push(used.clone());
                }
            }
        }
        false
    };
    let mut cycles = BTreeSet::new();
    for (module, uses) in &graph {
        for used in uses {
            if reaches(used, module) {
                let pair = match module < used {
                    true => (module.clone(), used.clone()),
                    false => (used.clone(), module.clone()),
                };
                cycles.insert(pair);
            }
        }
    }
    let allowed: BTreeSet<(String, String)> = CYCLES
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let extra: Vec<_> = cycles.difference(&allowed).collect();
    assert!(
        extra.is_empty(),
        "modules that depend on each other: {extra:?}"
    );
}

#[test]
fn bollard_hyper_and_russh_stay_in_their_modules() {
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let module = module_of(&file).unwrap_or_default();
        let text = code(&file);
        for (krate, homes) in HOMES {
            if !names_after(&text, &format!("{krate}::")).is_empty()
                && !homes.contains(&module.as_str())
            {
                wrong.push(format!("{} uses {krate}", file.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_checker_sees_paths_and_not_lookalikes() {
    let text = "use crate::state::Store;\nlet x = my_crate::thing;\ncrate::names::AppName";
    let names: Vec<String> = names_after(text, "crate::").into_iter().collect();
    assert_eq!(names, ["names", "state"]);
}
