//! Shared output shapes: Dokku's `:report` blocks and UTC timestamps.

use super::{CommandError, Io};

/// `=====> title` then one `       Label:   value` row each, labels padded like Dokku's reports.
/// With an info flag (`--domains-app-vhosts` for the row `Domains app vhosts`, as Dokku names
/// them; a dot counts as a dash, as in `--status-web.1`), only that row's value; an unknown flag
/// is refused with the list of known ones.
pub async fn report(io: &mut Io, title: &str, rows: &[(&str, String)]) -> Result<(), CommandError> {
    if let Some(flag) = io.info_flag.as_deref().map(|f| f.replace('.', "-")) {
        let Some((_, value)) = rows.iter().find(|(label, _)| info_flag(label) == flag) else {
            let known: Vec<String> = rows.iter().map(|(label, _)| info_flag(label)).collect();
            return Err(CommandError::Usage(format!(
                "Invalid flag passed, valid flags: {}",
                known.join(", ")
            )));
        };
        io.line(value).await;
        return Ok(());
    }
    io.header(title).await;
    let width = rows
        .iter()
        .map(|(label, _)| label.len() + 2)
        .max()
        .unwrap_or(0)
        .max(31);
    for (label, value) in rows {
        let label = format!("{label}:");
        io.detail(format!("{label:<width$}{value}").trim_end())
            .await;
    }
    Ok(())
}

/// A report row's flag: `Ssl enabled` is `--ssl-enabled`.
fn info_flag(label: &str) -> String {
    format!("--{}", label.to_ascii_lowercase().replace(' ', "-"))
}

/// Takes a `:report` command's info flag out of its words (`ps:report shop --running`): the
/// first `--word` that is not one of the flags reports share (`--global`, `--format`).
pub fn take_info_flag(words: &[String]) -> (Vec<String>, Option<String>) {
    let Some((name, rest)) = words.split_first() else {
        return (Vec::new(), None);
    };
    if !name.ends_with(":report") {
        return (words.to_vec(), None);
    }
    let flag = rest.iter().enumerate().position(|(i, word)| {
        word.starts_with("--")
            && word != "--global"
            && word != "--format"
            && !word.starts_with("--format=")
            && (i == 0 || rest[i - 1] != "--format")
    });
    let mut words = words.to_vec();
    let flag = flag.map(|i| words.remove(i + 1));
    (words, flag)
}

/// `2026-11-22 01:02:03 UTC` from Unix seconds.
pub fn utc(seconds: u64) -> String {
    crate::clock::Civil::from_unix(seconds).display()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn a_report_command_gives_up_its_info_flag() {
        let (rest, flag) = take_info_flag(&words("ports:report shop --ports-map"));
        assert_eq!(
            (rest, flag.as_deref()),
            (words("ports:report shop"), Some("--ports-map"))
        );
        let (rest, flag) =
            take_info_flag(&words("domains:report --global --domains-global-vhosts"));
        assert_eq!(
            (rest, flag.as_deref()),
            (
                words("domains:report --global"),
                Some("--domains-global-vhosts")
            )
        );
        let (rest, flag) = take_info_flag(&words("ps:report --format json shop"));
        assert_eq!((rest, flag), (words("ps:report --format json shop"), None));
        let (rest, flag) = take_info_flag(&words("config:show --merged shop"));
        assert_eq!((rest, flag), (words("config:show --merged shop"), None));
        assert_eq!(take_info_flag(&[]), (Vec::new(), None));
    }

    #[test]
    fn flags_are_named_after_the_rows_as_in_dokku() {
        assert_eq!(info_flag("Ssl enabled"), "--ssl-enabled");
        assert_eq!(info_flag("Domains app vhosts"), "--domains-app-vhosts");
    }
}
