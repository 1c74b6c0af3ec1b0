//! `kinds = ["logs", "metrics"]`: which event kinds a generic filter works on (the others
//! pass untouched), written as the outputs' `kinds`.

use gleaner_api::EventKind;
use serde::Deserialize;

/// The kinds a filter takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kinds {
    logs: bool,
    metrics: bool,
}

impl Kinds {
    /// Logs only.
    pub(crate) const LOGS: Kinds = Kinds {
        logs: true,
        metrics: false,
    };
    /// Both.
    pub(crate) const BOTH: Kinds = Kinds {
        logs: true,
        metrics: true,
    };

    /// True when the filter works on `kind`.
    pub(crate) fn takes(self, kind: EventKind) -> bool {
        match kind {
            EventKind::Logs => self.logs,
            EventKind::Metrics => self.metrics,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Logs,
    Metrics,
}

impl<'de> Deserialize<'de> for Kinds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<Kind>::deserialize(d)?;
        if list.is_empty() {
            return Err(serde::de::Error::custom(
                "kinds is empty: give \"logs\", \"metrics\" or both",
            ));
        }
        let mut k = Kinds {
            logs: false,
            metrics: false,
        };
        for kind in list {
            match kind {
                Kind::Logs => k.logs = true,
                Kind::Metrics => k.metrics = true,
            }
        }
        Ok(k)
    }
}
