//! Byte sizes as users write them to nginx, Docker and Berth's config file: a whole number and
//! an optional unit, `k`, `m` or `g`, with or without a `b`, in any case (`1048576`, `512k`,
//! `64mb`, `1G`). One parser for every size Berth reads, so each accepts the same spellings and
//! none accepts `64mbbb`.

use serde::Deserialize;

/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(u64);

impl Size {
    pub const fn from_bytes(bytes: u64) -> Size {
        Size(bytes)
    }

    pub fn bytes(self) -> u64 {
        self.0
    }

    pub fn parse(raw: &str) -> Option<Size> {
        let (number, unit) = number_and_unit(raw)?;
        let scale = match unit.as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1 << 10,
            "m" | "mb" => 1 << 20,
            "g" | "gb" => 1 << 30,
            _ => return None,
        };
        number.checked_mul(scale).map(Size)
    }
}

/// An nginx-style value (`50m`, `60s`), trimmed and lowercased: its leading whole number and
/// the unit after it (possibly empty).
pub fn number_and_unit(raw: &str) -> Option<(u64, String)> {
    let raw = raw.trim().to_ascii_lowercase();
    let (digits, unit) = match raw.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => raw.split_at(at),
        None => (raw.as_str(), ""),
    };
    Some((digits.parse().ok()?, unit.to_string()))
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Size, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Size::parse(&raw).ok_or_else(|| {
            serde::de::Error::custom(format!("invalid size {raw:?}: use bytes or a k/m/g suffix"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_nginx() {
        assert_eq!(Size::parse("1048576"), Some(Size(1 << 20)));
        assert_eq!(Size::parse("512k"), Some(Size(512 << 10)));
        assert_eq!(Size::parse("1M"), Some(Size(1 << 20)));
        assert_eq!(Size::parse("64mb"), Some(Size(64 << 20)));
        assert_eq!(Size::parse("0"), Some(Size(0)));
        for bad in [
            "",
            "m",
            "1t",
            "-1",
            "1.5m",
            "64mbbb",
            "64bm",
            "99999999999999999999g",
        ] {
            assert_eq!(Size::parse(bad), None, "{bad}");
        }
    }
}
