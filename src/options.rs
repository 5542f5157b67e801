//! `docker-options`: the safe subset of `docker run`/`docker build` flags Berth accepts, parsed
//! into types. Options are stored as the user typed them (normalized) and parsed again when
//! used; anything outside the subset is refused with the reason.

use std::collections::BTreeMap;

use crate::size::Size;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("{0} is not supported: {1}")]
    Refused(String, &'static str),
    #[error("{} is not a docker option Berth supports (supported: {SUPPORTED})", crate::names::shown(.0))]
    Unknown(String),
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("invalid value for {flag}: \"{shown}\"", flag = .0, shown = crate::names::shown(.1))]
    BadValue(&'static str, String),
    #[error("{0} only applies to the {1} phase")]
    WrongPhase(String, &'static str),
}

const SUPPORTED: &str = "--add-host, --dns, --label, --log-opt, --shm-size, --ulimit, --user, --workdir for deploy/run; --build-arg, --memory, --cpus, --cpu-shares, --cpuset-cpus for build";

/// The most memory a build may be given: the engine client passes a build's limit as a 32-bit
/// byte count.
const MAX_BUILD_MEMORY: i64 = i32::MAX as i64;

/// A CPU period of 100 ms, as `docker run --cpus` uses: `--cpus 1.5` is a quota of 150 ms.
pub const CPU_PERIOD_MICROS: i64 = 100_000;

/// What a build may use (`docker-options:add <app> build --memory 1g --cpus 1`); unset is
/// unlimited. Resource limits (`resource:limit`) apply to the app's containers, not its builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildLimits {
    /// Bytes, at most `MAX_BUILD_MEMORY`.
    pub memory: Option<i64>,
    /// Microseconds of CPU time per `CPU_PERIOD_MICROS`.
    pub cpu_quota: Option<i64>,
    pub cpu_shares: Option<i64>,
    /// Which CPUs (`0-1`, `0,2`).
    pub cpuset_cpus: Option<String>,
}

/// The parts of a container's settings docker-options can change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerOptions {
    pub extra_hosts: Vec<String>,
    pub dns: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub log_opts: BTreeMap<String, String>,
    pub shm_size: Option<i64>,
    /// name → (soft, hard)
    pub ulimits: BTreeMap<String, (i64, i64)>,
    pub user: Option<String>,
    pub workdir: Option<String>,
}

/// One parsed option.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Parsed {
    AddHost(String),
    Dns(String),
    Label(String, String),
    LogOpt(String, String),
    ShmSize(i64),
    Ulimit(String, i64, i64),
    User(String),
    Workdir(String),
    BuildArg(String, String),
    /// A build limit: `--memory`, `--cpus`, `--cpu-shares`, `--cpuset-cpus`.
    Limit(Limit),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Limit {
    Memory(i64),
    CpuQuota(i64),
    CpuShares(i64),
    CpusetCpus(String),
}

fn plain(value: &str) -> bool {
    !value.is_empty() && !value.chars().any(|c| c.is_control() || c.is_whitespace())
}

fn key_value(flag: &'static str, value: &str) -> Result<(String, String), OptionError> {
    match value.split_once('=') {
        Some((k, v)) if plain(k) && !v.chars().any(char::is_control) => {
            Ok((k.to_string(), v.to_string()))
        }
        _ => Err(OptionError::BadValue(flag, value.to_string())),
    }
}

