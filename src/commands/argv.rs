//! A small parser for one command's words: named flags, then positional arguments.

use super::CommandError;
use crate::names::AppName;

/// The arguments of a command that takes one app name and nothing else.
#[derive(Debug)]
pub struct AppArgs {
    pub app: AppName,
}

impl AppArgs {
    pub fn parse(command: &'static str, words: &[String]) -> Result<AppArgs, CommandError> {
        let mut argv = Argv::new(command, words);
        let app = AppName::parse(&argv.required("app name")?)?;
        argv.finish()?;
        Ok(AppArgs { app })
    }
}

/// `<app> [--format stdout|json]`: a listing command's arguments.
#[derive(Debug)]
pub struct ListArgs {
    pub app: AppName,
    pub json: bool,
}

impl ListArgs {
    pub fn parse(command: &'static str, words: &[String]) -> Result<ListArgs, CommandError> {
        let mut argv = Argv::new(command, words);
        let json = argv.json_format("stdout")?;
        let app = AppName::parse(&argv.required("app name")?)?;
        argv.finish()?;
        Ok(ListArgs { app, json })
    }
}

/// A property's optional value in whole seconds (`None`: unset it).
pub fn seconds(property: &str, value: Option<String>) -> Result<Option<u64>, CommandError> {
    value
        .map(|v| {
            v.parse().map_err(|_| {
                CommandError::User(format!(
                    "{property} takes whole seconds, not \"{shown}\"",
                    shown = crate::names::shown(&v)
                ))
            })
        })
        .transpose()
}

/// The words after the command name, consumed as flags and positionals.
pub struct Argv {
    command: &'static str,
    words: Vec<String>,
}

impl Argv {
    pub fn new(command: &'static str, words: &[String]) -> Argv {
        Argv {
            command,
            words: words.to_vec(),
        }
    }

    /// Removes `flag` wherever it stands; true when it was there.
    pub fn flag(&mut self, flag: &str) -> bool {
        let before = self.words.len();
        self.words.retain(|w| w != flag);
        self.words.len() != before
    }

    /// Removes `--name VALUE` or `--name=VALUE`.
    pub fn option(&mut self, name: &str) -> Result<Option<String>, CommandError> {
        let prefix = format!("{name}=");
        if let Some(pos) = self.words.iter().position(|w| w.starts_with(&prefix)) {
            let word = self.words.remove(pos);
            return Ok(Some(word[prefix.len()..].to_string()));
        }
        if let Some(pos) = self.words.iter().position(|w| w == name) {
            if pos + 1 >= self.words.len() {
                return Err(CommandError::Usage(format!("{name} needs a value")));
            }
            self.words.remove(pos);
            return Ok(Some(self.words.remove(pos)));
        }
        Ok(None)
    }

    /// The next positional argument, or a usage error naming what is missing.
    pub fn required(&mut self, what: &str) -> Result<String, CommandError> {
        self.refuse_flags()?;
        if self.words.is_empty() {
            return Err(CommandError::Usage(format!(
                "{what} required; usage: {}",
                super::usage(self.command)
            )));
        }
        Ok(self.words.remove(0))
    }

    /// `(<app>|--global)`: the app named next, or `None` for `--global` (wherever it stands).
    pub fn app_or_global(&mut self) -> Result<Option<AppName>, CommandError> {
        match self.flag("--global") {
            true => Ok(None),
            false => Ok(Some(AppName::parse(&self.required("app name")?)?)),
        }
    }

    /// `(<app>|--global) <property> [<value>]`, the shape of every `:set` command; the value is
    /// `None` when absent or empty (unset).
    pub fn app_property(
        mut self,
    ) -> Result<(Option<AppName>, String, Option<String>), CommandError> {
        let app = self.app_or_global()?;
        let key = self.required("property")?;
        let value = self.optional()?.filter(|v| !v.is_empty());
        self.finish()?;
        Ok((app, key, value))
    }

    /// `--format TEXT|json` (TEXT being this command's name for plain output): true for json.
    pub fn json_format(&mut self, text: &str) -> Result<bool, CommandError> {
        match self.option("--format")?.as_deref() {
            None => Ok(false),
            Some("json") => Ok(true),
            Some(format) if format == text => Ok(false),
            Some(other) => Err(CommandError::Usage(format!(
                "Invalid format \"{shown}\": use {text} or json",
                shown = crate::names::shown(other)
            ))),
        }
    }

    /// Every remaining positional argument, parsed; at least one unless `may_be_empty`.
    pub fn all<T, E: std::fmt::Display>(
        &mut self,
        what: &str,
        may_be_empty: bool,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Vec<T>, CommandError> {
        self.refuse_flags()?;
        if self.words.is_empty() && !may_be_empty {
            return Err(CommandError::Usage(format!(
                "{what} required; usage: {}",
                super::usage(self.command)
            )));
        }
        self.words
            .drain(..)
            .map(|word| parse(&word).map_err(|e| CommandError::User(e.to_string())))
            .collect()
    }

    /// The next positional argument, if any.
    pub fn optional(&mut self) -> Result<Option<String>, CommandError> {
        self.refuse_flags()?;
        Ok((!self.words.is_empty()).then(|| self.words.remove(0)))
    }

    /// The words not consumed yet.
    pub fn into_words(self) -> Vec<String> {
        self.words
    }

    /// Fails when words are left over.
    pub fn finish(self) -> Result<(), CommandError> {
        self.refuse_flags()?;
        match self.words.first() {
            None => Ok(()),
            Some(extra) => Err(CommandError::Usage(format!(
                "unexpected argument \"{shown}\"; usage: {}",
                super::usage(self.command),
                shown = crate::names::shown(extra)
            ))),
        }
    }

    fn refuse_flags(&self) -> Result<(), CommandError> {
        match self.words.iter().find(|w| w.starts_with("--")) {
            Some(flag) => Err(CommandError::Usage(format!(
                "unknown flag {flag}; usage: {}",
                super::usage(self.command)
            ))),
            None => Ok(()),
        }
    }
}

/// `name` as one of a family's `commands` (the `'static` spelling), or an unknown command.
pub fn known(commands: &[&'static str], name: &str) -> Result<&'static str, CommandError> {
    commands
        .iter()
        .find(|c| **c == name)
        .copied()
        .ok_or_else(|| CommandError::Unknown(name.to_string()))
}

/// A `true|false` property value; `None` (no value) restores the default.
pub fn boolean(key: &str, raw: Option<String>) -> Result<Option<bool>, CommandError> {
    match raw.as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(CommandError::User(format!(
            "Invalid {key} \"{}\": use true or false (no value: the default)",
            crate::names::shown(other)
        ))),
    }
}

/// Splits a test command line on whitespace.
#[cfg(test)]
pub fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}
