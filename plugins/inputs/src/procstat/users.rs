//! [`UserNames`]: the name of each uid, for procstat's `user` tag and selector, from
//! `sysinfo`'s `Users` (the passwd database) kept as a map of the names alone. Read when the
//! input starts, and again when a uid is not found, at most once a minute (a user added
//! since).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sysinfo::Users;

/// How often an unknown uid may make the list be read again.
const REREAD_AFTER: Duration = Duration::from_secs(60);

/// Names by uid.
#[derive(Debug)]
pub(super) struct UserNames {
    names: HashMap<u32, String>,
    read_at: Instant,
}

impl UserNames {
    pub(super) fn new() -> UserNames {
        UserNames {
            names: read(),
            read_at: Instant::now(),
        }
    }

    /// The name of `uid`; `None` when the passwd database does not have it.
    pub(super) fn name(&mut self, uid: u32) -> Option<&str> {
        if !self.names.contains_key(&uid) && self.read_at.elapsed() >= REREAD_AFTER {
            self.names = read();
            self.read_at = Instant::now();
        }
        self.names.get(&uid).map(String::as_str)
    }
}

fn read() -> HashMap<u32, String> {
    Users::new_with_refreshed_list()
        .list()
        .iter()
        .map(|u| (**u.id(), u.name().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::UserNames;

    #[test]
    fn root_is_uid_zero() {
        assert_eq!(UserNames::new().name(0), Some("root"));
    }
}
