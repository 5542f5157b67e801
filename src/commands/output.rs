//! Shared output shapes: Dokku's `:report` blocks, lists as JSON and UTC timestamps.

use super::{CommandError, Io};
pub use crate::io::ReportFormat;

/// `=====> title` then one `       Label:   value` row each, labels padded like Dokku's reports.
/// With an info flag (`--domains-app-vhosts` for the row `Domains app vhosts`, as Dokku names
/// them; a dot counts as a dash, as in `--status-web.1`), only that row's value; an unknown flag
/// is refused with the list of known ones. With `--format json`, the rows as one JSON object.
pub async fn report(io: &mut Io, title: &str, rows: &[(&str, String)]) -> Result<(), CommandError> {
    if let ReportFormat::Gather(object) = &mut io.report {
        for (label, value) in rows {
            object.insert(row_key(label), value.clone().into());
        }
        return Ok(());
    }
    match io.report.clone() {
        ReportFormat::Flag(flag) => {
            let flag = flag.replace('.', "-");
            let Some((_, value)) = rows.iter().find(|(label, _)| info_flag(label) == flag) else {
                let known: Vec<String> = rows.iter().map(|(label, _)| info_flag(label)).collect();
                return Err(CommandError::Usage(format!(
                    "Invalid flag passed, valid flags: {}",
                    known.join(", ")
                )));
            };
            io.line(value).await;
        }
        ReportFormat::Json => {
            let object: serde_json::Map<String, serde_json::Value> = rows
                .iter()
                .map(|(label, value)| (row_key(label), value.clone().into()))
                .collect();
            io.line(&serde_json::Value::from(object).to_string()).await;
        }
        // Gathered above.
        ReportFormat::Text | ReportFormat::Gather(_) => {
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
        }
    }
    Ok(())
}

/// A list's `--format json`: `value` as one line of JSON.
pub async fn json(io: &mut Io, value: &impl serde::Serialize) -> Result<(), CommandError> {
    let text =
        serde_json::to_string(value).map_err(|err| CommandError::Internal(err.to_string()))?;
    io.line(&text).await;
    Ok(())
}

/// A report row's flag: `Ssl enabled` is `--ssl-enabled`.
fn info_flag(label: &str) -> String {
    format!("--{}", row_key(label))
}

/// A report row's key in JSON: `Ssl enabled` is `ssl-enabled`.
pub fn row_key(label: &str) -> String {
    label.to_ascii_lowercase().replace(' ', "-")
}

/// Takes a `:report` command's shared options out of its words: `--format stdout|json` (except
/// for `ps:report`, which reads its own) and an info flag (`ps:report shop --running`), the
/// first other `--word` but `--global`. An info flag wins over `--format json`.
pub fn take_report_format(words: &[String]) -> Result<(Vec<String>, ReportFormat), CommandError> {
    let mut words = words.to_vec();
    let Some(name) = words
        .first()
        .filter(|name| name.ends_with(":report"))
        .cloned()
    else {
        return Ok((words, ReportFormat::Text));
    };
    let mut format = ReportFormat::Text;
    if name != "ps:report" {
        let mut argv = super::argv::Argv::new("report", &words[1..]);
        if let Some(value) = argv.option("--format")? {
            format = match value.as_str() {
                "json" => ReportFormat::Json,
                "stdout" => ReportFormat::Text,
                other => {
                    return Err(CommandError::Usage(format!(
                        "Invalid format \"{}\": use stdout or json",
                        crate::names::shown(other)
                    )))
                }
            };
            words.truncate(1);
            words.extend(argv.into_words());
        }
    }
    let rest = &words[1..];
    let flag = rest.iter().enumerate().position(|(i, word)| {
        word.starts_with("--")
            && word != "--global"
            && word != "--format"
            && !word.starts_with("--format=")
            && (i == 0 || rest[i - 1] != "--format")
    });
    if let Some(i) = flag {
        format = ReportFormat::Flag(words.remove(i + 1));
    }
    Ok((words, format))
}

/// Rows under a header line, each column as wide as its widest cell (the last one not padded),
/// two spaces apart; `none` under the header when there are no rows.
pub async fn table(io: &mut Io, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, width))| match i == last {
                true => cell.to_string(),
                false => format!("{cell:<width$}"),
            })
            .collect();
        padded.join("  ")
    };
    io.line(&line(header.to_vec())).await;
    if rows.is_empty() {
        io.line("none").await;
    }
    for row in rows {
        io.line(&line(row.iter().map(String::as_str).collect()))
            .await;
    }
}

/// `2026-11-22 01:02:03 UTC` from Unix seconds.
pub fn utc(seconds: u64) -> String {
    crate::clock::display(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    fn taken(line: &str) -> (Vec<String>, ReportFormat) {
        take_report_format(&words(line)).unwrap()
    }

    #[test]
    fn a_report_command_gives_up_its_shared_options() {
        let flag = |f: &str| ReportFormat::Flag(f.to_string());
        assert_eq!(
            taken("ports:report shop --ports-map"),
            (words("ports:report shop"), flag("--ports-map"))
        );
        assert_eq!(
            taken("domains:report --global --domains-global-vhosts"),
            (
                words("domains:report --global"),
                flag("--domains-global-vhosts")
            )
        );
        assert_eq!(
            taken("certs:report --format json shop"),
            (words("certs:report shop"), ReportFormat::Json)
        );
        assert_eq!(
            taken("certs:report shop --format=stdout"),
            (words("certs:report shop"), ReportFormat::Text)
        );
        assert!(take_report_format(&words("certs:report shop --format yaml")).is_err());
        assert_eq!(
            taken("ps:report --format json shop"),
            (words("ps:report --format json shop"), ReportFormat::Text),
            "ps:report reads its own --format"
        );
        assert_eq!(
            taken("config:show --merged shop"),
            (words("config:show --merged shop"), ReportFormat::Text)
        );
        assert_eq!(taken(""), (Vec::new(), ReportFormat::Text));
    }

    #[test]
    fn flags_are_named_after_the_rows_as_in_dokku() {
        assert_eq!(info_flag("Ssl enabled"), "--ssl-enabled");
        assert_eq!(info_flag("Domains app vhosts"), "--domains-app-vhosts");
    }
}
