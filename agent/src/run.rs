//! The agent's life: load and build the config, serve `/metrics` and `/health`, run the
//! pipeline, and react to signals: SIGTERM/SIGINT stop (drain, flush, exit 0), SIGHUP
//! reloads by difference ([`crate::pipeline::Running::reload`]; an invalid new config is
//! logged and the running one kept). `--once` and `--test` run every input once and exit,
//! and fail (exit 1) when an input could not gather or an output could not deliver
//! ([`once`]).
//!
//! With `--watch-config` or `agent.watch_config = true`, a change of the config's contents
//! on disk ([`crate::config::watch`]) requests a reload as SIGHUP does.
//!
//! Reload requests are debounced ([`debounce`]): a reload starts once none has come for
//! [`debounce::QUIET`] (at most [`debounce::MAX_WAIT`] after the first), so a burst of
//! SIGHUPs makes one reload, two when one comes while the first runs. `/health` stays 200
//! throughout.

pub mod debounce;
pub mod once;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context as _;
use gleaner_api::{Accepts, BuildContext, PluginConfig, RunMode, Telemetry, shutdown_pair};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

use crate::config::watch::ConfigWatch;
use crate::config::{self, ConfigErrors};
use crate::pipeline::{self, Built};
use crate::telemetry::health::{Health, Phase};
use crate::telemetry::server::{self, ServerState};

/// How to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Until a signal.
    Continuous,
    /// Gather once, deliver, exit.
    Once,
    /// Gather once, print line protocol on stdout, ship nothing.
    Test,
}

/// Why the agent exited with a non-zero code.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The config is invalid (exit 2).
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// `--once` or `--test` ran, but an input could not gather or an output could not
    /// deliver (exit 1).
    #[error("{0}")]
    Incomplete(#[from] once::OnceFailed),
    /// Anything else (exit 1): what failed, with its causes kept (`source()` walks them) and
    /// shown in the message, one after the other.
    #[error("{}", chain(.0))]
    Runtime(#[source] anyhow::Error),
}

impl From<anyhow::Error> for RunError {
    fn from(e: anyhow::Error) -> Self {
        RunError::Runtime(e)
    }
}

/// `e` and its causes as one line, `outer: cause: root cause`. A cause whose text already ends
/// the line is not repeated (several of our errors print their source themselves).
fn chain(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.is_empty() {
            line = text;
        } else if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}

/// Loads and builds a config (what `gleaner check` runs). Every error is reported, in file
/// order: the plugins are built even when the config has other errors, so that theirs show
/// too (with throwaway counters, so a rejected reload leaves no trace on `/metrics`).
pub fn load_and_build(
    path: &std::path::Path,
    telemetry: &Telemetry,
) -> Result<Built, ConfigErrors> {
    let config::Partial { config, mut errors } = config::load_partial(path)?;
    let files = config.files.clone();
    let counters = if errors.is_empty() {
        telemetry.clone()
    } else {
        Telemetry::new()
    };
    match pipeline::build(config, &counters) {
        Ok(built) if errors.is_empty() => return Ok(built),
        Ok(_) => {}
        Err(more) => errors.extend(more.0),
    }
    config::sort_errors(&mut errors, &files);
    Err(ConfigErrors(errors))
}

fn test_sink() -> Result<Box<dyn gleaner_api::Output>, RunError> {
    let cfg = PluginConfig::from_toml_str("outputs.stdout.test", "")
        .context("cannot configure the --test output")?;
    let bcx = BuildContext::for_test("test");
    let output = (gleaner_outputs::stdout::DESCRIPTOR.build)(&cfg, &bcx)
        .context("cannot build the --test output")?;
    Ok(output)
}

fn start_error(e: pipeline::StartError) -> RunError {
    RunError::Runtime(e.into())
}

/// Takes `<data_dir>/.lock` for the life of the process, so two agents never share buffers
/// and offsets; the lock goes with the process, even after `kill -9`.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, RunError> {
    let what = |what: &str| format!("agent.data_dir {}: {what}", dir.display());
    std::fs::create_dir_all(dir).with_context(|| what("cannot create it"))?;
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| what("cannot open its lock file"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(anyhow::anyhow!(
            "agent.data_dir {} is in use by another gleaner process; give each agent its own data_dir",
            dir.display()
        )
        .into()),
        Err(std::fs::TryLockError::Error(e)) => Err(anyhow::Error::new(e)
            .context(what("cannot lock it"))
            .into()),
    }
}

