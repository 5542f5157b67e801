//! The deploy webhook: `POST /deploy/<app>` starts a deploy for a CI job or a forge and answers
//! at once (202) with its id; `GET /deploy/<app>/<id>[?from=N]` reports its state and output
//! (from byte `N`), readable while it runs.
//!
//! A request proves itself with one of the app's tokens (`deploy-tokens:create`): a bearer token
//! (`Authorization: Bearer`, or GitLab's `X-Gitlab-Token`), or a signature made with a webhook
//! secret (GitHub's `X-Hub-Signature-256`, Standard Webhooks' `webhook-signature` as GitLab
//! signs). Anything else, an unknown app included, gets the same 401 and changes nothing but
//! the address's failure count (`limit.rs`). The deploy is the command a user would type
//! (`git:sync --build …`, `git:from-image …`) run as `Caller::Token`, so access rules, input
//! checks and the audit log are the commands'; its output goes to the run's log.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tracing::Instrument;

use super::connections::Peer;
use super::forge::{wanted, Event};
use super::Admin;
use crate::caller::Caller;
use crate::clock::now_unix;
use crate::commands::{deploy_status_json, execute, Command, MAX_DEPLOY_OUTPUT};
use crate::context::Ctx;
use crate::io::Io;
use crate::names::AppName;
use crate::state::TokenKind;
use crate::tokens::{bearer_matches, body_digest, github_signed, standard_signed, Signed};

/// The largest body a delivery may have (GitHub's push payloads are rarely above a few
/// hundred KiB).
pub const MAX_BODY: usize = 1024 * 1024;
/// Deploys of one app the webhook runs or queues at once.
const AT_MOST_RUNNING: usize = 3;

