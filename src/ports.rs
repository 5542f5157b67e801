//! Port mappings (`ports:*`): `scheme:host-port:container-port`. The proxy serves `http` on
//! its HTTP listener (port 80) and `https` on its HTTPS listener (443); a mapping names the port
//! the app listens on inside its container.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid port mapping {raw:?}: {why}")]
pub struct PortError {
    pub raw: String,
    pub why: &'static str,
}

/// One `scheme:host-port:container-port` mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMap {
    pub https: bool,
    pub host: u16,
    pub container: u16,
}

impl PortMap {
    pub fn parse(raw: &str) -> Result<PortMap, PortError> {
        let bad = |why: &'static str| PortError {
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
        let https = match (scheme, host) {
            ("http", 80) => false,
            ("https", 443) => true,
            ("http" | "https", _) => {
                return Err(bad(
                    "Berth's proxy serves http on port 80 and https on 443; other host ports are not supported",
                ))
            }
            _ => return Err(bad("the scheme is http or https")),
        };
        Ok(PortMap {
            https,
            host,
            container,
        })
    }
}

impl std::fmt::Display for PortMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}:{}:{}", self.host, self.container)
    }
}

/// The container port the app's mappings name, if any; they must agree.
pub fn container_port(maps: &[String]) -> Option<u16> {
    maps.iter()
        .filter_map(|m| PortMap::parse(m).ok())
        .map(|m| m.container)
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_parse_and_print() {
        let map = PortMap::parse("http:80:3000").unwrap();
        assert_eq!((map.https, map.host, map.container), (false, 80, 3000));
        assert_eq!(map.to_string(), "http:80:3000");
        assert!(PortMap::parse("https:443:3000").unwrap().https);
        for bad in [
            "http:80",
            "ftp:21:21",
            "http:8080:3000",
            "http:80:0",
            "http:80:x",
            "http:80:1:2",
        ] {
            assert!(PortMap::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(container_port(&["https:443:4000".into()]), Some(4000));
        assert_eq!(container_port(&[]), None);
    }
}