fn parse_one(flag: &str, value: &str) -> Result<Parsed, OptionError> {
    let bad = |name: &'static str| OptionError::BadValue(name, value.to_string());
    Ok(match flag {
        "--add-host" => match value.split_once(':') {
            Some((host, ip)) if plain(host) && ip.parse::<std::net::IpAddr>().is_ok() => {
                Parsed::AddHost(value.to_string())
            }
            _ => return Err(bad("--add-host")),
        },
        "--dns" => {
            value
                .parse::<std::net::IpAddr>()
                .map_err(|_| bad("--dns"))?;
            Parsed::Dns(value.to_string())
        }
        "--label" | "-l" => {
            let (k, v) = key_value("--label", value)?;
            if k.starts_with("berth.") {
                return Err(OptionError::Refused(
                    format!("--label {k}"),
                    "berth.* labels are Berth's own",
                ));
            }
            Parsed::Label(k, v)
        }
        "--log-opt" => {
            let (k, v) = key_value("--log-opt", value)?;
            Parsed::LogOpt(k, v)
        }
        "--shm-size" => {
            let bytes = parse_size(value).ok_or_else(|| bad("--shm-size"))?;
            Parsed::ShmSize(bytes)
        }
        "--ulimit" => parse_ulimit(value)?,
        "--user" | "-u" if plain(value) => Parsed::User(value.to_string()),
        "--workdir" | "-w" if value.starts_with('/') && plain(value) => {
            Parsed::Workdir(value.to_string())
        }
        "--build-arg" => {
            let (k, v) = key_value("--build-arg", value)?;
            Parsed::BuildArg(k, v)
        }
        "--user" | "-u" => return Err(bad("--user")),
        "--workdir" | "-w" => return Err(bad("--workdir")),
        "--privileged" | "--cap-add" | "--security-opt" | "--device" | "--pid" | "--ipc"
        | "--userns" | "--uts" | "--cgroupns" => {
            return Err(OptionError::Refused(
                flag.to_string(),
                "it would give the app power over the host",
            ))
        }
        "-v" | "--volume" | "--mount" => {
            return Err(OptionError::Refused(flag.to_string(), "use storage:mount"))
        }
        "-p" | "--publish" | "--network" | "--net" => {
            return Err(OptionError::Refused(
                flag.to_string(),
                "Berth's proxy and network own routing",
            ))
        }
        "-m" | "--memory" => Parsed::Limit(Limit::Memory(
            parse_size(value)
                .filter(|b| *b <= MAX_BUILD_MEMORY)
                .ok_or_else(|| bad("--memory (a size up to 2047m)"))?,
        )),
        "--cpus" => Parsed::Limit(Limit::CpuQuota(
            parse_cpus(value).ok_or_else(|| bad("--cpus"))?,
        )),
        "--cpu-shares" => Parsed::Limit(Limit::CpuShares(
            value
                .parse::<i64>()
                .ok()
                .filter(|n| (2..=262_144).contains(n))
                .ok_or_else(|| bad("--cpu-shares"))?,
        )),
        "--cpuset-cpus"
            if !value.is_empty()
                && value
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ',' || c == '-') =>
        {
            Parsed::Limit(Limit::CpusetCpus(value.to_string()))
        }
        "--cpuset-cpus" => return Err(bad("--cpuset-cpus")),
        "--memory-reservation" | "--memory-swap" => {
            return Err(OptionError::Refused(flag.to_string(), "use resource:limit"))
        }
        "--restart" => {
            return Err(OptionError::Refused(
                flag.to_string(),
                "use ps:set restart-policy",
            ))
        }
        "-e" | "--env" | "--env-file" => {
            return Err(OptionError::Refused(flag.to_string(), "use config:set"))
        }
        other => return Err(OptionError::Unknown(other.to_string())),
    })
}

/// The limits `--ulimit` may set, each with its largest value. Others (`rtprio`, `rttime`,
/// `nice`, `memlock`…) are refused: real-time priority or locked memory lets an app starve the
/// host. `core` and `stack` are bytes.
const ULIMITS: [(&str, i64); 4] = [
    ("nofile", 1 << 20),
    ("nproc", 1 << 16),
    ("core", 1 << 30),
    ("stack", 1 << 28),
];

/// `nofile=1024:2048` or `nofile=1024` (soft = hard).
fn parse_ulimit(value: &str) -> Result<Parsed, OptionError> {
    let bad = || OptionError::BadValue("--ulimit", value.to_string());
    let (name, limits) = value.split_once('=').ok_or_else(bad)?;
    let Some((_, cap)) = ULIMITS.iter().find(|(known, _)| *known == name) else {
        return Err(OptionError::Refused(
            format!("--ulimit {}", crate::names::shown(name)),
            "only nofile, nproc, core and stack may be set",
        ));
    };
    let (soft, hard) = limits.split_once(':').unwrap_or((limits, limits));
    match (soft.parse::<i64>(), hard.parse::<i64>()) {
        (Ok(soft), Ok(hard)) if 0 <= soft && soft <= hard && hard <= *cap => {
            Ok(Parsed::Ulimit(name.to_string(), soft, hard))
        }
        _ => Err(OptionError::BadValue(
            "--ulimit (soft:hard, soft at most hard, within the limit's cap)",
            value.to_string(),
        )),
    }
}

