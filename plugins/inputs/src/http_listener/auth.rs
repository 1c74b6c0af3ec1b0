//! Authentication of write requests, as InfluxDB 1.x accepts it: HTTP Basic, the v1 query
//! parameters `u` and `p`, or a v2-style `Authorization: Token user:password` header.

use gleaner_api::Secret;
use hyper::header::{AUTHORIZATION, HeaderMap};

/// The configured user and password, with the `Basic` header value precomputed.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    username: String,
    password: Secret,
    basic: Secret,
}

impl Credentials {
    pub(crate) fn new(username: String, password: Secret) -> Self {
        let basic = base64(format!("{username}:{}", password.expose()).as_bytes());
        Credentials {
            username,
            password,
            basic: Secret::new(basic),
        }
    }

    /// True when the request carries these credentials in any accepted form. `user` and
    /// `password` are the decoded `u` and `p` query parameters, if given.
    pub(crate) fn accepts(
        &self,
        headers: &HeaderMap,
        user: Option<&str>,
        password: Option<&str>,
    ) -> bool {
        if let (Some(u), Some(p)) = (user, password)
            && self.matches(u, p)
        {
            return true;
        }
        let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let (scheme, rest) = value.trim().split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            constant_time_eq(rest.as_bytes(), self.basic.expose().as_bytes())
        } else if scheme.eq_ignore_ascii_case("token") {
            rest.split_once(':')
                .is_some_and(|(u, p)| self.matches(u, p))
        } else {
            false
        }
    }

    fn matches(&self, user: &str, password: &str) -> bool {
        // Evaluate both so the time taken does not say which one was wrong.
        let u = constant_time_eq(user.as_bytes(), self.username.as_bytes());
        let p = constant_time_eq(password.as_bytes(), self.password.expose().as_bytes());
        u & p
    }
}

/// Compares without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Standard base64 with padding (RFC 4648 §4).
pub(crate) use gleaner_api::http_client::base64;
