//! End to end: `letsencrypt:*` against a real ACME server, Debian's `pebble`, on loopback.
//! `pebble-challtestsrv` is pebble's DNS: every name resolves to 127.0.0.1, where the daemon's
//! proxy answers the http-01 challenges itself. Renewal happens in the running daemon.

mod support;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::http::free_port;
use support::{eventually, repo, Berth};

/// pebble and its DNS server, stopped on drop.
struct Pebble {
    children: Vec<Child>,
    dns_management: u16,
    /// pebble's own management interface (HTTPS): what it knows of its certificates.
    management: u16,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where pebble will listen, and the certificate its HTTPS shows (the root Berth trusts).
struct PebbleSetup {
    dir: tempfile::TempDir,
    port: u16,
    ca: PathBuf,
}

impl PebbleSetup {
    fn new() -> PebbleSetup {
        let dir = tempfile::tempdir().expect("temp dir");
        let key = rcgen::KeyPair::generate().expect("key");
        let params =
            rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        let cert = params.self_signed(&key).expect("self-signed");
        let ca = dir.path().join("cert.pem");
        std::fs::write(&ca, cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), key.serialize_pem()).unwrap();
        PebbleSetup {
            dir,
            port: free_port(),
            ca,
        }
    }

    /// The daemon's `[acme]` section: pebble's directory, checked for renewals every second.
    fn berth_config(&self) -> String {
        format!(
            "[acme]\ndirectory_url = \"https://127.0.0.1:{}/dir\"\nca_file = \"{}\"\n\
             email = \"ops@example.com\"\nrenew_check_secs = 1\n",
            self.port,
            self.ca.display()
        )
    }