/// `64m`, `1g`, bytes → bytes, more than none.
fn parse_size(raw: &str) -> Option<i64> {
    Size::parse(raw)
        .and_then(|size| i64::try_from(size.bytes()).ok())
        .filter(|bytes| *bytes > 0)
}

/// `1.5` CPUs → a quota of 150,000 µs per 100,000 µs period (at most 1,000 CPUs, at least 0.01).
fn parse_cpus(raw: &str) -> Option<i64> {
    let cpus: f64 = raw.parse().ok()?;
    let quota = (cpus * CPU_PERIOD_MICROS as f64).round();
    (cpus.is_finite() && (1_000.0..=1e8).contains(&quota)).then_some(quota as i64)
}

/// Splits an option line (`--add-host a:1.2.3.4`, `--shm-size=64m`) into parsed options,
/// normalized to `--flag=value` strings for storage.
pub fn normalize(words: &[String]) -> Result<Vec<String>, OptionError> {
    let mut out = Vec::new();
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        let (flag, value) = match word.split_once('=') {
            Some((flag, value)) if flag.starts_with('-') => (flag.to_string(), value.to_string()),
            _ if word.starts_with('-') => {
                let needs_value = !matches!(word.as_str(), "--privileged");
                let value = if needs_value {
                    iter.next()
                        .cloned()
                        .ok_or_else(|| OptionError::MissingValue(word.clone()))?
                } else {
                    String::new()
                };
                (word.clone(), value)
            }
            _ => return Err(OptionError::Unknown(word.clone())),
        };
        parse_one(&flag, &value)?;
        out.push(format!("{flag}={value}"));
    }
    Ok(out)
}

fn parse_stored(stored: &str) -> Option<Parsed> {
    let (flag, value) = stored.split_once('=')?;
    parse_one(flag, value).ok()
}

/// The container settings from stored deploy/run options (invalid entries are skipped: they
/// were validated when added).
pub fn container_options(stored: &[String]) -> ContainerOptions {
    let mut options = ContainerOptions::default();
    for parsed in stored.iter().filter_map(|s| parse_stored(s)) {
        match parsed {
            Parsed::AddHost(h) => options.extra_hosts.push(h),
            Parsed::Dns(d) => options.dns.push(d),
            Parsed::Label(k, v) => {
                options.labels.insert(k, v);
            }
            Parsed::LogOpt(k, v) => {
                options.log_opts.insert(k, v);
            }
            Parsed::ShmSize(b) => options.shm_size = Some(b),
            Parsed::Ulimit(n, s, h) => {
                options.ulimits.insert(n, (s, h));
            }
            Parsed::User(u) => options.user = Some(u),
            Parsed::Workdir(w) => options.workdir = Some(w),
            Parsed::BuildArg(..) | Parsed::Limit(_) => {}
        }
    }
    options
}

/// The build limits from stored build options.
pub fn build_limits(stored: &[String]) -> BuildLimits {
    let mut limits = BuildLimits::default();
    for parsed in stored.iter().filter_map(|s| parse_stored(s)) {
        match parsed {
            Parsed::Limit(Limit::Memory(bytes)) => limits.memory = Some(bytes),
            Parsed::Limit(Limit::CpuQuota(quota)) => limits.cpu_quota = Some(quota),
            Parsed::Limit(Limit::CpuShares(shares)) => limits.cpu_shares = Some(shares),
            Parsed::Limit(Limit::CpusetCpus(cpus)) => limits.cpuset_cpus = Some(cpus),
            _ => {}
        }
    }
    limits
}

/// The build args from stored build options.
pub fn build_args(stored: &[String]) -> BTreeMap<String, String> {
    stored
        .iter()
        .filter_map(|s| match parse_stored(s) {
            Some(Parsed::BuildArg(k, v)) => Some((k, v)),
            _ => None,
        })
        .collect()
}

