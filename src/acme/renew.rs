//! Which apps get certificates by ACME, with what settings, and the daemon's renewal loop:
//! a certificate due for renewal is replaced in the proxy's table at once, without a restart;
//! a failed renewal keeps the current certificate serving and is tried again next round.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::Instrument;

use super::client::AcmeError;
use crate::caller::Caller;
use crate::certs::{CertError, CertInfo};
use crate::config::{AcmeConfig, LETSENCRYPT_PRODUCTION, LETSENCRYPT_STAGING};
use crate::context::Ctx;
use crate::io::Io;
use crate::names::AppName;
use crate::state::{AcmeProps, AppRecord, StateError};

#[derive(Debug, thiserror::Error)]
pub enum RenewError {
    #[error("{0} has no domain an http-01 challenge can validate (wildcard domains cannot be); add one with domains:add")]
    NoDomains(AppName),
    #[error("{0} has no certificate")]
    NoCertificate(AppName),
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

/// Orders a certificate for the app now and installs it (stored, then served), then fires
/// `post-certs-update` with its output on `io`.
pub async fn obtain(
    ctx: &Ctx,
    app: &AppName,
    caller: &Caller,
    io: &mut Io,
) -> Result<CertInfo, RenewError> {
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
    // Not an aborting trigger: a failure is reported on `io` and the certificate stays.
    let _ = ctx
        .trigger(
            "post-certs-update",
            &[app.to_string()],
            Some(app),
            caller,
            io,
        )
        .await;
    Ok(bundle.info)
}

/// Revokes the app's certificate at the ACME server that issued it, then removes it and stops
/// renewing (a revoked certificate is worse than none: clients refuse it).
pub async fn revoke(ctx: &Ctx, app: &AppName) -> Result<(), RenewError> {
    let record = ctx.store.app(app)?;
    let Some(pem) = ctx.store.cert(app)? else {
        return Err(RenewError::NoCertificate(app.clone()));
    };
    let settings = Settings::of(ctx, &record);
    let span = tracing::info_span!("acme", %app, directory = %settings.directory);
    ctx.acme
        .revoke(&settings.directory, settings.email.as_deref(), &pem.crt)
        .instrument(span)
        .await?;
    ctx.store
        .update_app(app, |r| r.letsencrypt.enabled = false)?;
    ctx.store.remove_cert(app)?;
    ctx.refresh_tls(app);
    tracing::info!(%app, "certificate revoked by ACME and removed");
    Ok(())
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

/// Renews every due certificate (of `only`, or of every app but those `skip` names), for
/// `caller` with triggers' output on `io`: each app's outcome.
pub async fn renew_due(
    ctx: &Ctx,
    only: Option<&AppName>,
    skip: &[AppName],
    caller: &Caller,
    io: &mut Io,
) -> Vec<(AppName, Result<CertInfo, RenewError>)> {
    let now = crate::clock::now_unix() as i64;
    let mut outcomes = Vec::new();
    for record in ctx.store.apps() {
        if only.is_some_and(|app| *app != record.name)
            || skip.contains(&record.name)
            || !is_due(ctx, &record, now)
        {
            continue;
        }
        let outcome = obtain(ctx, &record.name, caller, io).await;
        outcomes.push((record.name, outcome));
    }
    outcomes
}

/// Looks for due certificates every `[acme] renew_check_secs`; ends with the daemon. An app
/// whose renewal failed waits twice as long after each further failure (see `retry_after`), so a
/// broken domain does not spend the CA's failed-validation limit every round.
pub async fn run_loop(ctx: Arc<Ctx>) {
    let every = Duration::from_secs(ctx.config.acme.renew_check_secs);
    let mut failing: HashMap<AppName, (u32, Instant)> = HashMap::new();
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let now = Instant::now();
        let waiting: Vec<AppName> = failing
            .iter()
            .filter(|(_, (_, next))| *next > now)
            .map(|(app, _)| app.clone())
            .collect();
        let mut io = Io::detached(ctx.shutdown.clone());
        for (app, outcome) in renew_due(&ctx, None, &waiting, &Caller::Watch, &mut io).await {
            match outcome {
                Ok(info) => {
                    failing.remove(&app);
                    tracing::info!(%app, expires_at = info.expires_at, "certificate renewed")
                }
                Err(err) => {
                    let failures = failing.get(&app).map_or(1, |(n, _)| n + 1);
                    let wait = retry_after(every, failures);
                    failing.insert(app.clone(), (failures, Instant::now() + wait));
                    tracing::error!(%app, error = %err, failures, retry_in_secs = wait.as_secs(), "certificate renewal failed; the current one keeps serving")
                }
            }
        }
    }
}

/// How long the loop leaves an app alone after its `failures`-th failure in a row: one check
/// interval, doubling each time, at most a day (or one interval, if that is longer).
fn retry_after(every: Duration, failures: u32) -> Duration {
    let cap = every.max(Duration::from_secs(24 * 3600));
    every
        .checked_mul(1u32 << failures.saturating_sub(1).min(16))
        .map_or(cap, |wait| wait.min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_app_waits_twice_as_long_each_time_up_to_a_day() {
        let hour = Duration::from_secs(3600);
        let waits: Vec<u64> = (1..=7)
            .map(|n| retry_after(hour, n).as_secs() / 3600)
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 24, 24]);
        assert_eq!(retry_after(hour, u32::MAX), 24 * hour);
        let weekly = 7 * 24 * hour;
        assert_eq!(retry_after(weekly, 3), weekly, "never below one interval");
    }

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
