//! `git:sync` against local repositories: file URLs and `git daemon` on loopback. A tag and a
//! commit deploy with `--build`; `--build-if-changes` builds only when the branch moved; a
//! developer key may not sync the server's own files, and git's command transport is refused.
//! `git:auth` against a private HTTPS server (`git http-backend` behind TLS). The deploy webhook
//! through curl: a deploy token's deploy and its live output, GitHub's and GitLab's signed pushes, and what
//! wrong, revoked and guessed tokens and replayed deliveries get.

mod support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{eventually, make_key, repo, Berth};

/// curl against the admin listener: `POST` of `body` when there is one, else `GET`, with
/// `headers` (`Name: value`); the status and the body.
fn curl(berth: &Berth, path: &str, headers: &[String], body: Option<&str>) -> (u16, String) {
    let mut command = Command::new("curl");
    command.args(["-sS", "--max-time", "30", "-w", "\n%{http_code}"]);
    for header in headers {
        command.args(["-H", header]);
    }
    if body.is_some() {
        command.args(["-X", "POST", "--data-binary", "@-"]);
    }
    let mut child = command
        .arg(format!("http://{}{path}", berth.admin))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl");
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(body.unwrap_or_default().as_bytes())
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("curl's status line");
    (code.parse().expect("status"), body.to_string())
}

fn bearer(token: &str) -> Vec<String> {
    vec![format!("Authorization: Bearer {token}")]
}

/// A field of a JSON body.
fn field(body: &str, name: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(body).expect(body);
    value[name].clone()
}

/// Polls `GET /deploy/<app>/<id>` until `done` holds of its body; the last body.
fn poll_deploy(
    berth: &Berth,
    app: &str,
    id: &str,
    token: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let mut last = String::new();
    let reached = eventually(Duration::from_secs(240), || {
        let (code, body) = curl(berth, &format!("/deploy/{app}/{id}"), &bearer(token), None);
        assert_eq!(code, 200, "{body}");
        last = body;
        done(&last)
    });
    assert!(reached, "the deploy did not get there: {last}");
    last
}

/// The releases `app` has, as `releases` lists them.
fn release_count(berth: &Berth, app: &str) -> usize {
    let releases = berth.ssh(&format!("releases {app} --format json")).ok();
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&releases.stdout).expect(&releases.stdout);
    list.len()
}

/// `git daemon` exporting every repository under `base` on a loopback port; killed when dropped.
struct GitDaemon {
    child: Child,
    port: u16,
}

impl GitDaemon {
    fn start(base: &Path) -> GitDaemon {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child = Command::new("git")
            .arg("daemon")
            .args(["--reuseaddr", "--export-all", "--listen=127.0.0.1"])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", base.display()))
            .arg(base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon");
        let daemon = GitDaemon { child, port };
        let up = eventually(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "git daemon did not listen");
        daemon
    }
}

/// The smallest private HTTPS git server: `git http-backend` behind TLS for `localhost` (a
/// self-signed certificate, written to `ca` for git to trust) on a loopback port, answering
/// 401 unless the request carries `user`'s basic login. One request per connection.
struct HttpsGit {
    port: u16,
    ca: std::path::PathBuf,
}

impl HttpsGit {
    fn start(root: &Path, dir: &Path, user: &str, token: &str) -> HttpsGit {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let (crt, key) = berth::certs::self_signed(&["localhost".to_string()]).unwrap();
        let ca = dir.join("https-git-ca.pem");
        std::fs::write(&ca, &crt).unwrap();
        let certs = vec![CertificateDer::from_pem_slice(crt.as_bytes()).unwrap()];
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let config = std::sync::Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        use base64::Engine;
        let login = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
        let expected = format!("Basic {login}");
        let root = root.to_path_buf();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let connection = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut tls = rustls::StreamOwned::new(connection, stream);
                let _ = serve_git(&mut tls, &root, &expected);
            }
        });
        HttpsGit { port, ca }
    }
}

