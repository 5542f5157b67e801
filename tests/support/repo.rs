//! App sources for tests: real git repositories committed with the real `git`.

use std::path::Path;
use std::process::Command;

pub fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Berth Tests",
            "-c",
            "user.email=tests@berth.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The commit `HEAD` names.
pub fn head(dir: &Path) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .expect("git rev-parse");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A repository on `main` holding `files`, committed.
pub fn create(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("repo dir");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    commit(dir.path(), files, "initial");
    dir
}

/// Writes `files` (path, content) and commits them.
pub fn commit(dir: &Path, files: &[(&str, &str)], message: &str) {
    for (path, content) in files {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&full, content).expect("write file");
        if path.contains("cgi-bin/") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--allow-empty", "-m", message]);
}

/// A busybox httpd app serving `www/` on $PORT; `index.html` holds `marker`.
pub fn web_app(marker: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "Dockerfile",
            "FROM berth-base/busybox:latest\nCOPY www /www\n\
             CMD [\"/bin/sh\", \"-c\", \"exec httpd -f -p \\\"$PORT\\\" -h /www\"]\n"
                .to_string(),
        ),
        ("www/index.html", format!("{marker}\n")),
        (
            "www/cgi-bin/env",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv\n".to_string(),
        ),
    ]
}

/// A shell function `redis` running redis-cli against `REDIS_URL` (`redis://:PASSWORD@HOST:PORT`,
/// read as app clients read it: redis-cli 7.0's `-u` sends an empty user name).
const REDIS_FROM_URL: &str = "redis() {\n  rest=${REDIS_URL#redis://:}\n  at=${rest##*@}\n  \
     REDISCLI_AUTH=${rest%@*} redis-cli -h \"${at%:*}\" -p \"${at##*:}\" \"$@\" 2>&1\n}";

/// An app on the test database images' Debian (their `psql` and `redis-cli`) serving CGI
/// scripts with busybox's httpd: `/cgi-bin/pg-write?WORD` and `/cgi-bin/redis-write?WORD` store
/// a word through `DATABASE_URL` / `REDIS_URL`, `pg-read` and `redis-read` answer what is
/// stored.
pub fn service_app() -> Vec<(&'static str, String)> {
    let cgi =
        |body: &str| format!("#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n{body}\n");
    vec![
        (
            "Dockerfile",
            "FROM berth-base/busybox:latest AS busybox\n\
             FROM berth-test/services-base:bookworm\n\
             COPY --from=busybox /bin/busybox /bin/busybox\nCOPY www /www\n\
             CMD [\"/bin/sh\", \"-c\", \"exec /bin/busybox httpd -f -p \\\"$PORT\\\" -h /www\"]\n"
                .to_string(),
        ),
        ("www/index.html", "services\n".to_string()),
        (
            "www/cgi-bin/pg-write",
            cgi("psql \"$DATABASE_URL\" -qtA -c \"SET client_min_messages TO warning; CREATE TABLE IF NOT EXISTS notes (body text); INSERT INTO notes VALUES ('$QUERY_STRING')\" 2>&1 && echo written"),
        ),
        (
            "www/cgi-bin/pg-read",
            cgi("psql \"$DATABASE_URL\" -qtA -c 'SELECT body FROM notes ORDER BY body' 2>&1"),
        ),
        (
            "www/cgi-bin/redis-write",
            cgi(&format!("{REDIS_FROM_URL}\nredis SET word \"$QUERY_STRING\"")),
        ),
        (
            "www/cgi-bin/redis-read",
            cgi(&format!("{REDIS_FROM_URL}\nredis GET word")),
        ),
    ]
}

/// Commits a new version of a `web_app` repository that serves `marker` and whose build takes
/// `seconds` longer (a deploy to interrupt or overlap).
pub fn commit_slow(dir: &Path, marker: &str, seconds: u32) {
    let slow = format!("{}RUN sleep {seconds}\n", web_app("x")[0].1);
    let index = format!("{marker}\n");
    commit(
        dir,
        &[("Dockerfile", &slow), ("www/index.html", &index)],
        "slow",
    );
}

pub fn as_refs<'a>(files: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    files.iter().map(|(p, c)| (*p, c.as_str())).collect()
}

/// A repository on `main` holding a copy of the fixture directory `source` (modes kept).
pub fn from_dir(source: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("repo dir");
    copy_dir(source, dir.path());
    git(dir.path(), &["init", "-q", "-b", "main"]);
    commit(dir.path(), &[], "initial");
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

/// Writes an executable script.
pub fn script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A repository holding `tests/apps/protocol` (headers echo, uploads, server-sent events, a
/// WebSocket echo), compiled here as a static binary and run `FROM scratch`.
pub fn protocol_app() -> tempfile::TempDir {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apps/protocol/main.rs");
    let dir = create(&[(
        "Dockerfile",
        "FROM scratch\nCOPY server /server\nEXPOSE 5000\nCMD [\"/server\"]\n",
    )]);
    let output = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .args([
            "--edition",
            "2021",
            "-O",
            "-C",
            "target-feature=+crt-static",
            "-o",
        ])
        .arg(dir.path().join("server"))
        .arg(&source)
        .output()
        .expect("run rustc");
    assert!(
        output.status.success(),
        "rustc {}: {}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    commit(dir.path(), &[], "the protocol app");
    dir
}
