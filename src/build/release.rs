//! The output of a buildpack's `bin/release`: YAML of which Berth reads
//! `default_process_types`, the commands an app runs when its Procfile does not say.
//!
//! Only the shape buildpacks print is understood: a top-level key, then `name: command` lines
//! indented under it. Values may be quoted; flow maps other than `{}` are refused.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bin/release line {line}: {reason}")]
pub struct ReleaseError {
    pub line: usize,
    pub reason: &'static str,
}

/// The process types `text` declares under `default_process_types`.
pub fn default_process_types(text: &str) -> Result<BTreeMap<String, String>, ReleaseError> {
    let mut types = BTreeMap::new();
    let mut inside = false;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let content = raw.trim_end();
        if content.trim().is_empty()
            || content.trim_start().starts_with('#')
            || content.starts_with("---")
        {
            continue;
        }
        let indented = content.starts_with(' ') || content.starts_with('\t');
        if !indented {
            let (key, rest) = content.split_once(':').ok_or(ReleaseError {
                line,
                reason: "expected `key:`",
            })?;
            inside = key.trim() == "default_process_types";
            let rest = rest.trim();
            if inside && !matches!(rest, "" | "{}" | "~" | "null") {
                return Err(ReleaseError {
                    line,
                    reason: "write default_process_types as one `name: command` line per type",
                });
            }
            continue;
        }
        if !inside {
            continue;
        }
        let (name, command) = content.trim().split_once(':').ok_or(ReleaseError {
            line,
            reason: "expected `name: command`",
        })?;
        let name = name.trim();
        if !crate::procfile::valid_process_name(name) {
            return Err(ReleaseError {
                line,
                reason: "invalid process type name",
            });
        }
        types.insert(name.to_string(), unquote(command.trim()).to_string());
    }
    Ok(types)
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_process_types_and_skips_other_keys() {
        let text = "---\naddons: []\nconfig_vars:\n  A: b\ndefault_process_types:\n  web: npm start\n  worker: \"node w.js --x: 1\"\n";
        let types = default_process_types(text).unwrap();
        assert_eq!(types.len(), 2);
        assert_eq!(types["web"], "npm start");
        assert_eq!(types["worker"], "node w.js --x: 1");
    }

    #[test]
    fn empty_and_missing_sections_give_nothing() {
        for text in [
            "",
            "---\n",
            "--- {}\n",
            "default_process_types: {}\n",
            "addons: []\n",
        ] {
            assert_eq!(default_process_types(text), Ok(BTreeMap::new()), "{text:?}");
        }
    }

    #[test]
    fn malformed_lines_are_refused_with_their_number() {
        let err = default_process_types("default_process_types:\n  web npm start\n").unwrap_err();
        assert_eq!(err.line, 2);
        let err = default_process_types("default_process_types: {web: x}\n").unwrap_err();
        assert_eq!(err.line, 1);
        let err = default_process_types("default_process_types:\n  w b: x\n").unwrap_err();
        assert_eq!(err.line, 2);
    }
}
