//! `berth completions bash|zsh|fish`: a completion script for the shell, made from the command
//! table (every command's name and one-line description), so it never falls behind `help`.
//! Commands complete as the first word after `berth` (or an `ssh … berth@host` alias's name
//! given as the second argument: `berth completions bash myserver`).

use super::table::COMMANDS;

/// The shells a script is made for.
pub const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];

/// The completion script for `shell` completing the command `name`; `None` for another shell.
pub fn script(shell: &str, name: &str) -> Option<String> {
    let names: Vec<&str> = COMMANDS.iter().map(|spec| spec.name).collect();
    match shell {
        "bash" => Some(bash(name, &names)),
        "zsh" => Some(zsh(name)),
        "fish" => Some(fish(name)),
        _ => None,
    }
}

/// A word safe as a shell function name part.
fn ident(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn bash(name: &str, names: &[&str]) -> String {
    let function = format!("_berth_{}", ident(name));
    format!(
        r#"# bash completion for {name} (berth completions bash)
{function}() {{
  local line=${{COMP_LINE:0:$COMP_POINT}}
  local word=${{line##*[[:space:]]}}
  local before=${{line%"$word"}}
  set -- $before
  [ "$#" -eq 1 ] || return 0
  COMPREPLY=($(compgen -W "{words}" -- "$word"))
  # bash splits words at ':': offer only what follows the last one typed.
  if [[ $word == *:* ]]; then
    local typed=${{word%"${{word##*:}}"}}
    COMPREPLY=("${{COMPREPLY[@]#"$typed"}}")
  fi
}}
complete -F {function} {name}
"#,
        words = names.join(" ")
    )
}

fn zsh(name: &str) -> String {
    let entries: String = COMMANDS
        .iter()
        .map(|spec| {
            format!(
                "    '{}:{}'\n",
                spec.name.replace(':', "\\:"),
                spec.about.replace('\'', "'\\''")
            )
        })
        .collect();
    format!(
        "#compdef {name}\n# zsh completion for {name} (berth completions zsh)\n_berth_{ident}() {{\n  local -a commands\n  commands=(\n{entries}  )\n  if (( CURRENT == 2 )); then\n    _describe 'berth command' commands\n  fi\n}}\ncompdef _berth_{ident} {name}\n",
        ident = ident(name)
    )
}

fn fish(name: &str) -> String {
    let mut script =
        format!("# fish completion for {name} (berth completions fish)\ncomplete -c {name} -f\n");
    for spec in COMMANDS {
        script.push_str(&format!(
            "complete -c {name} -n __fish_use_subcommand -a '{}' -d '{}'\n",
            spec.name,
            spec.about.replace('\\', "\\\\").replace('\'', "\\'")
        ));
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_in_every_script() {
        for shell in SHELLS {
            let text = script(shell, "berth").unwrap();
            for spec in COMMANDS {
                let shown = match shell {
                    "zsh" => spec.name.replace(':', "\\:"),
                    _ => spec.name.to_string(),
                };
                assert!(text.contains(&shown), "{shell}: {}", spec.name);
            }
        }
        assert!(script("tcsh", "berth").is_none());
    }
}