    /// Starts pebble validating http-01 challenges on `http_port` (the daemon's proxy).
    fn start(&self, http_port: u16) -> Pebble {
        let (dns, dns_management, management) = (free_port(), free_port(), free_port());
        let dir = self.dir.path();
        let config = dir.join("pebble.json");
        let json = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{}", self.port),
            "managementListenAddress": format!("127.0.0.1:{management}"),
            "certificate": self.ca,
            "privateKey": dir.join("key.pem"),
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        std::fs::write(&config, json.to_string()).unwrap();
        let log = |name: &str| std::fs::File::create(dir.join(name)).expect("log file");
        let challtestsrv = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-management", &format!("127.0.0.1:{dns_management}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .stdout(log("dns.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("start pebble-challtestsrv (Debian package pebble)");
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(&config)
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .stdout(log("pebble.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("start pebble (Debian package pebble)");
        let pebble = Pebble {
            children: vec![challtestsrv, pebble],
            dns_management,
            management,
        };
        for port in [self.port, dns_management] {
            let up = eventually(Duration::from_secs(30), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            });
            assert!(up, "pebble never listened on {port}: {}", self.log());
        }
        pebble
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }
}

impl Pebble {
    /// Makes pebble's DNS answer `host` with `address` (where nothing listens).
    fn resolve(&self, host: &str, address: &str) {
        let body = serde_json::json!({"host": host, "addresses": [address]}).to_string();
        let status = Command::new("curl")
            .args(["-sS", "-f", "-X", "POST", "-d", &body])
            .arg(format!("http://127.0.0.1:{}/add-a", self.dns_management))
            .status()
            .expect("run curl");
        assert!(status.success());
    }

    /// What pebble says of the certificate with this serial (`Valid`, `Revoked`).
    fn status_of(&self, serial: &str) -> String {
        let output = Command::new("curl")
            .args(["-sS", "-k"])
            .arg(format!(
                "https://127.0.0.1:{}/cert-status-by-serial/{serial}",
                self.management
            ))
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// The serial of the first certificate of a PEM chain, in hex.
fn serial_of(pem: &str) -> String {
    let mut openssl = Command::new("openssl")
        .args(["x509", "-noout", "-serial"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run openssl");
    use std::io::Write;
    openssl
        .stdin
        .take()
        .expect("stdin")
        .write_all(pem.as_bytes())
        .expect("write the certificate");
    let output = openssl.wait_with_output().expect("openssl output");
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim().trim_start_matches("serial=").to_string()
}

/// The serial and issuer of the certificate the proxy shows for `host` (openssl's client).
fn served(berth: &Berth, host: &str) -> String {
    let hello = Command::new("openssl")
        .args(["s_client", "-connect", &berth.https.to_string()])
        .args(["-servername", host])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("run openssl s_client");
    let mut x509 = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-issuer"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run openssl x509");
    use std::io::Write;
    let _ = x509.stdin.take().expect("stdin").write_all(&hello.stdout);
    let out = x509.wait_with_output().expect("openssl x509");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn line_of<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines().find(|l| l.contains(label)).unwrap_or("")
}

/// Installs a plugin whose `post-certs-update` trigger says which app's certificate changed
/// and who changed it, and appends that to the returned file (in the returned directory).
fn certs_plugin(berth: &Berth) -> (tempfile::TempDir, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let updates = dir.path().join("updates");
    let plugin = dir.path().join("plugin");
    std::fs::create_dir(&plugin).unwrap();
    std::fs::write(
        plugin.join("plugin.toml"),
        "name = \"certwatch\"\nversion = \"1\"\ndescription = \"Watches certificates\"\n",
    )
    .unwrap();
    let trigger = plugin.join("post-certs-update");
    std::fs::write(
        &trigger,
        format!(
            "#!/bin/sh\necho \"certificate of $1 updated by $BERTH_KEY\" | tee -a {}\n",
            updates.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&trigger, std::fs::Permissions::from_mode(0o755)).unwrap();
    berth
        .ssh(&format!("plugin:install {}", plugin.display()))
        .ok();
    (dir, updates)
}

#[test]
fn letsencrypt_obtains_serves_and_renews_certificates_from_pebble() {
    let setup = PebbleSetup::new();
    let berth = Berth::start_with(&setup.berth_config());
    let pebble = setup.start(berth.http.port());
    let app = berth.app("shop");
    let source = repo::create(&repo::as_refs(&repo::web_app("the shop")));
    berth.push(source.path(), &app, "main").ok();
    let domain = format!("{app}.example.test");
    berth.ssh(&format!("domains:set {app} {domain}")).ok();
    let (_plugin, updates) = certs_plugin(&berth);

    let enabled = berth.ssh(&format!("letsencrypt:enable {app}"));
    assert_eq!(enabled.code, 0, "{enabled:#?}\n{}", setup.log());
    assert!(
        enabled.stdout.contains(&format!("- Domain '{domain}'"))
            && enabled.stdout.contains("Certificate retrieved"),
        "{enabled:#?}"
    );
    assert!(
        enabled
            .stdout
            .contains(&format!("certificate of {app} updated by alice")),
        "post-certs-update fired: {enabled:#?}"
    );
    let report = berth.ssh(&format!("certs:report {app}")).ok().stdout;
    assert!(
        line_of(&report, "Ssl issuer").contains("Pebble"),
        "{report}"
    );
    assert!(
        line_of(&report, "Ssl verified")
            .ends_with("not verified: issued by an authority this server does not trust"),
        "pebble's root is not one of the system's: {report}"
    );
    let first = served(&berth, &domain);
    assert!(first.contains("Pebble"), "{first}");
    let https = berth.curl_https(&domain, "/", &[]).ok();
    assert!(https.stdout.contains("the shop"), "{https:#?}");
    assert_eq!(berth.get(&domain, "/").status, 301, "HTTP now redirects");
    assert_eq!(
        berth.ssh(&format!("letsencrypt:active {app}")).ok().stdout,
        "true\n"
    );
    let list = berth.ssh("letsencrypt:list").ok().stdout;
    assert!(line_of(&list, &app).contains("d, "), "{list}");
    let nothing = berth.ssh(&format!("letsencrypt:auto-renew {app}")).ok();
    assert!(
        nothing.stdout.contains("No certificate is due"),
        "{nothing:#?}"
    );

    // A grace period longer than the certificate's life: the daemon renews it, no restart.
    berth
        .ssh(&format!("letsencrypt:set {app} graceperiod 315360000"))
        .ok();
    let renewed = eventually(Duration::from_secs(90), || {
        let now = served(&berth, &domain);
        now.contains("Pebble") && now != first
    });
    assert!(renewed, "never renewed: {}", berth.log());
    let renewal = format!("certificate of {app} updated by berth-watch");
    assert!(
        eventually(Duration::from_secs(10), || std::fs::read_to_string(
            &updates
        )
        .is_ok_and(|text| text.contains(&renewal))),
        "the daemon's renewal fired post-certs-update"
    );
    berth
        .ssh(&format!("letsencrypt:set {app} graceperiod"))
        .ok();

    // A domain pebble cannot validate: renewal fails clearly and the current certificate stays.
    let bad = format!("bad.{app}.example.test");
    pebble.resolve(&bad, "127.0.0.2");
    berth.ssh(&format!("domains:add {app} {bad}")).ok();
    let failed = berth.ssh(&format!("letsencrypt:auto-renew {app}"));
    assert_ne!(failed.code, 0, "{failed:#?}");
    assert!(
        failed
            .stderr
            .contains(&format!("validation failed for {bad}")),
        "{failed:#?}"
    );
    let kept = served(&berth, &domain);
    assert!(berth.ssh(&format!("letsencrypt:auto-renew {app}")).code != 0);
    assert_eq!(
        served(&berth, &domain),
        kept,
        "the current certificate stays"
    );
    assert!(berth
        .curl_https(&domain, "/", &[])
        .ok()
        .stdout
        .contains("the shop"));
    // Meanwhile the daemon's own checks fail too, and wait longer after each failure.
    let backing_off = eventually(Duration::from_secs(60), || {
        berth.log().contains("failures=3 retry_in_secs=4")
    });
    assert!(backing_off, "no back-off: {}", berth.log());

    berth.ssh(&format!("letsencrypt:disable {app}")).ok();
    let report = berth.ssh(&format!("certs:report {app}")).ok().stdout;
    assert!(
        line_of(&report, "Ssl enabled").contains("false"),
        "{report}"
    );
    assert_eq!(
        berth.get(&domain, "/").status,
        200,
        "no redirect without it"
    );
    let again = berth.ssh(&format!("letsencrypt:disable {app}"));
    assert!(again.stderr.contains("is not enabled"), "{again:#?}");

    // Revocation: at the CA, then the certificate goes and renewals stop.
    berth.ssh(&format!("domains:remove {app} {bad}")).ok();
    berth.ssh(&format!("letsencrypt:enable {app}")).ok();
    let crt = berth.ssh(&format!("certs:show {app} crt")).ok().stdout;
    let serial = serial_of(&crt);
    assert!(pebble.status_of(&serial).contains("Valid"), "{serial}");
    let revoked = berth.ssh(&format!("letsencrypt:revoke {app}")).ok();
    assert!(
        revoked.stdout.contains("Revoked the certificate"),
        "{revoked:#?}"
    );
    let status = pebble.status_of(&serial);
    assert!(status.contains("Revoked"), "{status}");
    let report = berth.ssh(&format!("certs:report {app}")).ok().stdout;
    assert!(
        line_of(&report, "Ssl enabled").contains("false"),
        "{report}"
    );
    assert_eq!(
        berth.ssh(&format!("letsencrypt:active {app}")).ok().stdout,
        "false\n"
    );
    let again = berth.ssh(&format!("letsencrypt:revoke {app}"));
    assert!(again.stderr.contains("is not enabled"), "{again:#?}");
}

#[test]
fn letsencrypt_refuses_apps_without_a_name_http_01_can_validate() {
    let setup = PebbleSetup::new();
    let berth = Berth::start_with(&setup.berth_config());
    let app = berth.app("wild");
    berth.ssh(&format!("apps:create {app}")).ok();
    berth
        .ssh(&format!("domains:set {app} *.{app}.example.test"))
        .ok();
    let refused = berth.ssh(&format!("letsencrypt:enable {app}"));
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("wildcard domains cannot be"),
        "{refused:#?}"
    );
    assert_eq!(
        berth.ssh(&format!("letsencrypt:active {app}")).ok().stdout,
        "false\n"
    );
    let unset = berth.ssh("letsencrypt:set --global email not-an-address");
    assert!(unset.stderr.contains("Invalid email"), "{unset:#?}");

    // dokku-letsencrypt's setup steps run, with nothing to do.
    let cron = berth.ssh("letsencrypt:cron-job --add").ok();
    assert!(cron.stdout.contains("no cron job is needed"), "{cron:#?}");
    let remove = berth.ssh("letsencrypt:cron-job --remove");
    assert_eq!(remove.code, 1, "renewals cannot be turned off: {remove:#?}");
    let cleanup = berth.ssh(&format!("letsencrypt:cleanup {app}")).ok();
    assert!(
        cleanup.stdout.contains("nothing to clean up"),
        "{cleanup:#?}"
    );
}
