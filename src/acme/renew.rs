//! Which apps get certificates by ACME, with what settings, and the daemon's renewal loop:
//! a certificate due for renewal is replaced in the proxy's table at once, without a restart;
//! a failed renewal keeps the current certificate serving and is tried again next round.

use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use super::client::AcmeError;
use crate::certs::{CertError, CertInfo};
use crate::config::{AcmeConfig, LETSENCRYPT_PRODUCTION, LETSENCRYPT_STAGING};
use crate::context::Ctx;
use crate::names::AppName;
use crate::state::{AcmeProps, AppRecord, StateError};

#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error("{0} has no domain an http-01 challenge can validate (wildcard domains cannot be); add one with domains:add")]
    NoDomains(AppName),
    #[error(transparent)]
    Acme(#[from] AcmeError),
    #[error("the issued certificate is unusable: {0}")]
    Cert(#[from] CertError),
    #[error(transparent)]
    State(#[from] StateError),
}

/// An app's ACME settings after its own, the global ones and the config file's are merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub directory: String,
    pub email: Option<String>,
    /// Seconds before expiry when renewal starts.
    pub graceperiod: u64,
}

impl Settings {
    pub fn merge(config: &AcmeConfig, global: &AcmeProps, app: &AcmeProps) -> Settings {
        let server = app.server.as_ref().or(global.server.as_ref());
        Settings {
            directory: server
                .map(|s| directory_url(s))
                .unwrap_or_else(|| config.directory_url.clone()),
            email: app
                .email
                .clone()
                .or_else(|| global.email.clone())
                .or_else(|| config.email.clone()),
            graceperiod: app
                .graceperiod
                .or(global.graceperiod)
                .unwrap_or(config.graceperiod_secs),
        }
    }

    pub fn of(ctx: &Ctx, record: &AppRecord) -> Settings {
        Settings::merge(
            &ctx.config.acme,
            &ctx.store.global().letsencrypt,
            &record.letsencrypt.props,
        )
    }
}

/// `production` and `staging` name Let's Encrypt's directories; anything else is a URL.
fn directory_url(server: &str) -> String {
    match server {
        "production" => LETSENCRYPT_PRODUCTION.to_string(),
        "staging" => LETSENCRYPT_STAGING.to_string(),
        url => url.to_string(),
    }
}

/// The names a certificate for the app covers: its domains but wildcards.
pub fn domains_of(ctx: &Ctx, record: &AppRecord) -> Vec<String> {
    crate::domains::app_vhosts(record, &ctx.global_domains())
        .into_iter()
        .filter(|d| !d.starts_with("*."))
        .collect()
}

/// Orders a certificate for the app now and installs it (stored, then served).
pub async fn obtain(ctx: &Ctx, app: &AppName) -> Result<CertInfo, RenewError> {
    let record = ctx.store.app(app)?;
    let names = domains_of(ctx, &record);
    if names.is_empty() {
        return Err(RenewError::NoDomains(app.clone()));
    }
    let settings = Settings::of(ctx, &record);
    let span = tracing::info_span!("acme", %app, directory = %settings.directory);
    let issued = ctx
        .acme
        .issue(&settings.directory, settings.email.as_deref(), &names)
        .instrument(span)
        .await?;
    let bundle = crate::certs::load(issued.crt.as_bytes(), issued.key.as_bytes())?;
    ctx.store
        .save_cert(app, issued.crt.as_bytes(), issued.key.as_bytes())?;
    ctx.refresh_tls(app);
    tracing::info!(%app, expires_at = bundle.info.expires_at, "certificate obtained by ACME");
    Ok(bundle.info)
}

/// The app's current certificate, if it has a usable one.
pub fn current(ctx: &Ctx, app: &AppName) -> Option<CertInfo> {
    let pem = ctx.store.cert(app).ok()??;
    crate::certs::load(&pem.crt, &pem.key).ok().map(|b| b.info)
}

/// Whether an enabled app needs a new certificate: none yet, expiring within the grace
/// period, or not covering its domains any more.
fn is_due(ctx: &Ctx, record: &AppRecord, now: i64) -> bool {
    if !record.letsencrypt.enabled {
        return false;
    }
    let Some(info) = current(ctx, &record.name) else {
        return true;
    };
    let graceperiod = i64::try_from(Settings::of(ctx, record).graceperiod).unwrap_or(i64::MAX);
    let expiring = info.expires_at.saturating_sub(now) < graceperiod;
    let uncovered = domains_of(ctx, record)
        .iter()
        .any(|d| !info.hostnames.contains(d));
    expiring || uncovered
}

/// Renews every due certificate (of `only`, or of every app): each app's outcome.
pub async fn renew_due(
    ctx: &Ctx,
    only: Option<&AppName>,
) -> Vec<(AppName, Result<CertInfo, RenewError>)> {
    let now = crate::state::now_unix() as i64;
    let mut outcomes = Vec::new();
    for record in ctx.store.apps() {
        if only.is_some_and(|app| *app != record.name) || !is_due(ctx, &record, now) {
            continue;
        }
        let outcome = obtain(ctx, &record.name).await;
        outcomes.push((record.name, outcome));
    }
    outcomes
}

/// Looks for due certificates every `[acme] renew_check_secs`; ends with the daemon.
pub async fn run_loop(ctx: Arc<Ctx>) {
    let every = Duration::from_secs(ctx.config.acme.renew_check_secs.max(1));
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        for (app, outcome) in renew_due(&ctx, None).await {
            match outcome {
                Ok(info) => {
                    tracing::info!(%app, expires_at = info.expires_at, "certificate renewed")
                }
                Err(err) => {
                    tracing::error!(%app, error = %err, "certificate renewal failed; the current one keeps serving")
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_then_global_then_config_settings_win() {
        let config = AcmeConfig {
            email: Some("ops@example.com".into()),
            ..AcmeConfig::default()
        };
        let global = AcmeProps {
            server: Some("staging".into()),
            graceperiod: Some(10),
            ..AcmeProps::default()
        };
        let app = AcmeProps {
            graceperiod: Some(20),
            ..AcmeProps::default()
        };
        assert_eq!(
            Settings::merge(&config, &global, &app),
            Settings {
                directory: LETSENCRYPT_STAGING.to_string(),
                email: Some("ops@example.com".into()),
                graceperiod: 20,
            }
        );
        let defaults = Settings::merge(&config, &AcmeProps::default(), &AcmeProps::default());
        assert_eq!(defaults.directory, LETSENCRYPT_PRODUCTION);
        assert_eq!(defaults.graceperiod, 30 * 24 * 3600);
        assert_eq!(
            directory_url("https://acme.test/dir"),
            "https://acme.test/dir"
        );
    }
}
