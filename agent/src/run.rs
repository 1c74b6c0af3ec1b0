//! The agent's life: load and build the config, serve `/metrics` and `/health`, run the
//! pipeline, and react to signals: SIGTERM/SIGINT stop (drain, flush, exit 0), SIGHUP
//! reloads (an invalid new config is logged and the running one kept). `--once` and `--test`
//! run every input once and exit.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gleaner_api::{Accepts, BuildContext, PluginConfig, RunMode, Telemetry, shutdown_pair};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

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
    /// Anything else (exit 1).
    #[error("{0}")]
    Runtime(String),
}

/// Loads and builds a config (what `gleaner check` runs).
pub fn load_and_build(
    path: &std::path::Path,
    telemetry: &Telemetry,
) -> Result<Built, ConfigErrors> {
    let cfg = config::load(path)?;
    pipeline::build(cfg, telemetry)
}

fn test_sink() -> Result<Box<dyn gleaner_api::Output>, RunError> {
    let cfg = PluginConfig::from_toml_str("outputs.stdout.test", "")
        .map_err(|e| RunError::Runtime(e.to_string()))?;
    let bcx = BuildContext::for_test("test");
    (gleaner_outputs::stdout::DESCRIPTOR.build)(&cfg, &bcx)
        .map_err(|e| RunError::Runtime(e.to_string()))
}

fn start_error(e: pipeline::StartError) -> RunError {
    RunError::Runtime(e.to_string())
}

/// Takes `<data_dir>/.lock` for the life of the process, so two agents never share buffers
/// and offsets; the lock goes with the process, even after `kill -9`.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, RunError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        RunError::Runtime(format!("agent.data_dir {}: {what}: {e}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("cannot create it", &e))?;
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| fail("cannot open its lock file", &e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(RunError::Runtime(format!(
            "agent.data_dir {} is in use by another gleaner process; give each agent its own data_dir",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(fail("cannot lock it", &e)),
    }
}

/// Runs the agent; returns when it has stopped.
pub async fn run(path: PathBuf, mode: Mode) -> Result<(), RunError> {
    let telemetry = Telemetry::new();
    let health = Health::default();
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
        running.stop().await;
        return Ok(());
    }

    let mut sigterm =
        signal(SignalKind::terminate()).map_err(|e| RunError::Runtime(e.to_string()))?;
    let mut sigint =
        signal(SignalKind::interrupt()).map_err(|e| RunError::Runtime(e.to_string()))?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|e| RunError::Runtime(e.to_string()))?;

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
        let listener = server::bind(&listen).await.map_err(|e| {
            RunError::Runtime(format!("cannot listen on agent.http_listen {listen}: {e}"))
        })?;
        info!(address = %listen, "serving /metrics and /health");
        tokio::spawn(server::serve(listener, state.clone(), server_sd));
    }

    let mut running = built
        .start(RunMode::Continuous)
        .await
        .map_err(start_error)?;
    health.set(Phase::Running);
    loop {
        tokio::select! {
            _ = sigterm.recv() => { info!("SIGTERM: stopping"); break; }
            _ = sigint.recv() => { info!("SIGINT: stopping"); break; }
            _ = sighup.recv() => {
                info!(path = %path.display(), "SIGHUP: reloading config");
                match load_and_build(&path, &telemetry) {
                    Err(errors) => {
                        state.reloads_failed.fetch_add(1, Ordering::Relaxed);
                        for e in &errors.0 {
                            error!(error = %e, "reload rejected; the running config is kept");
                        }
                    }
                    Ok(new) => {
                        if new.config().agent.http_listen != listen {
                            warn!("agent.http_listen changed: it takes effect at the next restart");
                        }
                        health.set(Phase::Stopping);
                        running.stop().await;
                        telemetry.retain(&new.component_metrics());
                        running = new.start(RunMode::Continuous).await.map_err(start_error)?;
                        health.set(Phase::Running);
                        state.reloads_ok.fetch_add(1, Ordering::Relaxed);
                        info!("config reloaded");
                    }
                }
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
        warn!("stopped; some events may not have been delivered (see discarded_events_total)");
    }
    Ok(())
}
