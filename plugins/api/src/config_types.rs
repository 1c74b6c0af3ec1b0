//! Config value types that carry their format: [`Duration`] (`"10s"`, `"250ms"`, `"1m30s"`),
//! [`ByteSize`] (`"64MiB"`, `"10MB"` or an integer of bytes) and [`Secret`] (a string that
//! hides itself in `Debug`).

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A duration written as a string of number+unit parts: `ns`, `us`, `ms`, `s`, `m`, `h`, `d`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    /// From whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        Duration(std::time::Duration::from_secs(s))
    }
    /// From milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }
    /// The std duration.
    pub const fn get(self) -> std::time::Duration {
        self.0
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_nanos() == 0 {
            let s = d.as_secs();
            if s != 0 && s.is_multiple_of(3600) {
                write!(f, "{}h", s / 3600)
            } else if s != 0 && s.is_multiple_of(60) {
                write!(f, "{}m", s / 60)
            } else {
                write!(f, "{s}s")
            }
        } else if d.subsec_nanos().is_multiple_of(1_000_000) {
            write!(f, "{}ms", d.as_millis())
        } else {
            write!(f, "{}ns", d.as_nanos())
        }
    }
}

/// Why a duration or size string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {input:?}: {reason}")]
pub struct ParseValueError {
    /// `duration` or `size`.
    pub what: &'static str,
    /// The text given.
    pub input: String,
    /// What is wrong, with the accepted forms.
    pub reason: &'static str,
}

impl FromStr for Duration {
    type Err = ParseValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseValueError {
            what: "duration",
            input: s.to_owned(),
            reason,
        };
        const FORMS: &str = "expected number+unit parts like \"10s\", \"250ms\", \"1m30s\" \
                             (units ns, us, ms, s, m, h, d)";
        let t = s.trim();
        if t.is_empty() {
            return Err(err(FORMS));
        }
        let mut total: u128 = 0;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if digits == 0 {
                return Err(err(FORMS));
            }
            let n: u128 = rest[..digits]
                .parse()
                .map_err(|_| err("number too large"))?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            let nanos_per: u128 = match &rest[..unit_len] {
                "ns" => 1,
                "us" | "µs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60_000_000_000,
                "h" => 3_600_000_000_000,
                "d" => 86_400_000_000_000,
                _ => return Err(err(FORMS)),
            };
            rest = &rest[unit_len..];
            total = n
                .checked_mul(nanos_per)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| err("duration too large"))?;
        }
        let secs = u64::try_from(total / 1_000_000_000).map_err(|_| err("duration too large"))?;
        // The remainder of a division by 1e9 always fits in u32.
        let nanos = (total % 1_000_000_000) as u32;
        Ok(Duration(std::time::Duration::new(secs, nanos)))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string like \"10s\" or \"250ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse().map_err(|e: ParseValueError| E::custom(e))
            }
        }
        d.deserialize_str(V)
    }
}