/// One HTTP request to `git http-backend` (CGI) for the repositories under `root`.
fn serve_git(
    stream: &mut (impl std::io::Read + std::io::Write),
    root: &Path,
    expected: &str,
) -> std::io::Result<()> {
    use std::io::{BufRead, Read, Write};
    let mut reader = std::io::BufReader::new(&mut *stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let (method, target) = (
        words.next().unwrap_or_default().to_string(),
        words.next().unwrap_or_default().to_string(),
    );
    let mut headers = std::collections::HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    if headers.get("authorization").map(String::as_str) != Some(expected) {
        drop(reader);
        return stream.write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    drop(reader);
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let header = |name: &str| headers.get(name).cloned().unwrap_or_default();
    let mut child = Command::new("git")
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", length.to_string())
        .env("GIT_PROTOCOL", header("git-protocol"))
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("REMOTE_USER", "ci")
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    child.stdin.take().unwrap().write_all(&body)?;
    let output = child.wait_with_output()?.stdout;
    let split = output
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(output.len());
    let head = String::from_utf8_lossy(&output[..split]).into_owned();
    let rest = output.get(split + 4..).unwrap_or_default();
    let mut status = "200 OK".to_string();
    let mut response = String::new();
    for line in head.lines() {
        match line.strip_prefix("Status: ") {
            Some(given) => status = given.to_string(),
            None => response.push_str(&format!("{line}\r\n")),
        }
    }
    let head = format!(
        "HTTP/1.1 {status}\r\n{response}Content-Length: {}\r\nConnection: close\r\n\r\n",
        rest.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(rest)?;
    stream.flush()
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn git_sync_deploys_a_tag_a_commit_and_a_branch_that_changed() {
    let berth = Berth::start();
    let app = berth.app("synced");
    berth.ssh(&format!("apps:create {app}")).ok();
    let source = repo::create(&repo::as_refs(&repo::web_app("one")));
    repo::git(source.path(), &["tag", "v1"]);
    repo::commit(source.path(), &[("www/index.html", "two\n")], "two");
    let two = repo::head(source.path());
    repo::commit(source.path(), &[("www/index.html", "three\n")], "three");
    let url = format!("file://{}", source.path().display());

    let synced = berth.ssh(&format!("git:sync --build {app} {url} v1")).ok();
    assert!(synced.stdout.contains("Syncing"), "{synced:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "one\n");
    berth
        .ssh(&format!("git:sync --build {app} {url} {two}"))
        .ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "two\n");

    // From git daemon, the default branch; then again with nothing new: no build.
    let daemon = GitDaemon::start(source.path().parent().unwrap());
    let name = source.path().file_name().unwrap().to_string_lossy();
    let remote = format!("git://127.0.0.1:{}/{name}", daemon.port);
    berth
        .ssh(&format!("git:sync --build-if-changes {app} {remote}"))
        .ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "three\n");
    let again = berth
        .ssh(&format!("git:sync --build-if-changes {app} {remote} main"))
        .ok();
    assert!(again.stdout.contains("nothing to build"), "{again:#?}");
    let releases = berth.ssh(&format!("releases {app}")).ok();
    assert!(!releases.stdout.contains("v4"), "{releases:#?}");

    // Without --build the branch moves and nothing deploys; a later ps:rebuild builds it.
    berth.ssh(&format!("git:sync {app} {url} v1")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "three\n");
    berth.ssh(&format!("ps:rebuild {app}")).ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "one\n");
}

/// Creates `app` and a developer key `bob` granted it; the key's path.
fn developer_of(berth: &Berth, app: &str) -> std::path::PathBuf {
    berth.ssh(&format!("apps:create {app}")).ok();
    let bob = make_key(berth.dir.path(), "bob");
    let public = std::fs::read(bob.with_extension("pub")).unwrap();
    berth
        .cli(&["ssh-keys:add", "bob", "--role", "developer"], &public)
        .ok();
    berth.ssh(&format!("acl:add {app} bob")).ok();
    bob
}

#[test]
fn a_sync_of_the_servers_own_files_or_through_a_command_transport_is_refused() {
    let berth = Berth::start();
    let mine = berth.app("mine");
    let theirs = berth.deployed("theirs", "secret");
    let bob = developer_of(&berth, &mine);

    let other = berth.data_dir().join(format!("repos/{theirs}.git"));
    let line = format!("git:sync --build {mine} file://{} main", other.display());
    let refused = berth.ssh_as(&bob, &line);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("admin key"), "{refused:#?}");
    let pwned = berth.dir.path().join("pwned");
    let line = format!(
        "git:sync {mine} 'ext::sh -c touch% {}' main",
        pwned.display()
    );
    let refused = berth.ssh(&line);
    assert_ne!(refused.code, 0);
    assert!(!pwned.exists());
    let releases = berth.ssh(&format!("releases {mine}")).ok();
    assert!(!releases.stdout.contains("v1"), "{releases:#?}");
}

#[test]
fn a_developer_key_cannot_make_the_server_fetch_from_its_own_network() {
    let berth = Berth::start();
    let mine = berth.app("inward");
    let bob = developer_of(&berth, &mine);
    let source = repo::create(&repo::as_refs(&repo::web_app("inward")));
    let daemon = GitDaemon::start(source.path().parent().unwrap());
    let name = source.path().file_name().unwrap().to_string_lossy();
    let inner = format!("git://127.0.0.1:{}/{name}", daemon.port);

    for url in [
        inner.as_str(),
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:2375/v1.41/containers/json",
    ] {
        let refused = berth.ssh_as(&bob, &format!("git:sync --build {mine} {url} main"));
        assert_ne!(refused.code, 0, "{url}");
        assert!(refused.stderr.contains("own network"), "{refused:#?}");
    }
    assert_eq!(release_count(&berth, &mine), 0);
    // An admin may sync from there, and may allow the host to developers.
    let report = berth.ssh(&format!("git:report {mine}")).ok();
    assert!(
        report.stdout.contains("Git sync allowed hosts:"),
        "{report:#?}"
    );
    berth
        .ssh("git:set --global sync-allowed-hosts 127.0.0.1")
        .ok();
    berth
        .ssh_as(&bob, &format!("git:sync --build {mine} {inner} main"))
        .ok();
    assert_eq!(berth.get(&Berth::host(&mine), "/").body, "inward\n");
}

/// Creates an app for the webhook tests; their repositories are on loopback, which an admin
/// allows to tokens as for an inner forge.
fn hook_app(berth: &Berth, base: &str) -> String {
    let app = berth.app(base);
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh("git:set --global sync-allowed-hosts 127.0.0.1")
        .ok();
    app
}

#[test]
fn a_deploy_token_deploys_through_the_webhook_and_its_output_is_readable_while_it_runs() {
    let berth = Berth::start();
    let app = hook_app(&berth, "hooked");
    let token = berth
        .ssh(&format!(
            "deploy-tokens:create {app} --name ci --expires 30d"
        ))
        .ok()
        .stdout
        .trim()
        .to_string();
    assert!(token.starts_with("berth_"), "{token}");

    // The build waits for a port on the host to listen: the test sees it running first.
    let gateway = support::docker_lines(&[
        "network",
        "inspect",
        "bridge",
        "-f",
        "{{(index .IPAM.Config 0).Gateway}}",
    ])
    .remove(0);
    let port = TcpListener::bind("0.0.0.0:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut files = repo::web_app("hooked");
    files[0].1 = files[0].1.replace(
        "COPY www",
        &format!("RUN echo building slowly && until nc {gateway} {port} </dev/null; do sleep 0.2; done\nCOPY www"),
    );
    let source = repo::create(&repo::as_refs(&files));
    repo::git(source.path(), &["tag", "v1"]);
    let daemon = GitDaemon::start(source.path().parent().unwrap());
    let name = source.path().file_name().unwrap().to_string_lossy();
    let remote = format!("git://127.0.0.1:{}/{name}", daemon.port);
    let body = format!(r#"{{"repository": "{remote}", "ref": "v1"}}"#);

    // A wrong token, another app's path, no token: 401 and nothing else.
    for (path, headers) in [
        (format!("/deploy/{app}"), bearer("berth_guessed")),
        (format!("/deploy/{app}"), Vec::new()),
        ("/deploy/nosuchapp".to_string(), bearer(&token)),
    ] {
        let (code, answer) = curl(&berth, &path, &headers, Some(&body));
        assert_eq!((code, answer.as_str()), (401, "unauthorized\n"), "{path}");
    }
    let listed = berth.ssh(&format!("deploys:list {app} --format json")).ok();
    assert_eq!(listed.stdout.trim(), "[]");
    assert_eq!(release_count(&berth, &app), 0);

    let (code, started) = curl(
        &berth,
        &format!("/deploy/{app}"),
        &bearer(&token),
        Some(&body),
    );
    assert_eq!(code, 202, "{started}");
    let id = field(&started, "id").to_string();
    let running = poll_deploy(&berth, &app, &id, &token, |body| {
        body.contains("building slowly")
    });
    assert_eq!(field(&running, "status"), "running", "{running}");
    let status = berth.ssh(&format!("deploys:status {app} {id}")).ok();
    assert!(
        status.stdout.contains("running") && status.stdout.contains("building slowly"),
        "{status:#?}"
    );

    // The build's nc ends once its connection is closed.
    let open = TcpListener::bind(("0.0.0.0", port)).unwrap();
    std::thread::spawn(move || drop(open.accept()));
    let done = poll_deploy(&berth, &app, &id, &token, |body| {
        field(body, "status") != "running"
    });
    assert_eq!(field(&done, "status"), "succeeded", "{done}");
    assert!(
        field(&done, "output").as_str().unwrap().contains("-----> "),
        "{done}"
    );
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "hooked\n");
    let tokens = berth
        .ssh(&format!("deploy-tokens:list {app} --format json"))
        .ok();
    assert!(
        !field(&tokens.stdout.replace(['[', ']'], ""), "last_used_at").is_null(),
        "{tokens:#?}"
    );
    let events = berth.ssh("events").ok();
    assert!(events.stdout.contains("token:ci"), "{events:#?}");

    // Revoked: 401, nothing deployed.
    berth.ssh(&format!("deploy-tokens:revoke {app} ci")).ok();
    let (code, _) = curl(
        &berth,
        &format!("/deploy/{app}"),
        &bearer(&token),
        Some(&body),
    );
    assert_eq!(code, 401);
    assert_eq!(release_count(&berth, &app), 1);
}

fn github_signature(secret: &str, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body.as_bytes());
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("X-Hub-Signature-256: sha256={hex}")
}

/// GitLab's signing headers (Standard Webhooks) for `body`, signed now with `secret`.
fn gitlab_headers(secret: &str, body: &str) -> Vec<String> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.trim_start_matches("whsec_")).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let id = format!("msg_{now}");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let tag = ring::hmac::sign(&key, format!("{id}.{now}.{body}").as_bytes());
    vec![
        "X-Gitlab-Event: Push Hook".to_string(),
        format!("webhook-id: {id}"),
        format!("webhook-timestamp: {now}"),
        format!("webhook-signature: v1,{}", b64.encode(tag.as_ref())),
    ]
}

