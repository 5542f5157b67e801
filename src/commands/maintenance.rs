//! `maintenance:on|off|report <app>` (Heroku's and the Dokku maintenance plugin's names):
//! while on, the proxy answers every request for the app with a 503 maintenance page and
//! `Retry-After`, at once and across restarts; the app itself keeps running.
//! `maintenance:custom-page <app>` sets that page from stdin: the plugin's tar holding
//! `maintenance.html` (and the stylesheets and images beside it, served at their paths while
//! maintenance is on), or the HTML itself; empty input goes back to the built-in page.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::argv::Argv;
use super::output::report;
use super::{CommandError, Io};
use crate::context::Ctx;
use crate::names::{contained_path, AppName};
use crate::state::MaintenancePage;

/// The largest page (or tar holding it) read from stdin.
const MAX_PAGE: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    On,
    Off,
    Report,
    CustomPage,
}

#[derive(Debug)]
pub struct Args {
    pub app: AppName,
    pub action: Action,
}

impl Args {
    pub fn parse(name: &'static str, words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new(name, words);
        let app = AppName::parse(&argv.required("app name")?)?;
        argv.finish()?;
        let action = match name {
            "maintenance:on" => Action::On,
            "maintenance:off" => Action::Off,
            "maintenance:custom-page" => Action::CustomPage,
            _ => Action::Report,
        };
        Ok(Args { app, action })
    }

    pub fn command(&self) -> &'static str {
        match self.action {
            Action::On => "maintenance:on",
            Action::Off => "maintenance:off",
            Action::Report => "maintenance:report",
            Action::CustomPage => "maintenance:custom-page",
        }
    }
}

/// The page in what came on stdin: `maintenance.html` from a tar, with the other files beside
/// or below it as its assets, or the input itself when it is not a tar; `None` for empty input.
fn page_from(input: &[u8]) -> Result<Option<MaintenancePage>, CommandError> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let as_html = || {
        Ok(Some(MaintenancePage {
            html: input.to_vec(),
            assets: Vec::new(),
        }))
    };
    let mut archive = tar::Archive::new(input);
    let Ok(entries) = archive.entries() else {
        return as_html();
    };
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for entry in entries {
        // Not a tar after all (HTML is not): the input is the page.
        let Ok(mut entry) = entry else {
            return match files.is_empty() {
                true => as_html(),
                false => Err(CommandError::User("The tar on stdin is damaged".into())),
            };
        };
        let path = entry
            .path()
            .map_err(|err| CommandError::User(format!("The tar on stdin is damaged: {err}")))?
            .into_owned();
        let mut data = Vec::new();
        if entry.header().entry_type().is_file() {
            entry
                .read_to_end(&mut data)
                .map_err(|err| CommandError::User(format!("The tar on stdin is damaged: {err}")))?;
        }
        files.push((path, data));
    }
    if files.is_empty() {
        return as_html();
    }
    let Some(page) = files
        .iter()
        .position(|(path, _)| path.file_name().is_some_and(|n| n == "maintenance.html"))
    else {
        return Err(CommandError::User(
            "The tar on stdin holds no maintenance.html".into(),
        ));
    };
    let (page_path, html) = files.swap_remove(page);
    let base = page_path.parent().unwrap_or(Path::new(""));
    let assets = files
        .into_iter()
        .filter(|(_, data)| !data.is_empty())
        .filter_map(|(path, data)| Some((contained_path(path.strip_prefix(base).ok()?)?, data)))
        .collect();
    Ok(Some(MaintenancePage { html, assets }))
}

pub async fn run(ctx: &Ctx, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let app = &args.app;
    let on = match args.action {
        Action::On => true,
        Action::Off => false,
        Action::Report => {
            let record = ctx.store.app(app)?;
            let custom = ctx.store.maintenance_page(app)?.is_some();
            let rows = [
                ("Maintenance enabled", record.maintenance.to_string()),
                ("Maintenance custom page", custom.to_string()),
            ];
            return report(io, &format!("{app} maintenance information"), &rows).await;
        }
        Action::CustomPage => {
            ctx.store.app(app)?;
            let input = io
                .read_all(MAX_PAGE + 1)
                .await
                .map_err(|err| CommandError::User(format!("cannot read stdin: {err}")))?;
            if input.len() as u64 > MAX_PAGE {
                return Err(CommandError::User(
                    "The maintenance page is over 1 MiB".into(),
                ));
            }
            let page = page_from(&input)?;
            ctx.store.save_maintenance_page(app, page.as_ref())?;
            ctx.refresh_policy(app);
            let line = match page {
                Some(_) => format!("Setting the maintenance page of {app}"),
                None => format!("Back to the built-in maintenance page for {app}"),
            };
            io.step(&line).await;
            return Ok(());
        }
    };
    ctx.store
        .update_app(app, |record| record.maintenance = on)?;
    ctx.refresh_policy(app);
    let line = match on {
        true => format!("Enabling maintenance mode for {app}: requests get a 503 page"),
        false => format!("Disabling maintenance mode for {app}"),
    };
    io.step(&line).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn the_page_comes_from_the_plugins_tar_or_as_html() {
        let tar = tar_of(&[
            ("maintenance/style.css", b"body{}"),
            ("maintenance/maintenance.html", b"<h1>Back soon</h1>"),
        ]);
        let page = page_from(&tar).unwrap().unwrap();
        assert_eq!(page.html, b"<h1>Back soon</h1>");
        assert_eq!(
            page.assets,
            vec![("style.css".to_string(), b"body{}".to_vec())]
        );
        let html = b"<!doctype html><p>Back at 5</p>\n";
        assert_eq!(page_from(html).unwrap().unwrap().html, html);
        assert!(page_from(html).unwrap().unwrap().assets.is_empty());
        let outside = tar_of(&[
            ("site/maintenance/maintenance.html", b"<p>x</p>"),
            ("site/other.css", b"a{}"),
            ("site/maintenance/img/logo.svg", b"<svg/>"),
        ]);
        let page = page_from(&outside).unwrap().unwrap();
        assert_eq!(
            page.assets,
            vec![("img/logo.svg".to_string(), b"<svg/>".to_vec())],
            "files outside the page's directory are left out"
        );
        assert_eq!(page_from(b" \n").unwrap(), None);
        let other = tar_of(&[("index.html", b"<p>x</p>")]);
        assert!(page_from(&other).is_err());
    }
}
