//! The offset database's own thread: it takes commits, "still present" marks and the
//! reader's caught-up moments on a channel, forgets rows past `db_retention`, and writes the
//! last-stop record (`last_stop.rs`). Everything it does blocks; nothing here runs on the
//! runtime.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use gleaner_api::ComponentMetrics;

use super::{Commit, CommitOffsetError, OffsetDb};
use crate::tail::file::FileKey;
use crate::tail::last_stop;

/// A request to the database thread.
#[derive(Debug)]
pub(crate) enum DbCmd {
    /// Write these offsets.
    Commit(Vec<Commit>),
    /// These files are still there.
    Touch(Vec<FileKey>),
    /// The reader was caught up with every file at this moment (unix seconds): the
    /// last-stop record (`last_stop.rs`), written now and then and at the end; the input has
    /// started, even with no file to commit.
    CaughtUp(i64),
}

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    gleaner_api::now_ns() / 1_000_000_000
}

/// Runs `db` on its own thread until every sender of the returned channel is gone.
/// Rows of files not seen for `retention` are forgotten every `cleanup_every`.
pub(crate) fn spawn(
    mut db: OffsetDb,
    retention: Duration,
    cleanup_every: Duration,
    metrics: Arc<ComponentMetrics>,
) -> std::io::Result<(mpsc::Sender<DbCmd>, JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel::<DbCmd>();
    let handle = std::thread::Builder::new()
        .name("gleaner-tail-db".to_owned())
        .spawn(move || {
            let mut failing = false;
            // The last-stop record: the latest moment, the one written, and when next.
            let mut stamp = LastStop::new(db.path());
            let mut caught_up: Option<i64> = None;
            let report = |failing: &mut bool, r: Result<(), CommitOffsetError>| match r {
                Ok(()) => {
                    if *failing {
                        tracing::info!("offset commits work again");
                    }
                    *failing = false;
                }
                Err(e) => {
                    metrics.error("offsets_commit");
                    if !*failing {
                        tracing::error!(error = %e, "offset commit failed; retrying with the next commit");
                    }
                    *failing = true;
                }
            };
            loop {
                match rx.recv_timeout(cleanup_every) {
                    Ok(DbCmd::Commit(entries)) => {
                        let r = db.commit(&entries, unix_now());
                        report(&mut failing, r);
                    }
                    Ok(DbCmd::Touch(keys)) => {
                        let r = db.touch(&keys, unix_now());
                        report(&mut failing, r);
                    }
                    Ok(DbCmd::CaughtUp(t)) => {
                        if !db.started() {
                            // The input has run (even over no file at all): its next start
                            // is not a first one.
                            let r = db.write_dirty();
                            report(&mut failing, r);
                        }
                        caught_up = Some(t);
                        stamp.maybe_write(t, false);
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        let before = unix_now() - retention.as_secs() as i64;
                        match db.forget_older(before) {
                            Ok(0) => {}
                            Ok(n) => tracing::debug!(rows = n, "forgot offsets of files long gone"),
                            Err(e) => report(&mut failing, Err(e)),
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            if let Some(t) = caught_up {
                stamp.maybe_write(t, true);
            }
            tracing::debug!(path = %db.path().display(), "offset database closed");
        })?;
    Ok((tx, handle))
}

/// Writes the last-stop record for the database thread: at most every
/// [`last_stop::WRITE_EVERY`], and always at the end; a failure is logged once.
struct LastStop {
    db: PathBuf,
    written: Option<i64>,
    at: Option<std::time::Instant>,
    warned: bool,
}

impl LastStop {
    fn new(db: &Path) -> Self {
        LastStop {
            db: db.to_owned(),
            written: None,
            at: None,
            warned: false,
        }
    }

    fn maybe_write(&mut self, t: i64, last: bool) {
        let due = self
            .at
            .is_none_or(|a| a.elapsed() >= last_stop::WRITE_EVERY);
        if self.written == Some(t) || !(due || last) {
            return;
        }
        self.at = Some(std::time::Instant::now());
        match last_stop::write(&self.db, t) {
            Ok(()) => self.written = Some(t),
            Err(e) => {
                if !self.warned {
                    tracing::warn!(path = %last_stop::path_for(&self.db).display(), error = %e, "cannot write the last-stop record: a lost offset database would go unnoticed");
                }
                self.warned = true;
            }
        }
    }
}