#[test]
fn a_signed_push_webhook_deploys_and_a_wrongly_signed_one_or_a_guesser_does_not() {
    let berth = Berth::start();
    let app = hook_app(&berth, "pushed");
    let secret = berth
        .ssh(&format!(
            "deploy-tokens:create {app} --name github --webhook"
        ))
        .ok()
        .stdout
        .trim()
        .to_string();
    let source = repo::create(&repo::as_refs(&repo::web_app("pushed")));
    let daemon = GitDaemon::start(source.path().parent().unwrap());
    let name = source.path().file_name().unwrap().to_string_lossy();
    let remote = format!("git://127.0.0.1:{}/{name}", daemon.port);
    let push = |branch: &str| {
        format!(
            r#"{{"ref": "refs/heads/{branch}", "deleted": false, "repository": {{"clone_url": "{remote}"}}}}"#
        )
    };
    let delivery = std::cell::Cell::new(0);
    let headers = |body: &str, secret: &str| {
        delivery.set(delivery.get() + 1);
        vec![
            format!("X-GitHub-Delivery: {}-{}", app, delivery.get()),
            "X-GitHub-Event: push".to_string(),
            "Content-Type: application/json".to_string(),
            github_signature(secret, body),
        ]
    };
    let path = format!("/deploy/{app}");

    // Signed with another secret, or the body changed after signing: 401, nothing deployed.
    let body = push("main");
    let (code, _) = curl(&berth, &path, &headers(&body, "whsec_wrong"), Some(&body));
    assert_eq!(code, 401);
    let tampered = push("main").replace(&remote, "git://127.0.0.1:1/evil");
    let (code, _) = curl(&berth, &path, &headers(&body, &secret), Some(&tampered));
    assert_eq!(code, 401);
    // A push to another branch is acknowledged and deploys nothing.
    let feature = push("feature");
    let (code, answer) = curl(&berth, &path, &headers(&feature, &secret), Some(&feature));
    assert_eq!(code, 200, "{answer}");
    assert_eq!(release_count(&berth, &app), 0);

    let (code, started) = curl(&berth, &path, &headers(&body, &secret), Some(&body));
    assert_eq!(code, 202, "{started}");
    let id = field(&started, "id").to_string();
    let line = format!("deploys:status {app} {id} --format json");
    let done = eventually(Duration::from_secs(240), || {
        field(&berth.ssh(&line).ok().stdout, "status") != "running"
    });
    assert!(done);
    let status = berth.ssh(&line).ok();
    assert_eq!(field(&status.stdout, "status"), "succeeded", "{status:#?}");
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "pushed\n");
    // The same delivery again (a replay of a captured one, under a new delivery id, which
    // GitHub does not sign) deploys nothing.
    let (code, answer) = curl(&berth, &path, &headers(&body, &secret), Some(&body));
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains("delivered before"), "{answer}");
    assert_eq!(release_count(&berth, &app), 1);

    // GitLab's signed push (Standard Webhooks) of a new commit deploys it.
    repo::commit(source.path(), &[("www/index.html", "from gitlab\n")], "two");
    let gitlab = format!(
        r#"{{"object_kind": "push", "ref": "refs/heads/main", "after": "{}", "project": {{"git_http_url": "{remote}"}}}}"#,
        repo::head(source.path())
    );
    let (code, started) = curl(
        &berth,
        &path,
        &gitlab_headers(&secret, &gitlab),
        Some(&gitlab),
    );
    assert_eq!(code, 202, "{started}");
    let id = field(&started, "id").to_string();
    let line = format!("deploys:status {app} {id} --format json");
    let done = eventually(Duration::from_secs(240), || {
        field(&berth.ssh(&line).ok().stdout, "status") != "running"
    });
    assert!(done);
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "from gitlab\n");

    // A guesser is cut off after ten failures (the two wrong signatures above were two), even
    // once it has the right secret.
    let mut codes = Vec::new();
    for _ in 0..10 {
        codes.push(curl(&berth, &path, &headers(&body, "whsec_guess"), Some(&body)).0);
    }
    assert_eq!(codes, [[401; 8], [429; 8]].concat()[..10], "{codes:?}");
    let (code, _) = curl(&berth, &path, &headers(&body, &secret), Some(&body));
    assert_eq!(code, 429);
    assert_eq!(release_count(&berth, &app), 2);
}

