//! The Procfile: `name: command` lines naming an app's process types.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcfileError {
    #[error("Procfile line {line}: expected `name: command`")]
    Malformed { line: usize },
    #[error("Procfile line {line}: invalid process type \"{}\" (letters, digits, dashes and underscores)", crate::names::shown(name))]
    BadName { line: usize, name: String },
    #[error("Procfile line {line}: process type {name} is declared twice")]
    Duplicate { line: usize, name: String },
}

/// The answer to a process type `app` does not have (or a name none could have), naming the
/// ones it has.
pub fn no_such_type<'a>(
    app: &crate::names::AppName,
    process: &str,
    types: impl IntoIterator<Item = &'a String>,
) -> String {
    let types: Vec<&str> = types.into_iter().map(String::as_str).collect();
    format!(
        "{app} has no process type {}; its process types are: {}",
        crate::names::shown(process),
        types.join(", ")
    )
}

/// A valid process type name: `[A-Za-z0-9_-]{1,63}`.
pub fn valid_process_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parses a Procfile into process type → command.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>, ProcfileError> {
    let mut processes = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((name, command)) = trimmed.split_once(':') else {
            return Err(ProcfileError::Malformed { line });
        };
        let (name, command) = (name.trim(), command.trim());
        if !valid_process_name(name) {
            return Err(ProcfileError::BadName {
                line,
                name: name.to_string(),
            });
        }
        if command.is_empty() {
            return Err(ProcfileError::Malformed { line });
        }
        if processes
            .insert(name.to_string(), command.to_string())
            .is_some()
        {
            return Err(ProcfileError::Duplicate {
                line,
                name: name.to_string(),
            });
        }
    }
    Ok(processes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_process_types() {
        let procfile = parse(
            "# comment\nweb: httpd -f -p $PORT\n\nworker:  sh -c 'while true; do sleep 1; done'\nclock: bin/clock --every=5:00\n",
        )
        .unwrap();
        assert_eq!(procfile["web"], "httpd -f -p $PORT");
        assert_eq!(procfile["worker"], "sh -c 'while true; do sleep 1; done'");
        assert_eq!(procfile["clock"], "bin/clock --every=5:00");
    }

    #[test]
    fn refuses_bad_lines() {
        assert_eq!(
            parse("web httpd").unwrap_err(),
            ProcfileError::Malformed { line: 1 }
        );
        assert_eq!(
            parse("web:").unwrap_err(),
            ProcfileError::Malformed { line: 1 }
        );
        assert!(matches!(
            parse("we b: x"),
            Err(ProcfileError::BadName { .. })
        ));
        assert!(matches!(
            parse("web: a\nweb: b"),
            Err(ProcfileError::Duplicate { line: 2, .. })
        ));
    }
}
