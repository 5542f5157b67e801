//! End to end: `git push` over SSH builds with Docker, starts the container, and the proxy
//! routes to it only once it answers. Failed pushes leave the running release serving.

mod support;

use std::time::Duration;

use support::{eventually, repo, Berth};

fn web_repo(marker: &str) -> tempfile::TempDir {
    repo::create(&repo::as_refs(&repo::web_app(marker)))
}

#[test]
fn push_deploys_and_serves_through_the_proxy() {
    let berth = Berth::start();
    let app = berth.app("shop");
    let source = web_repo("release one");

    let push = berth.push(source.path(), &app, "main").ok();
    assert!(
        push.stderr
            .contains(&format!("-----> Building {app} from Dockerfile")),
        "{push:#?}"
    );
    assert!(
        push.stderr.contains("remote:        Step 1/"),
        "build output streams: {push:#?}"
    );
    let url = format!("http://{}:{}", Berth::host(&app), berth.http.port());
    let (_, deployed) = push
        .stderr
        .split_once("=====> Application deployed:")
        .expect("the deploy's last words");
    assert!(
        deployed.contains(&format!("remote:        {url}")),
        "the app's URL: {push:#?}"
    );

    let response = berth.get(&Berth::host(&app), "/");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, "release one\n");
    assert!(berth.ssh("apps:list").ok().stdout.contains(&app));

    let containers = Berth::containers(&app);
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert_eq!(containers[0].1, "1");
    let env = berth.get(&Berth::host(&app), "/cgi-bin/env").body;
    assert!(env.contains("PORT=5000"), "{env}");
}

#[test]
fn the_proxy_sets_forwarding_headers() {
    let berth = Berth::start();
    let app = berth.app("headers");
    berth.push(web_repo("hi").path(), &app, "main").ok();
    let env = berth.get(&Berth::host(&app), "/cgi-bin/env").body;
    assert!(env.contains("HTTP_X_FORWARDED_FOR=127.0.0.1"), "{env}");
    assert!(env.contains("HTTP_X_FORWARDED_PROTO=http"), "{env}");
    assert!(
        env.contains(&format!("HTTP_X_FORWARDED_PORT={}", berth.http.port())),
        "{env}"
    );
    assert!(env.contains("HTTP_X_REQUEST_START=t="), "{env}");
}

#[test]
fn an_exposed_port_becomes_the_port() {
    let berth = Berth::start();
    let app = berth.app("exposed");
    let mut files = repo::web_app("on 7000");
    files[0].1 = files[0]
        .1
        .replace("COPY www /www", "COPY www /www\nEXPOSE 7000");
    let source = repo::create(&repo::as_refs(&files));
    berth.push(source.path(), &app, "main").ok();
    let env = berth.get(&Berth::host(&app), "/cgi-bin/env").body;
    assert!(env.contains("PORT=7000"), "{env}");
}

#[test]
fn a_redeploy_replaces_the_container() {
    let berth = Berth::start();
    let app = berth.app("redeploy");
    let source = web_repo("v1");
    berth.push(source.path(), &app, "main").ok();
    let first = Berth::containers(&app);

    repo::commit(source.path(), &[("www/index.html", "v2\n")], "v2");
    berth.push(source.path(), &app, "main").ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "v2\n");
    assert!(
        eventually(Duration::from_secs(20), || Berth::containers(&app).len()
            == 1),
        "the old container is retired: {:?}",
        Berth::containers(&app)
    );
    let second = Berth::containers(&app);
    assert_eq!(second[0].1, "2");
    assert_ne!(first[0].0, second[0].0);
}

#[test]
fn a_failed_build_keeps_the_old_release_serving() {
    let berth = Berth::start();
    let app = berth.app("badbuild");
    let source = web_repo("good");
    berth.push(source.path(), &app, "main").ok();
    let state_file = berth.data_dir().join(format!("apps/{app}/app.toml"));
    let state_before = std::fs::read(&state_file).expect("state file");

    let broken = repo::web_app("never served");
    let dockerfile = format!("{}RUN false\n", broken[0].1);
    repo::commit(
        source.path(),
        &[("Dockerfile", &dockerfile), ("www/index.html", "bad\n")],
        "bad",
    );
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0, "{push:#?}");
    assert!(push.stderr.contains("App build failed"), "{push:#?}");
    assert!(
        push.stderr.contains("pre-receive hook declined"),
        "{push:#?}"
    );

    assert_eq!(berth.get(&Berth::host(&app), "/").body, "good\n");
    assert_eq!(
        std::fs::read(&state_file).expect("state file"),
        state_before
    );
    let containers = Berth::containers(&app);
    assert_eq!(containers.len(), 1, "{containers:?}");
    assert_eq!(containers[0].1, "1");
}

#[test]
fn a_container_that_never_answers_fails_the_push() {
    let berth = Berth::start();
    let app = berth.app("crashy");
    let source = web_repo("steady");
    berth.push(source.path(), &app, "main").ok();

    let crashing = "FROM berth-base/busybox:latest\n\
                    CMD [\"/bin/sh\", \"-c\", \"echo boom: missing DATABASE_URL; exit 3\"]\n";
    repo::commit(source.path(), &[("Dockerfile", crashing)], "crash");
    let push = berth.push(source.path(), &app, "main");
    assert_ne!(push.code, 0, "{push:#?}");
    assert!(push.stderr.contains("Could not start web.1"), "{push:#?}");
    assert!(
        push.stderr.contains("boom: missing DATABASE_URL"),
        "log tail shown: {push:#?}"
    );

    assert_eq!(berth.get(&Berth::host(&app), "/").body, "steady\n");
    assert!(
        eventually(Duration::from_secs(10), || Berth::containers(&app).len()
            == 1),
        "the failed container is removed: {:?}",
        Berth::containers(&app)
    );
}

#[test]
fn a_push_to_another_branch_is_accepted_without_deploying() {
    let berth = Berth::start();
    let app = berth.app("branch");
    let source = web_repo("feature");
    let push = berth.push(source.path(), &app, "feature").ok();
    assert!(
        push.stderr
            .contains("deploys pushes to main or master only"),
        "{push:#?}"
    );
    assert!(Berth::containers(&app).is_empty());
}

#[test]
fn a_push_to_master_deploys_too() {
    let berth = Berth::start();
    let app = berth.app("master");
    berth
        .push(web_repo("from master").path(), &app, "master")
        .ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "from master\n");
}