/// `POST /deploy/<app>`.
pub async fn start(
    State(admin): State<Arc<Admin>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let span = tracing::info_span!("webhook", app = %crate::names::shown(&app), peer = %peer);
    async move {
        let Proven { app, token, kind } = match authenticate(&admin, peer, &app, &headers, &body) {
            Ok(proven) => proven,
            Err(refused) => return refused.into_response(),
        };
        if let Err(err) = admin.ctx.store.touch_deploy_token(&app, &token, now_unix()) {
            tracing::warn!(error = %err, "cannot record a token's use");
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let event = Event {
            github: header("x-github-event"),
            gitlab: header("x-gitlab-event"),
        };
        let spec = match admin.ctx.source_spec(&app) {
            Ok(spec) => spec,
            Err(_) => return unauthorized(),
        };
        let wants = match wanted(&event, &body, |refname| spec.branch.deploys(refname)) {
            Ok(wants) => wants,
            Err(why) => return answer(StatusCode::BAD_REQUEST, json_message(&why)),
        };
        let words = match wants.command(app.as_str()) {
            Ok(words) => words,
            Err(why) => {
                tracing::info!(why, "webhook delivery deploys nothing");
                return answer(StatusCode::OK, json_message(why));
            }
        };
        if let Err(err) = Command::parse(&words) {
            return answer(StatusCode::BAD_REQUEST, json_message(&err.to_string()));
        }
        let caller = Caller::Token {
            app: app.clone(),
            name: token,
        };
        let delivery = (kind == TokenKind::Webhook).then(|| delivery_key(&headers, &body));
        let delivery = delivery.as_deref();
        if delivery.is_some_and(|id| !admin.deliveries.first(id)) {
            tracing::warn!("a forge delivery came again; nothing deployed");
            return answer(
                StatusCode::OK,
                json_message("delivered before: nothing deployed"),
            );
        }
        let started = begin(&admin.ctx, app, caller, peer, words);
        if let (Some(id), false) = (delivery, started.status() == StatusCode::ACCEPTED) {
            admin.deliveries.forget(id);
        }
        started
    }
    .instrument(span)
    .await
}

/// What tells a signed delivery from a replay of it: the signed body for GitHub (its delivery
/// id is not signed), the signed `webhook-id` for Standard Webhooks. (A bearer token's holder
/// may deploy at will: its requests are not keyed.)
fn delivery_key(headers: &HeaderMap, body: &[u8]) -> String {
    match headers.get("webhook-id").and_then(|id| id.to_str().ok()) {
        Some(id) if !headers.contains_key("x-hub-signature-256") => {
            format!("standard:{}", id.chars().take(128).collect::<String>())
        }
        _ => format!("github:{}", body_digest(body)),
    }
}

/// Records the run and starts it; answers 202 with its id.
fn begin(
    ctx: &Arc<Ctx>,
    app: AppName,
    caller: Caller,
    peer: SocketAddr,
    words: Vec<String>,
) -> Response {
    let from = peer.ip().to_string();
    let run = match ctx.store.start_deploy_run(
        &app,
        words.clone(),
        &caller.to_string(),
        &from,
        AT_MOST_RUNNING,
    ) {
        Ok(Some(run)) => run,
        Ok(None) => {
            return answer(
                StatusCode::TOO_MANY_REQUESTS,
                json_message(&format!(
                    "{app} has {AT_MOST_RUNNING} webhook deploys going; try again when one ends"
                )),
            )
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot record the webhook deploy");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let log = match ctx.store.open_deploy_run_log(&app, run.id) {
        Ok(file) => RunLog::new(file),
        Err(err) => {
            tracing::error!(error = %err, "cannot open the webhook deploy's log");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    tracing::info!(id = run.id, command = %words.join(" "), by = %caller, "webhook deploy started");
    let finish = Finish {
        ctx: ctx.clone(),
        app: app.clone(),
        id: run.id,
        status: None,
    };
    let work = ctx.clone();
    ctx.tracker.spawn(
        async move {
            let mut finish = finish;
            let mut io = Io {
                stdin: Box::new(tokio::io::empty()),
                stdout: Box::new(log.clone()),
                stderr: Box::new(log),
                tty: false,
                hangup: work.shutdown.child_token(),
                report: Default::default(),
            };
            let status = execute(&work, &caller, &from, &words, &mut io).await;
            tracing::info!(status, "webhook deploy ended");
            finish.status = Some(status);
        }
        .in_current_span(),
    );
    let body = serde_json::json!({
        "app": app.as_str(),
        "id": run.id,
        "status": run.status.as_str(),
        "status_url": format!("/deploy/{app}/{}", run.id),
    });
    answer(StatusCode::ACCEPTED, body)
}

#[derive(Deserialize)]
pub struct Since {
    from: Option<u64>,
}

/// `GET /deploy/<app>/<id>[?from=N]`: a bearer token of the app only.
pub async fn status(
    State(admin): State<Arc<Admin>>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    Path((app, id)): Path<(String, String)>,
    Query(since): Query<Since>,
    headers: HeaderMap,
) -> Response {
    let app = match authenticate(&admin, peer, &app, &headers, &[]) {
        Ok(proven) => proven.app,
        Err(refused) => return refused.into_response(),
    };
    let store = &admin.ctx.store;
    let run = match id.parse().ok().map(|id| store.deploy_run(&app, id)) {
        Some(Ok(Some(run))) => run,
        Some(Err(err)) => {
            tracing::error!(error = %err, "cannot read a webhook deploy");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        None | Some(Ok(None)) => {
            return answer(
                StatusCode::NOT_FOUND,
                json_message(&format!("{app} has no deploy {}", crate::names::shown(&id))),
            )
        }
    };
    match store.deploy_run_output(&app, run.id, since.from.unwrap_or(0), MAX_DEPLOY_OUTPUT) {
        Ok((output, next)) => {
            let output = String::from_utf8_lossy(&output);
            answer(
                StatusCode::OK,
                deploy_status_json(&app, &run, &output, Some(next)),
            )
        }
        Err(err) => {
            tracing::error!(error = %err, "cannot read a webhook deploy's output");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Why a request was refused.
enum Refusal {
    /// The address failed too often; it may try again after this long.
    TooMany(std::time::Duration),
    Unauthorized,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::TooMany(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
                "too many failed attempts; wait\n",
            )
                .into_response(),
            Refusal::Unauthorized => unauthorized(),
        }
    }
}

/// What proved a request: the app, its token's name and kind.
struct Proven {
    app: AppName,
    token: String,
    kind: TokenKind,
}

/// What proves the request, or why it is refused.
fn authenticate(
    admin: &Admin,
    peer: SocketAddr,
    app: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Proven, Refusal> {
    let started = Instant::now();
    if let Err(wait) = admin.limit.check(peer.ip(), started) {
        tracing::warn!(peer = %peer, "webhook refused: too many failed tokens");
        return Err(Refusal::TooMany(wait));
    }
    let found = AppName::parse(app).ok().and_then(|app| {
        token_of(&admin.ctx, &app, headers, body).map(|(token, kind)| Proven { app, token, kind })
    });
    found.ok_or_else(|| {
        admin.limit.failed(peer.ip(), started);
        tracing::warn!(peer = %peer, "webhook refused: no valid token");
        Refusal::Unauthorized
    })
}

/// The name and kind of the app's valid token the request carries or is signed with.
fn token_of(
    ctx: &Ctx,
    app: &AppName,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<(String, TokenKind)> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let bearer = header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| header("x-gitlab-token"));
    let github = header("x-hub-signature-256");
    let standard = match (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) {
        (Some(id), Some(timestamp), Some(signatures)) => Some(Signed {
            id,
            timestamp,
            signatures,
        }),
        _ => None,
    };
    let now = now_unix();
    let tokens = ctx.store.deploy_tokens(app).ok()?;
    tokens
        .into_iter()
        .filter(|(_, token)| token.valid_at(now))
        .find(|(_, token)| match token.kind {
            TokenKind::Bearer => bearer.is_some_and(|given| bearer_matches(given, &token.stored)),
            TokenKind::Webhook => {
                github.is_some_and(|signature| github_signed(&token.stored, body, signature))
                    || standard
                        .as_ref()
                        .is_some_and(|signed| standard_signed(&token.stored, body, signed, now))
            }
        })
        .map(|(name, token)| (name, token.kind))
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "unauthorized\n",
    )
        .into_response()
}

fn json_message(message: &str) -> serde_json::Value {
    serde_json::json!({ "message": message })
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{body}\n"),
    )
        .into_response()
}

/// Records the run's end when dropped: its exit status, or interrupted when the task ended
/// without one (it panicked).
struct Finish {
    ctx: Arc<Ctx>,
    app: AppName,
    id: u64,
    status: Option<i32>,
}

impl Drop for Finish {
    fn drop(&mut self) {
        if let Err(err) = self
            .ctx
            .store
            .finish_deploy_run(&self.app, self.id, self.status)
        {
            tracing::error!(error = %err, "cannot record the webhook deploy's end");
        }
    }
}

/// A run's log, shared by its stdout and stderr: written as it comes, up to
/// `commands::MAX_DEPLOY_OUTPUT`, then one line saying the rest was left out.
#[derive(Clone)]
struct RunLog(Arc<Mutex<(std::fs::File, u64)>>);

impl RunLog {
    fn new(file: std::fs::File) -> RunLog {
        RunLog(Arc::new(Mutex::new((file, 0))))
    }
}

impl tokio::io::AsyncWrite for RunLog {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        use std::io::Write;
        let mut log = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (file, written) = &mut *log;
        let room = MAX_DEPLOY_OUTPUT.saturating_sub(*written);
        let take = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        // Small appends to a local file: a log write failing loses output, never the deploy.
        let mut kept = file.write_all(&bytes[..take]).is_ok();
        if take < bytes.len() && room > 0 {
            kept &= file
                .write_all(b"\n !     The rest of the output was left out\n")
                .is_ok();
        }
        if !kept {
            tracing::warn!("a webhook deploy's log lost output");
        }
        *written += bytes.len() as u64;
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::DeployToken;
    use crate::tokens::{hash_bearer, new_bearer, new_webhook_secret};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[tokio::test]
    async fn expired_revoked_and_misused_tokens_prove_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = crate::fake::test_ctx(dir.path()).await;
        let (shop, other) = (
            AppName::parse("shop").unwrap(),
            AppName::parse("other").unwrap(),
        );
        for app in [&shop, &other] {
            ctx.create_app(app).unwrap();
        }
        let now = now_unix();
        let add = |app: &AppName, name: &str, kind, stored: String, expires| {
            let token = DeployToken {
                kind,
                stored,
                created: now - 100,
                expires,
                last_used: None,
            };
            assert!(ctx.store.add_deploy_token(app, name, token).unwrap());
        };
        let (live, old, secret) = (new_bearer(), new_bearer(), new_webhook_secret());
        add(
            &shop,
            "live",
            TokenKind::Bearer,
            hash_bearer(&live),
            Some(now + 60),
        );
        add(
            &shop,
            "old",
            TokenKind::Bearer,
            hash_bearer(&old),
            Some(now - 1),
        );
        add(&shop, "hook", TokenKind::Webhook, secret.clone(), None);
        let with = |token: &str| headers(&[("authorization", &format!("Bearer {token}"))]);

        let live_bearer = Some(("live".to_string(), TokenKind::Bearer));
        assert_eq!(token_of(&ctx, &shop, &with(&live), b""), live_bearer);
        let gitlab = headers(&[("x-gitlab-token", &live)]);
        assert_eq!(token_of(&ctx, &shop, &gitlab, b""), live_bearer);
        assert_eq!(token_of(&ctx, &shop, &with(&old), b""), None, "expired");
        assert_eq!(
            token_of(&ctx, &other, &with(&live), b""),
            None,
            "another app's"
        );
        assert_eq!(
            token_of(&ctx, &shop, &with(&secret), b""),
            None,
            "a webhook secret as bearer"
        );
        assert_eq!(
            token_of(&ctx, &shop, &with(&hash_bearer(&live)), b""),
            None,
            "the stored hash"
        );
        assert!(ctx.store.revoke_deploy_token(&shop, "live").unwrap());
        assert_eq!(token_of(&ctx, &shop, &with(&live), b""), None, "revoked");
    }
}