/// Checks each option fits the phase: build args and limits only for build, the rest not for
/// build. An app's containers get their limits from `resource:limit`.
pub fn check_phase(options: &[String], phase: &str) -> Result<(), OptionError> {
    for option in options {
        let parsed = parse_stored(option);
        match (phase, &parsed) {
            ("deploy" | "run", Some(Parsed::Limit(_))) => {
                let flag = option.split_once('=').map_or(option.as_str(), |(f, _)| f);
                return Err(OptionError::Refused(
                    format!("{flag} for {phase}"),
                    "use resource:limit",
                ));
            }
            ("deploy" | "run", Some(Parsed::BuildArg(..))) => {
                return Err(OptionError::WrongPhase(option.clone(), "build"))
            }
            ("build", Some(Parsed::BuildArg(..) | Parsed::Limit(_))) => {}
            ("build", _) => return Err(OptionError::WrongPhase(option.clone(), "deploy and run")),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shell_words::split(line).unwrap()
    }

    #[test]
    fn normalizes_the_supported_subset() {
        let stored = normalize(&words(
            "--add-host db:10.0.0.5 --shm-size=64m --label team=web --ulimit nofile=1024:2048 -w /app --log-opt max-size=10m",
        ))
        .unwrap();
        assert_eq!(
            stored,
            [
                "--add-host=db:10.0.0.5",
                "--shm-size=64m",
                "--label=team=web",
                "--ulimit=nofile=1024:2048",
                "-w=/app",
                "--log-opt=max-size=10m"
            ]
        );
        let options = container_options(&stored);
        assert_eq!(options.extra_hosts, ["db:10.0.0.5"]);
        assert_eq!(options.shm_size, Some(64 << 20));
        assert_eq!(options.labels["team"], "web");
        assert_eq!(options.ulimits["nofile"], (1024, 2048));
        assert_eq!(options.workdir.as_deref(), Some("/app"));
        assert_eq!(options.log_opts["max-size"], "10m");
    }

    #[test]
    fn refuses_what_is_unsafe_or_unknown() {
        for (line, message) in [
            ("--privileged", "power over the host"),
            ("-v /:/host", "use storage:mount"),
            ("-p 80:80", "proxy and network own routing"),
            ("--memory-reservation 1g", "use resource:limit"),
            ("--memory 3g", "a size up to 2047m"),
            ("--cpus 0", "invalid value for --cpus"),
            ("--cpuset-cpus 0;1", "invalid value for --cpuset-cpus"),
            ("--label berth.app=x", "Berth's own"),
            ("--frobnicate 1", "not a docker option"),
            ("--add-host nonsense", "invalid value"),
            ("--dns", "needs a value"),
        ] {
            let err = normalize(&words(line)).unwrap_err().to_string();
            assert!(err.contains(message), "{line}: {err}");
        }
    }

    #[test]
    fn ulimits_that_starve_the_host_are_refused() {
        for name in ["rtprio", "rttime", "nice", "memlock", "msgqueue", "no file"] {
            let err = normalize(&words(&format!("--ulimit '{name}=1'")))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("only nofile, nproc, core and stack"),
                "{name}: {err}"
            );
        }
        for (value, ok) in [
            ("nofile=1048576", true),
            ("nofile=1048577", false),
            ("nproc=512:1024", true),
            ("nproc=1024:512", false),
            ("core=0", true),
            ("stack=-1", false),
            ("stack=8388608:268435456", true),
            ("core=unlimited", false),
        ] {
            let parsed = normalize(&words(&format!("--ulimit {value}")));
            assert_eq!(parsed.is_ok(), ok, "{value}: {parsed:?}");
        }
        let stored = ["--ulimit=rtprio=99".to_string()];
        assert!(container_options(&stored).ulimits.is_empty());
    }

    #[test]
    fn phases() {
        let build = normalize(&words("--build-arg VERSION=1.2")).unwrap();
        assert!(check_phase(&build, "build").is_ok());
        assert!(check_phase(&build, "deploy").is_err());
        assert_eq!(build_args(&build)["VERSION"], "1.2");
        let deploy = normalize(&words("--shm-size 1g")).unwrap();
        assert!(check_phase(&deploy, "build").is_err());
    }

    #[test]
    fn builds_take_limits_and_apps_take_them_from_resource_limit() {
        let limits = normalize(&words(
            "-m 512m --cpus 1.5 --cpu-shares 512 --cpuset-cpus 0-1 --build-arg A=b",
        ))
        .unwrap();
        assert!(check_phase(&limits, "build").is_ok());
        assert_eq!(
            build_limits(&limits),
            BuildLimits {
                memory: Some(512 << 20),
                cpu_quota: Some(150_000),
                cpu_shares: Some(512),
                cpuset_cpus: Some("0-1".to_string()),
            }
        );
        let err = check_phase(&limits, "deploy").unwrap_err().to_string();
        assert_eq!(err, "-m for deploy is not supported: use resource:limit");
        assert_eq!(build_limits(&[]), BuildLimits::default());
    }
}