#[test]
fn git_auth_logs_in_to_a_private_https_repository_and_never_shows_the_token() {
    let token = "s3cret-read-token";
    let source = repo::create(&repo::as_refs(&repo::web_app("private")));
    let scratch = tempfile::tempdir().unwrap();
    let server = HttpsGit::start(source.path().parent().unwrap(), scratch.path(), "ci", token);
    let ca = server.ca.display().to_string();
    let berth = Berth::start_with_env(&[("GIT_SSL_CAINFO", &ca)]);
    let app = berth.app("private");
    berth.ssh(&format!("apps:create {app}")).ok();
    let name = source.path().file_name().unwrap().to_string_lossy();
    let url = format!("https://localhost:{}/{name}", server.port);

    // Without a login the server refuses git, and nothing deploys.
    let refused = berth.ssh(&format!("git:sync --build {app} {url} main"));
    assert_ne!(refused.code, 0, "{refused:#?}");
    assert_eq!(release_count(&berth, &app), 0);

    let host = format!("localhost:{}", server.port);
    let stored = berth
        .ssh_input(&format!("git:auth {host} ci"), token.as_bytes())
        .ok();
    let synced = berth
        .ssh(&format!("git:sync --build {app} {url} main"))
        .ok();
    assert_eq!(berth.get(&Berth::host(&app), "/").body, "private\n");

    let file = berth.data_dir().join("git-auth.toml");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let report = berth.ssh(&format!("report {app}")).ok();
    for run in [&stored, &synced, &report] {
        assert!(!format!("{run:?}").contains(token), "{run:#?}");
    }
}

#[test]
fn a_client_hoarding_admin_connections_is_refused_more_and_others_are_still_served() {
    use std::io::Read;
    let berth = Berth::start();
    let hoard: Vec<std::net::TcpStream> = (0..16)
        .map(|_| std::net::TcpStream::connect(berth.admin).unwrap())
        .collect();
    // One more from the same address is closed as soon as the listener takes it.
    let mut extra = std::net::TcpStream::connect(berth.admin).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let read = extra.read(&mut [0u8; 16]);
    assert!(
        matches!(read, Ok(0))
            || read
                .as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "the 17th connection was kept: {read:?}"
    );
    let healthz = |from: &str| {
        let output = Command::new("curl")
            .args(["-sS", "--max-time", "10", "--interface", from])
            .arg(format!("http://{}/healthz", berth.admin))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert_eq!(healthz("127.0.0.2"), "ok\n", "another address is served");
    drop(hoard);
    let served = eventually(Duration::from_secs(20), || healthz("127.0.0.1") == "ok\n");
    assert!(
        served,
        "the hoarder's address is served again once it lets go"
    );
}
