//! Port mappings (`ports:*`): `scheme:host-port:container-port`. `http:80` and `https:443` are
//! the proxy's main listeners and pick the port the app listens on (`PORT`); other `http` and
//! `https` host ports are extra listeners routed by Host like the main ones, and `tcp` host
//! ports pass connections straight through to one app.

use std::fmt;

use crate::names::AppName;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("Invalid port mapping \"{}\": {why}", crate::names::shown(raw))]
    Invalid { raw: String, why: &'static str },
    #[error("{0}")]
    Conflict(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    Http,
    Https,
    Tcp,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Tcp => "tcp",
        })
    }
}

/// One `scheme:host-port:container-port` mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMap {
    pub scheme: Scheme,
    pub host: u16,
    pub container: u16,
}

/// A listener beyond the main HTTP and HTTPS ones: a scheme on a host port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Listener {
    pub scheme: Scheme,
    pub port: u16,
}

impl Listener {
    /// Its name when handed to a successor process.
    pub fn name(&self) -> String {
        format!("port-{}-{}", self.scheme, self.port)
    }
}

impl PortMap {
    pub fn parse(raw: &str) -> Result<PortMap, PortError> {
        let bad = |why: &'static str| PortError::Invalid {
            raw: raw.to_string(),
            why,
        };
        let mut parts = raw.split(':');
        let (Some(scheme), Some(host), Some(container), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(
                "use scheme:host-port:container-port, like http:80:3000",
            ));
        };
        let port = |p: &str| p.parse::<u16>().ok().filter(|p| *p > 0);
        let (Some(host), Some(container)) = (port(host), port(container)) else {
            return Err(bad("ports are numbers from 1 to 65535"));
        };
        let scheme = match scheme {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            "tcp" => Scheme::Tcp,
            _ => return Err(bad("the scheme is http, https or tcp")),
        };
        match (scheme, host) {
            (Scheme::Http, 443) | (Scheme::Https | Scheme::Tcp, 80) | (Scheme::Tcp, 443) => Err(
                bad("port 80 is the proxy's HTTP listener and 443 its HTTPS one"),
            ),
            _ => Ok(PortMap {
                scheme,
                host,
                container,
            }),
        }
    }

    /// `http:80` or `https:443`: served by the proxy's main listeners.
    pub fn is_main(&self) -> bool {
        matches!(
            (self.scheme, self.host),
            (Scheme::Http, 80) | (Scheme::Https, 443)
        )
    }

    /// The extra listener this mapping needs, if any.
    pub fn listener(&self) -> Option<Listener> {
        (!self.is_main()).then_some(Listener {
            scheme: self.scheme,
            port: self.host,
        })
    }
}

impl fmt::Display for PortMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.scheme, self.host, self.container)
    }
}

/// The stored mappings that still parse.
pub fn parse_all(stored: &[String]) -> Vec<PortMap> {
    stored
        .iter()
        .filter_map(|m| PortMap::parse(m).ok())
        .collect()
}

/// The port the app listens on (`PORT`): its `http:80` or `https:443` mapping's container port,
/// else its first other HTTP mapping's; none leaves the image's own.
pub fn container_port(maps: &[PortMap]) -> Option<u16> {
    maps.iter()
        .find(|m| m.is_main())
        .or_else(|| maps.iter().find(|m| m.scheme != Scheme::Tcp))
        .map(|m| m.container)
}

/// Checks an app's mappings against each other and against every other app's: one container
/// port per listener, `http:80` and `https:443` agreeing (they set `PORT`), one scheme per host
/// port, and a TCP port for one app only.
pub fn check(
    app: &AppName,
    maps: &[PortMap],
    others: &[(AppName, Vec<PortMap>)],
) -> Result<(), PortError> {
    let conflict = |text: String| Err(PortError::Conflict(text));
    for (index, map) in maps.iter().enumerate() {
        for earlier in &maps[..index] {
            if earlier.host == map.host && earlier.scheme != map.scheme {
                return conflict(format!(
                    "Port {} cannot be both {} and {}",
                    map.host, earlier.scheme, map.scheme
                ));
            }
            if earlier.host == map.host {
                return conflict(format!("{map} and {earlier} map one host port twice"));
            }
            if earlier.is_main() && map.is_main() && earlier.container != map.container {
                return conflict(
                    "http:80 and https:443 must map to the same container port".into(),
                );
            }
        }
        for (other, theirs) in others.iter().filter(|(other, _)| other != app) {
            for their in theirs.iter().filter(|t| t.host == map.host && !t.is_main()) {
                if their.scheme != map.scheme {
                    return conflict(format!(
                        "Port {} is already {} for app {other}",
                        map.host, their.scheme
                    ));
                }
                if map.scheme == Scheme::Tcp {
                    return conflict(format!(
                        "TCP port {} is already used by app {other}",
                        map.host
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(raw: &[&str]) -> Vec<PortMap> {
        raw.iter().map(|r| PortMap::parse(r).unwrap()).collect()
    }

    #[test]
    fn mappings_parse_and_print() {
        let map = PortMap::parse("http:80:3000").unwrap();
        assert_eq!(
            (map.scheme, map.host, map.container),
            (Scheme::Http, 80, 3000)
        );
        assert_eq!(map.to_string(), "http:80:3000");
        assert!(map.is_main() && map.listener().is_none());
        let extra = PortMap::parse("tcp:5432:5432").unwrap();
        assert_eq!(extra.listener().unwrap().name(), "port-tcp-5432");
        for bad in [
            "http:80",
            "ftp:21:21",
            "http:443:3000",
            "tcp:80:3000",
            "http:80:0",
            "http:80:x",
            "http:80:1:2",
        ] {
            assert!(PortMap::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(container_port(&maps(&["https:443:4000"])), Some(4000));
        assert_eq!(
            container_port(&maps(&["tcp:2222:22", "http:8080:3000"])),
            Some(3000)
        );
        assert_eq!(container_port(&maps(&["tcp:2222:22"])), None);
    }

    #[test]
    fn conflicting_mappings_are_refused() {
        let shop = AppName::parse("shop").unwrap();
        let blog = AppName::parse("blog").unwrap();
        let others = vec![(
            blog,
            maps(&["http:8080:5000", "tcp:6000:6000", "http:80:5000"]),
        )];
        let fine = maps(&[
            "http:80:3000",
            "https:443:3000",
            "http:8080:4000",
            "tcp:7000:7",
        ]);
        assert_eq!(check(&shop, &fine, &others), Ok(()));
        for bad in [
            &["http:80:3000", "https:443:4000"][..],
            &["http:9000:1", "tcp:9000:1"],
            &["http:9000:1", "http:9000:2"],
            &["https:8080:1"],
            &["tcp:6000:1"],
        ] {
            assert!(check(&shop, &maps(bad), &others).is_err(), "{bad:?}");
        }
    }
}
