//! The pipeline's promises, against the fake engine (`crate::fake`): no Docker, git or ssh, in
//! milliseconds, as kamal-proxy's router tests check its cutover.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{deploy, scale, DeployError, DeployRequest, Source, Wait};
use crate::caller::Caller;
use crate::config::Config;
use crate::context::Ctx;
use crate::fake::FakeEngine;
use crate::git::Checkout;
use crate::io::Io;
use crate::names::AppName;

fn shop() -> AppName {
    AppName::parse("shop").unwrap()
}

/// A context on a temp data dir with the app `shop`, no stay-up wait and no watch window
/// unless `tweak` sets them.
async fn setup(tweak: impl FnOnce(&mut Config)) -> (Arc<Ctx>, Arc<FakeEngine>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let engine = FakeEngine::start().await;
    let mut config = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    config.deploy.check_wait_secs = 0;
    config.deploy.start_timeout_secs = 5;
    config.deploy.watch_secs = 0;
    tweak(&mut config);
    let ctx = Ctx::for_tests(config, engine.clone());
    ctx.create_app(&shop()).unwrap();
    (ctx, engine, dir)
}

fn io() -> Io {
    Io::detached(CancellationToken::new())
}

async fn deploy_source(ctx: &Ctx, source: Source) -> Result<u32, DeployError> {
    let request = DeployRequest {
        app: shop(),
        caller: Caller::Local,
        source,
        wait: Wait::NoWait,
    };
    deploy(ctx, request, &mut io()).await
}

async fn deploy_image(ctx: &Ctx) -> Result<u32, DeployError> {
    deploy_source(ctx, Source::Image("shop:latest".into())).await
}

/// Where the proxy sends the app's requests now.
fn routed(ctx: &Ctx) -> Vec<(String, SocketAddr)> {
    let route = ctx.routes.route(&shop()).expect("a route");
    assert!(!route.held, "requests are not held");
    route
        .upstreams
        .iter()
        .map(|u| (u.instance.clone(), u.addr))
        .collect()
}

/// Polls `done` until it holds (true) or ten seconds pass (false).
async fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

fn state_file(ctx: &Ctx) -> Vec<u8> {
    std::fs::read(ctx.store.layout().app_file(&shop())).unwrap()
}

#[tokio::test]
async fn a_failed_check_leaves_state_byte_identical_and_routes_unchanged() {
    let (ctx, engine, _dir) = setup(|_| {}).await;
    assert_eq!(deploy_image(&ctx).await.unwrap(), 1);
    let (state, routes) = (state_file(&ctx), routed(&ctx));
    assert_eq!(routes.len(), 1);

    engine.crash_release(Some(2));
    let err = deploy_image(&ctx).await.unwrap_err();
    assert!(
        err.to_string().contains("exited with status 3"),
        "the crash is told: {err}"
    );
    assert_eq!(state_file(&ctx), state, "state untouched");
    assert_eq!(routed(&ctx), routes, "routes untouched");
    assert_eq!(
        engine.running("shop"),
        [("web.1".to_string(), 1)],
        "the crashed instance is removed"
    );

    engine.crash_release(None);
    assert_eq!(
        deploy_image(&ctx).await.unwrap(),
        2,
        "the number is not used up"
    );
}

/// An instance that exited at once, whose address the engine gave to another container that
/// answers there, must not pass for alive.
#[tokio::test]
async fn an_answer_at_a_crashed_instances_reused_address_does_not_pass_its_check() {
    let (ctx, engine, _dir) = setup(|_| {}).await;
    engine.reuse_crashed_addresses();
    engine.crash_release(Some(1));
    let err = deploy_image(&ctx).await.unwrap_err();
    assert!(
        err.to_string().contains("its process exited with status 3"),
        "{err}"
    );
    assert_eq!(ctx.store.app(&shop()).unwrap().current_release, None);
}

#[tokio::test]
async fn stop_first_restores_the_previous_release_when_the_new_one_fails() {
    let (ctx, engine, _dir) = setup(|_| {}).await;
    deploy_image(&ctx).await.unwrap();
    ctx.store
        .update_app(&shop(), |r| r.checks.disabled = vec!["web".into()])
        .unwrap();
    let before = routed(&ctx);

    engine.crash_release(Some(2));
    deploy_image(&ctx).await.unwrap_err();
    assert_eq!(
        engine.running("shop"),
        [("web.1".to_string(), 1)],
        "v1 runs again"
    );
    let after = routed(&ctx);
    assert_eq!(after.len(), 1);
    assert_ne!(after, before, "a fresh v1 instance, routed, not held");
    assert_eq!(ctx.store.app(&shop()).unwrap().current_release, Some(1));
}

#[tokio::test]
async fn old_instances_retire_after_wait_to_retire() {
    let (ctx, engine, _dir) = setup(|config| config.deploy.wait_to_retire_secs = 30).await;
    deploy_image(&ctx).await.unwrap();
    deploy_image(&ctx).await.unwrap();
    tokio::time::pause();
    // The retirement waits from when its task first runs: let it.
    tokio::time::sleep(Duration::from_millis(1)).await;
    let both = [("web.1".to_string(), 1), ("web.1".to_string(), 2)];
    assert_eq!(engine.running("shop"), both, "v1 serves in-flight requests");
    assert_eq!(routed(&ctx).len(), 1, "only v2 gets new requests");

    // A short sleep lets the runtime fire the timers the advance made due.
    tokio::time::advance(Duration::from_secs(29)).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(engine.running("shop"), both);
    tokio::time::advance(Duration::from_secs(2)).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(engine.running("shop"), [("web.1".to_string(), 2)]);
    assert_eq!(engine.retired(), 1);
}

