//! `berth doctor`: is this host ready to run Berth? One line per check, `ok`, `warn` or `fail`
//! with what to do; the command exits non-zero on any `fail`. It only looks: it binds a port
//! for an instant to see that it is free, and changes nothing else.

use std::net::SocketAddr;
use std::path::Path;

use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

/// One check's outcome: what was found, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub what: String,
    pub fix: Option<String>,
}

impl Finding {
    fn ok(what: String) -> Finding {
        Finding {
            level: Level::Ok,
            what,
            fix: None,
        }
    }

    fn bad(level: Level, what: String, fix: &str) -> Finding {
        Finding {
            level,
            what,
            fix: Some(fix.to_string()),
        }
    }

    /// `ok    what`, `warn  what: fix`.
    pub fn line(&self) -> String {
        let level = match self.level {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "fail",
        };
        match &self.fix {
            Some(fix) => format!("{level:<5} {}; {fix}", self.what),
            None => format!("{level:<5} {}", self.what),
        }
    }
}

/// Every check, in order. `daemon_running`: whether a Berth daemon answers on the control
/// socket (the listeners it holds are then ours, not taken).
pub async fn run(config: &Config, daemon_running: bool) -> Vec<Finding> {
    let mut findings = docker(config).await;
    findings.extend(listeners(config, daemon_running));
    findings.push(data_dir(&config.data_dir));
    findings.extend(
        crate::state::unreadable_files(&config.data_dir)
            .into_iter()
            .map(|(path, why)| {
                Finding::bad(
                    Level::Fail,
                    format!("{} is unreadable: {why}", path.display()),
                    "restore it from a backup, or fix it by hand, before starting Berth",
                )
            }),
    );
    findings.push(dns(&config.global_domain).await);
    findings.push(disk(&config.data_dir));
    findings.push(clock());
    findings
}

async fn docker(config: &Config) -> Vec<Finding> {
    let host = &config.docker_host;
    let image = &config.build.stack_image;
    match crate::docker::probe(host, image).await {
        Err(why) => vec![Finding::bad(
            Level::Fail,
            format!("Docker does not answer at {host}: {why}"),
            "start it (systemctl start docker), or set docker_host in the config",
        )],
        Ok(facts) => vec![
            Finding::ok(format!(
                "Docker {} (API {}) answers at {host}",
                facts.version, facts.api
            )),
            match facts.has_image {
                true => Finding::ok(format!("the buildpack stack image {image} is present")),
                false => Finding::bad(
                    Level::Warn,
                    format!("the buildpack stack image {image} is missing (Dockerfile builds do not need it)"),
                    "make it with scripts/stack-image.sh, or pull one and set [build] stack_image",
                ),
            },
        ],
    }
}

fn listeners(config: &Config, daemon_running: bool) -> Vec<Finding> {
    let mut wanted = vec![
        ("SSH", "[ssh] listen", config.ssh.listen),
        ("HTTP", "[proxy] http_listen", config.proxy.http_listen),
        ("HTTPS", "[proxy] https_listen", config.proxy.https_listen),
    ];
    if let Ok(admin) = config.admin.listen.parse::<SocketAddr>() {
        wanted.push(("admin", "[admin] listen", admin));
    }
    wanted
        .into_iter()
        .map(|(name, key, address)| match std::net::TcpListener::bind(address) {
            Ok(_) => Finding::ok(format!("the {name} port {address} is free")),
            Err(_) if daemon_running => {
                Finding::ok(format!("the {name} port {address} is Berth's (the daemon runs)"))
            }
            Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => Finding::bad(
                Level::Fail,
                format!("the {name} port {address} cannot be bound: {err}"),
                "run Berth as root, through its systemd sockets, or with CAP_NET_BIND_SERVICE",
            ),
            Err(err) => Finding::bad(
                Level::Fail,
                format!("the {name} port {address} is taken by another program: {err}"),
                &format!("stop it (ss -ltnp shows which), or set {key}; under systemd, berth's own sockets hold it while berth.service is stopped"),
            ),
        })
        .collect()
}

fn data_dir(dir: &Path) -> Finding {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(dir) else {
        return Finding::bad(
            Level::Warn,
            format!("the data dir {} does not exist yet", dir.display()),
            "the daemon makes it (mode 0700) when it first starts",
        );
    };
    // SAFETY: geteuid cannot fail and touches no memory.
    let uid = unsafe { libc::geteuid() };
    if meta.uid() != uid {
        return Finding::bad(
            Level::Fail,
            format!(
                "the data dir {} belongs to uid {}, not to this user (uid {uid})",
                dir.display(),
                meta.uid()
            ),
            &format!("chown -R {uid} {}", dir.display()),
        );
    }
    match meta.mode() & 0o077 {
        0 => Finding::ok(format!(
            "the data dir {} is this user's, mode {:o}",
            dir.display(),
            meta.mode() & 0o777
        )),
        _ => Finding::bad(
            Level::Fail,
            format!(
                "the data dir {} is open to others (mode {:o}): it holds keys and certificates",
                dir.display(),
                meta.mode() & 0o777
            ),
            &format!("chmod 700 {}", dir.display()),
        ),
    }
}