/// A size in bytes, written as an integer or a string like `"64MiB"` or `"10MB"`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// From mebibytes.
    pub const fn mib(n: u64) -> Self {
        ByteSize(n * 1024 * 1024)
    }
    /// From gibibytes.
    pub const fn gib(n: u64) -> Self {
        ByteSize(n * 1024 * 1024 * 1024)
    }
    /// The number of bytes.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u64); 4] = [
            ("TiB", 1 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
        ];
        for (name, n) in UNITS {
            if self.0 != 0 && self.0.is_multiple_of(n) {
                return write!(f, "{}{name}", self.0 / n);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl FromStr for ByteSize {
    type Err = ParseValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseValueError {
            what: "size",
            input: s.to_owned(),
            reason,
        };
        const FORMS: &str = "expected bytes or number+unit like \"64MiB\", \"10MB\" (B, KB, KiB, MB, MiB, GB, GiB, TB, TiB)";
        let t = s.trim();
        let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        if digits == 0 {
            return Err(err(FORMS));
        }
        let n: u64 = t[..digits].parse().map_err(|_| err("number too large"))?;
        let mult: u64 = match t[digits..].trim_start().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" => 1_000,
            "kib" => 1 << 10,
            "m" | "mb" => 1_000_000,
            "mib" => 1 << 20,
            "g" | "gb" => 1_000_000_000,
            "gib" => 1 << 30,
            "t" | "tb" => 1_000_000_000_000,
            "tib" => 1 << 40,
            _ => return Err(err(FORMS)),
        };
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| err("size too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: an integer of bytes or a string like \"64MiB\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                v.parse().map_err(|e: ParseValueError| E::custom(e))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A secret string (token, password): printed as `"***"` by `Debug` and `Display`, and a
/// value of the wrong type is refused without being echoed (serde's message would quote it:
/// ``invalid type: integer `12345678901234` ``).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl V {
            fn refuse<E: de::Error>(found: &str) -> Result<Secret, E> {
                Err(E::custom(format!(
                    "invalid type: {found}, expected a string (the value is not shown: it is a secret)"
                )))
            }
        }
        impl<'de> de::Visitor<'de> for V {
            type Value = Secret;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
                Ok(Secret(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
                Ok(Secret(v))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
                V::refuse("boolean")
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
                V::refuse("integer")
            }
            fn visit_i128<E: de::Error>(self, _: i128) -> Result<Secret, E> {
                V::refuse("integer")
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
                V::refuse("integer")
            }
            fn visit_u128<E: de::Error>(self, _: u128) -> Result<Secret, E> {
                V::refuse("integer")
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
                V::refuse("float")
            }
            fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Secret, E> {
                V::refuse("bytes")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Secret, E> {
                V::refuse("empty value")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
                V::refuse("array")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
                V::refuse("table or date")
            }
        }
        d.deserialize_string(V)
    }
}

impl Secret {
    /// Wraps a value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; call only where it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!("10s".parse::<Duration>(), Ok(Duration::from_secs(10)));
        assert_eq!("250ms".parse::<Duration>(), Ok(Duration::from_millis(250)));
        assert_eq!("1m30s".parse::<Duration>(), Ok(Duration::from_secs(90)));
        assert_eq!("2h".parse::<Duration>(), Ok(Duration::from_secs(7200)));
        assert_eq!("0s".parse::<Duration>(), Ok(Duration::from_secs(0)));
        for bad in [
            "",
            "10",
            "s",
            "10 s",
            "1.5s",
            "10sec",
            "-1s",
            "99999999999999999999999d",
        ] {
            assert!(bad.parse::<Duration>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(Duration::from_millis(1500).to_string(), "1500ms");
        assert_eq!(Duration::from_secs(120).to_string(), "2m");
    }

    #[test]
    fn sizes() {
        assert_eq!("64MiB".parse::<ByteSize>(), Ok(ByteSize::mib(64)));
        assert_eq!("10MB".parse::<ByteSize>(), Ok(ByteSize(10_000_000)));
        assert_eq!("1 GiB".parse::<ByteSize>(), Ok(ByteSize::gib(1)));
        assert_eq!("512".parse::<ByteSize>(), Ok(ByteSize(512)));
        for bad in ["", "MiB", "1.5MiB", "10XB", "-5", "99999999999TiB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(ByteSize::gib(1).to_string(), "1GiB");
    }

    #[test]
    fn a_secret_of_the_wrong_type_is_not_echoed() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct C {
            token: Option<Secret>,
        }
        let ok: C = toml::from_str("token = \"hunter2\"").unwrap();
        assert_eq!(ok.token.as_ref().map(Secret::expose), Some("hunter2"));
        for text in [
            "token = 12345678901234",
            "token = 1234.5678",
            "token = true",
            "token = [\"hunter2\"]",
            "token = { a = \"hunter2\" }",
            "token = 1979-05-27T07:32:00Z",
        ] {
            let e = toml::from_str::<C>(text).unwrap_err();
            let m = e.message();
            assert!(
                !m.contains("1234") && !m.contains("hunter2") && !m.contains("1979"),
                "{text}: {m}"
            );
            assert!(m.contains("expected a string"), "{text}: {m}");
        }
    }

    #[test]
    fn secret_hides() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s}"), "\"***\" ***");
        assert_eq!(s.expose(), "hunter2");
    }
}