#[tokio::test]
async fn scale_up_and_down_starts_and_retires_instances_of_the_current_release() {
    let (ctx, engine, _dir) = setup(|config| config.deploy.wait_to_retire_secs = 0).await;
    deploy_image(&ctx).await.unwrap();
    let scale_to = |web: u32, worker: u32| {
        ctx.store
            .update_app(&shop(), |r| {
                r.formation = [("web".into(), web), ("worker".into(), worker)].into()
            })
            .unwrap();
    };
    scale_to(3, 0);
    scale(&ctx, &shop(), &mut io(), Wait::NoWait).await.unwrap();
    let dynos = |engine: &FakeEngine| {
        let mut dynos: Vec<String> = engine.running("shop").into_iter().map(|(d, _)| d).collect();
        dynos.sort();
        dynos
    };
    assert_eq!(dynos(&engine), ["web.1", "web.2", "web.3"]);
    assert_eq!(routed(&ctx).len(), 3, "each new web instance is routed");

    scale_to(1, 0);
    scale(&ctx, &shop(), &mut io(), Wait::NoWait).await.unwrap();
    assert_eq!(routed(&ctx).len(), 1, "out of rotation at once");
    assert!(
        eventually(|| dynos(&engine) == ["web.1"]).await,
        "{:?}",
        dynos(&engine)
    );
    assert_eq!(ctx.store.app(&shop()).unwrap().current_release, Some(1));
}

#[tokio::test]
async fn the_watch_window_rolls_back_when_requests_fail() {
    let (ctx, engine, _dir) = setup(|config| config.deploy.watch_secs = 60).await;
    deploy_image(&ctx).await.unwrap();
    deploy_image(&ctx).await.unwrap();
    let route = ctx.routes.route(&shop()).unwrap();
    for _ in 0..50 {
        route.stats.record(502);
    }
    let current = || ctx.store.app(&shop()).unwrap().current_release;
    assert!(eventually(|| current() == Some(3)).await, "no rollback");
    let rolled_back = ctx.store.app(&shop()).unwrap();
    let v3 = rolled_back.release(3).unwrap();
    assert!(
        v3.description.starts_with("Automatic rollback to v1"),
        "{}",
        v3.description
    );
    assert_eq!(v3.image, rolled_back.release(1).unwrap().image);
    assert!(engine.running("shop").contains(&("web.1".to_string(), 3)));
}

#[tokio::test]
async fn a_cancelled_build_leaves_nothing() {
    let (ctx, engine, dir) = setup(|config| config.build.concurrent = 1).await;
    let other = AppName::parse("other").unwrap();
    let mut held_io = io();
    let held = ctx
        .builds
        .slot(&other, "holding the slot", &mut held_io)
        .await;
    let contexts = dir.path().join("contexts");
    let checkout = Checkout::for_tests(&contexts);
    let deploying = tokio::spawn({
        let ctx = ctx.clone();
        async move { deploy_source(&ctx, Source::Push(checkout)).await }
    });
    assert!(
        eventually(|| ctx.builds.list().len() == 2).await,
        "the build never queued"
    );
    assert!(ctx.builds.cancel(&shop()));
    let err = tokio::time::timeout(Duration::from_secs(10), deploying)
        .await
        .expect("the cancelled deploy ends")
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, DeployError::Cancelled), "{err}");
    assert_eq!(ctx.builds.list().len(), 1, "only the other app's build");
    drop(held);

    let record = ctx.store.app(&shop()).unwrap();
    assert!(record.releases.is_empty() && record.current_release.is_none());
    assert!(engine.running("shop").is_empty());
    assert_eq!(
        std::fs::read_dir(&contexts).unwrap().count(),
        0,
        "its build context is gone"
    );
}

#[tokio::test]
async fn new_instances_join_attach_post_deploy_networks_and_a_missing_one_fails_the_deploy() {
    let (ctx, engine, _dir) = setup(|_| {}).await;
    assert_eq!(deploy_image(&ctx).await.unwrap(), 1);
    let backend = crate::names::NetworkName::parse("backend").unwrap();
    ctx.store
        .update_app(&shop(), |r| {
            r.network.attach_post_deploy = vec![backend.clone()]
        })
        .unwrap();
    let (state, routes) = (state_file(&ctx), routed(&ctx));
    let err = deploy_image(&ctx).await.unwrap_err();
    assert!(
        err.to_string().contains("Network backend does not exist"),
        "{err}"
    );
    assert_eq!(state_file(&ctx), state, "state untouched");
    assert_eq!(routed(&ctx), routes, "routes untouched");
    assert_eq!(engine.running("shop"), [("web.1".to_string(), 1)]);

    ctx.scheduler.create_network(&backend).await.unwrap();
    assert_eq!(deploy_image(&ctx).await.unwrap(), 2);
    let on = ctx.scheduler.network(&backend).await.unwrap().unwrap();
    let v2: Vec<String> = ctx
        .scheduler
        .instances(Some(&shop()))
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.release == 2)
        .map(|i| i.id)
        .collect();
    assert_eq!(on.containers, v2, "only the new release's instance joined");
}
