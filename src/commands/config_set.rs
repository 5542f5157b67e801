//! `config:set [--no-restart] [--encoded] (<app>|--global) KEY=VALUE...`: sets config vars,
//! then restarts the app through the checked cutover. Values keep spaces, quotes, `=`, newlines
//! and unicode exactly; `--encoded` takes base64 values.

use base64::Engine;

use super::argv::Argv;
use super::config_common::{restart, show_pairs, updated, valid_key, write_env, Scope};
use super::{CommandError, Io};
use crate::caller::Caller;
use crate::context::Ctx;

#[derive(Debug)]
pub struct Args {
    pub scope: Scope,
    pub pairs: Vec<(String, String)>,
    pub no_restart: bool,
}

impl Args {
    pub fn parse(words: &[String]) -> Result<Args, CommandError> {
        let mut argv = Argv::new("config:set", words);
        let no_restart = argv.flag("--no-restart");
        let encoded = argv.flag("--encoded");
        let scope = Scope::parse(&mut argv)?;
        let mut pairs = Vec::new();
        while let Some(pair) = argv.optional()? {
            match parse_pair(&pair, encoded) {
                Ok(pair) => pairs.push(pair),
                // The rest of a value with spaces that reached the server unquoted.
                Err(err) if !pairs.is_empty() && !pair.contains('=') => {
                    return Err(CommandError::User(format!(
                        "{err} (a value with spaces needs quotes that reach the server: ssh … config:set app \"KEY='a b'\")"
                    )))
                }
                Err(err) => return Err(err),
            }
        }
        argv.finish()?;
        if pairs.is_empty() {
            return Err(CommandError::Usage(
                "At least one KEY=VALUE pair is required".to_string(),
            ));
        }
        Ok(Args {
            scope,
            pairs,
            no_restart,
        })
    }
}

fn parse_pair(pair: &str, encoded: bool) -> Result<(String, String), CommandError> {
    let Some((key, value)) = pair.split_once('=') else {
        return Err(CommandError::User(format!(
            "Invalid env pair: {}",
            crate::names::shown(pair)
        )));
    };
    valid_key(key)?;
    let value = if encoded {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| CommandError::User(format!("The value of {key} is not valid base64")))?;
        String::from_utf8(bytes)
            .map_err(|_| CommandError::User(format!("The value of {key} is not valid UTF-8")))?
    } else {
        value.to_string()
    };
    Ok((key.to_string(), value))
}

pub async fn run(ctx: &Ctx, caller: &Caller, io: &mut Io, args: Args) -> Result<(), CommandError> {
    let pairs = args.pairs.clone();
    write_env(ctx, &args.scope, |env| env.extend(pairs))?;
    io.step("Setting config vars").await;
    show_pairs(io, &args.pairs).await;
    let keys: Vec<&str> = args.pairs.iter().map(|(k, _)| k.as_str()).collect();
    let description = format!("Set {} config vars", keys.join(", "));
    updated(ctx, caller, io, &args.scope, "set", &keys).await?;
    restart(ctx, caller, io, &args.scope, args.no_restart, description).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_split_at_the_first_equals_sign() {
        assert_eq!(
            parse_pair("K=a=b c", false).unwrap(),
            ("K".into(), "a=b c".into())
        );
        assert_eq!(
            parse_pair("K=", false).unwrap(),
            ("K".into(), String::new())
        );
        assert_eq!(
            parse_pair("K=aMOpCg==", true).unwrap(),
            ("K".into(), "hé\n".into())
        );
        assert_eq!(
            parse_pair("K", false).unwrap_err().to_string(),
            "Invalid env pair: K"
        );
        assert_eq!(
            parse_pair("1K=v", false).unwrap_err().to_string(),
            "Invalid key name: '1K'"
        );
        assert!(parse_pair("K=***", true).is_err());
        let words: Vec<String> = ["shop", "GREETING=hello", "world"].map(String::from).into();
        let split = Args::parse(&words).unwrap_err().to_string();
        assert!(
            split.starts_with("Invalid env pair: world (a value with spaces needs quotes"),
            "{split}"
        );
    }
}