async fn dns(domain: &str) -> Finding {
    if domain.is_empty() {
        return Finding::bad(
            Level::Warn,
            "no global domain: apps answer only on domains added to them".into(),
            "set global_domain and a wildcard DNS record for it",
        );
    }
    if domain == "localhost" || domain.ends_with(".localhost") {
        return Finding::bad(
            Level::Warn,
            format!("the global domain {domain} reaches this server only"),
            "set global_domain to a domain with a wildcard record (*.apps.example.com) pointing here",
        );
    }
    let probe = format!("berth-doctor-{:08x}.{domain}:80", rand::random::<u32>());
    match tokio::net::lookup_host(probe).await {
        Ok(addresses) => {
            let mut ips: Vec<String> = addresses.map(|a| a.ip().to_string()).collect();
            ips.dedup();
            Finding::ok(format!("*.{domain} resolves (wildcard) to {}", ips.join(", ")))
        }
        Err(_) => Finding::bad(
            Level::Warn,
            format!("*.{domain} does not resolve: there is no wildcard record"),
            &format!("add a DNS record *.{domain} pointing at this server, or give each app a domain (domains:add)"),
        ),
    }
}

fn disk(dir: &Path) -> Finding {
    let at = dir
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let Ok(path) = std::ffi::CString::new(at.as_os_str().as_encoded_bytes()) else {
        return Finding::bad(Level::Warn, "cannot check free disk".into(), "check df -h");
    };
    // SAFETY: statvfs writes only into `stats`, a properly sized, owned struct.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
        return Finding::bad(Level::Warn, "cannot check free disk".into(), "check df -h");
    }
    let free = stats.f_bavail as u64 * stats.f_frsize as u64;
    let total = (stats.f_blocks as u64 * stats.f_frsize as u64).max(1);
    let inodes = (stats.f_favail as u64, (stats.f_files as u64).max(1));
    let gib = |bytes: u64| bytes as f64 / (1u64 << 30) as f64;
    let what = format!(
        "{:.1} GiB ({}%) and {}% of inodes free under {}",
        gib(free),
        free * 100 / total,
        inodes.0 * 100 / inodes.1,
        at.display()
    );
    let fix = "free space (docker system prune removes unused images) or grow the disk";
    if free < 1 << 30 || (stats.f_files > 0 && inodes.0 * 100 < inodes.1) {
        Finding::bad(Level::Fail, what, fix)
    } else if free < 5 << 30 || free * 10 < total || (stats.f_files > 0 && inodes.0 * 10 < inodes.1)
    {
        Finding::bad(Level::Warn, what, fix)
    } else {
        Finding::ok(what)
    }
}

fn clock() -> Finding {
    // SAFETY: with `modes` 0, adjtimex only reads the kernel's clock state into `timex`.
    let mut timex: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut timex) };
    if state == libc::TIME_ERROR || timex.status & libc::STA_UNSYNC != 0 {
        return Finding::bad(
            Level::Warn,
            format!(
                "the clock ({} UTC) is not synchronised",
                crate::clock::utc(crate::clock::now_unix()).format("%Y-%m-%d %H:%M:%S")
            ),
            "enable NTP (systemd-timesyncd or chrony): certificates, cron and logs depend on it",
        );
    }
    Finding::ok("the clock is synchronised (NTP)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_dir_open_to_others_fails_and_a_private_one_passes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let open = data_dir(dir.path());
        assert_eq!(open.level, Level::Fail);
        assert!(open.line().contains("; chmod 700 "), "{}", open.line());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(data_dir(dir.path()).level, Level::Ok);
        assert_eq!(data_dir(&dir.path().join("none")).level, Level::Warn);
    }

    #[test]
    fn a_port_taken_by_another_program_fails_unless_berth_holds_it() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let config = Config {
            proxy: crate::config::ProxyConfig {
                http_listen: taken.local_addr().unwrap(),
                ..Default::default()
            },
            ..Default::default()
        };
        let http = |running| {
            listeners(&config, running)
                .into_iter()
                .find(|f| f.what.contains("HTTP port"))
                .unwrap()
        };
        assert_eq!(http(false).level, Level::Fail);
        assert_eq!(http(true).level, Level::Ok);
    }
}