/// Reloads `path` into `running` by difference; false when the new config was rejected
/// (logged; the running one is kept).
async fn reload(path: &std::path::Path, running: &mut pipeline::Running) -> bool {
    let loaded = match config::load_partial(path) {
        Ok(p) if p.errors.is_empty() => Ok(p.config),
        // Build every plugin too (with throwaway counters) so that all errors show.
        Ok(_) => load_and_build(path, &Telemetry::new()).map(|b| b.config().clone()),
        Err(e) => Err(e),
    };
    let result = match loaded {
        Ok(config) => {
            let files = config.files.clone();
            running.reload(config).await.map_err(|mut e| {
                config::sort_errors(&mut e.0, &files);
                e
            })
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(s) => {
            info!(
                unchanged = s.unchanged,
                changed = s.changed,
                added = s.added,
                removed = s.removed,
                "config reloaded"
            );
            true
        }
        Err(errors) => {
            for e in &errors.0 {
                error!(error = %e, "reload rejected; the running config is kept");
            }
            false
        }
    }
}

/// Completes when the watched config changed; never without a watch.
async fn config_changed(watch: &mut Option<ConfigWatch>) {
    match watch {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}

/// Starts or stops watching the config as `wanted` says; `loaded` is the fingerprint of the
/// config files taken before the running config was read.
fn sync_watch(watch: &mut Option<ConfigWatch>, wanted: bool, path: &std::path::Path, loaded: u64) {
    match (wanted, watch.is_some()) {
        (true, false) => {
            *watch = ConfigWatch::new(path, loaded);
            if watch.is_some() {
                info!(path = %path.display(), "watching the config for changes");
            }
        }
        (false, true) => {
            *watch = None;
            info!("no longer watching the config");
        }
        _ => {}
    }
}

/// Runs the agent; returns when it has stopped. `watch_config` (`--watch-config`) reloads
/// on a change of the config on disk, whatever `agent.watch_config` says.
pub async fn run(path: PathBuf, mode: Mode, watch_config: bool) -> Result<(), RunError> {
    let telemetry = Telemetry::new();
    let health = Health::default();
    // Before reading: a change made while the agent starts is then reloaded.
    let mut loaded = config::watch::fingerprint(&path);
    let mut built = load_and_build(&path, &telemetry)?;
    if mode == Mode::Test {
        built.replace_outputs("outputs.stdout.test", test_sink()?, Accepts::BOTH);
    }
    let _data_dir_lock = match &built.config().agent.data_dir {
        Some(dir) if mode != Mode::Test => Some(lock_data_dir(dir)?),
        _ => None,
    };
    if mode != Mode::Continuous {
        let mut running = built.start(RunMode::Once).await.map_err(start_error)?;
        running.inputs_done().await;
        let drained = running.stop().await;
        once::verdict(&telemetry.snapshot(), drained)?;
        return Ok(());
    }

    let mut sigterm = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut sigint = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut sighup = signal(SignalKind::hangup()).context("cannot listen for SIGHUP")?;

    let (server_stop, server_sd) = shutdown_pair();
    let listen = built.config().agent.http_listen.clone();
    let state = ServerState {
        telemetry: telemetry.clone(),
        health: health.clone(),
        started: tokio::time::Instant::now(),
        reloads_ok: Arc::new(AtomicU64::new(0)),
        reloads_failed: Arc::new(AtomicU64::new(0)),
    };
    if !listen.is_empty() {
        let listener = server::bind(&listen)
            .await
            .with_context(|| format!("cannot listen on agent.http_listen {listen}"))?;
        info!(address = %listen, "serving /metrics and /health");
        tokio::spawn(server::serve(
            listener,
            state.clone(),
            server::LIMITS,
            server_sd,
        ));
    }

    let mut running = built
        .start(RunMode::Continuous)
        .await
        .map_err(start_error)?;
    crate::tap::hub().set_enabled(running.config().agent.tap);
    health.set(Phase::Running);
    let mut pending = debounce::Debounce::default();
    let mut watch = None;
    sync_watch(
        &mut watch,
        watch_config || running.config().agent.watch_config,
        &path,
        loaded,
    );
    loop {
        tokio::select! {
            _ = sigterm.recv() => { info!("SIGTERM: stopping"); break; }
            _ = sigint.recv() => { info!("SIGINT: stopping"); break; }
            _ = sighup.recv() => pending.request(tokio::time::Instant::now()),
            () = config_changed(&mut watch) => {
                info!(path = %path.display(), "config changed on disk");
                pending.request(tokio::time::Instant::now());
            }
            () = pending.due() => {
                pending.clear();
                info!(path = %path.display(), "reloading config");
                loaded = config::watch::fingerprint(&path);
                if reload(&path, &mut running).await {
                    state.reloads_ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    state.reloads_failed.fetch_add(1, Ordering::Relaxed);
                }
                crate::tap::hub().set_enabled(running.config().agent.tap);
                if running.config().agent.http_listen != listen {
                    warn!("agent.http_listen changed: it takes effect at the next restart");
                }
                sync_watch(
                    &mut watch,
                    watch_config || running.config().agent.watch_config,
                    &path,
                    loaded,
                );
            }
        }
    }
    health.set(Phase::Stopping);
    let stop = running.stop();
    tokio::pin!(stop);
    let clean = tokio::select! {
        clean = &mut stop => clean,
        _ = sigint.recv() => { warn!("second signal: exiting without draining"); false }
        _ = sigterm.recv() => { warn!("second signal: exiting without draining"); false }
    };
    server_stop.trigger();
    if clean {
        info!("stopped cleanly");
    } else {
        warn!(
            "stopped before everything was delivered (abandoned events are logged above, per output)"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::io;

    use super::*;
    use crate::buffer::store::StoreError;

    /// The io::Error among `e`'s causes, found the way any caller can: through `source()`.
    fn io_cause(e: &RunError) -> Option<io::ErrorKind> {
        let mut cause = e.source();
        while let Some(c) = cause {
            if let Some(io) = c.downcast_ref::<io::Error>() {
                return Some(io.kind());
            }
            cause = c.source();
        }
        None
    }

    #[test]
    fn a_data_dir_that_cannot_be_made_keeps_its_io_error() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("a-file");
        std::fs::write(&file, "x").unwrap();
        let data_dir = file.join("data");
        let err = lock_data_dir(&data_dir).unwrap_err();
        assert_eq!(io_cause(&err), Some(io::ErrorKind::NotADirectory));
        let msg = err.to_string();
        let context = format!("agent.data_dir {}: cannot create it: ", data_dir.display());
        assert!(msg.starts_with(&context), "{msg}");
        assert_eq!(msg.matches("os error").count(), 1, "{msg}");
    }

    #[test]
    fn a_buffer_that_cannot_be_opened_keeps_its_causes_and_reads_as_before() {
        let store = StoreError {
            op: "create directory",
            path: "/var/lib/gleaner/buffer/outputs.x".into(),
            source: io::Error::new(io::ErrorKind::PermissionDenied, "permission denied"),
        };
        let err = start_error(pipeline::StartError {
            output: "outputs.x".into(),
            source: store,
        });
        assert_eq!(io_cause(&err), Some(io::ErrorKind::PermissionDenied));
        // StartError and StoreError print their source themselves: not repeated.
        assert_eq!(
            err.to_string(),
            "output outputs.x: cannot open its buffer: create directory \
             /var/lib/gleaner/buffer/outputs.x: permission denied"
        );
    }

    #[test]
    fn causes_that_do_not_print_their_source_are_appended() {
        #[derive(Debug, thiserror::Error)]
        #[error("bind 127.0.0.1:1")]
        struct Bind(#[source] io::Error);
        let io = io::Error::new(io::ErrorKind::AddrInUse, "address in use");
        let err = RunError::from(anyhow::Error::new(Bind(io)).context("cannot listen"));
        assert_eq!(
            err.to_string(),
            "cannot listen: bind 127.0.0.1:1: address in use"
        );
        assert_eq!(io_cause(&err), Some(io::ErrorKind::AddrInUse));
    }
}
