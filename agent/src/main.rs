//! The `gleaner` binary: parses the command line and calls the engine. Exit codes: 0 ok,
//! 1 runtime failure (also `--once` and `--test` when an input could not gather or an output
//! could not deliver), 2 invalid config (also for `gleaner check`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use gleaner::run::{self, Mode, RunError};
use gleaner::telemetry::logging::{self, LogFormat};

/// Node collection agent: host, kubelet, container logs and Prometheus endpoints, delivered
/// as InfluxDB line protocol, Prometheus remote write and Splunk HEC.
#[derive(Debug, Parser)]
#[command(name = "gleaner", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Config file, or a directory of *.toml files merged in name order.
    #[arg(short = 'c', long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Gather every input once, deliver, flush and exit (1 when a gather or a delivery failed).
    #[arg(long, conflicts_with = "test")]
    once: bool,
    /// Gather once and print line protocol on stdout; send nothing (exit 1 when a gather failed).
    #[arg(long)]
    test: bool,
    /// Reload when the config file (or a file of the config directory) changes, as on SIGHUP
    /// (also `agent.watch_config = true`).
    #[arg(long)]
    watch_config: bool,
    /// Log level or filter (error, warn, info, debug, trace, or `gleaner=debug,hyper=warn`).
    #[arg(long, global = true, default_value = "info", value_name = "LEVEL")]
    log_level: String,
    /// Log line format (logs go to stderr).
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the config and exit: 0 valid, 2 invalid (errors name file:line:col and key).
    Check,
    /// Print a commented config of every plugin with its defaults.
    SampleConfig,
    /// Convert a Telegraf or Fluent Bit config to Gleaner's TOML on stdout; options without
    /// an equivalent are listed as comments and on stderr. Exit 2 when PATH cannot be read.
    Import {
        /// The agent whose config PATH is.
        #[arg(value_enum)]
        from: ImportFrom,
        /// telegraf.conf (TOML) or fluent-bit.conf (classic format).
        path: PathBuf,
    },
    /// Streams a sample of the events passing the components COMPONENTS names (globs on
    /// component ids, comma-separated) as JSON lines, from a running agent with agent.tap = true.
    Tap {
        /// Component id globs, like "inputs.tail.*,filters.*".
        components: String,
        /// The agent's agent.http_listen, as a URL (on this host).
        #[arg(long, default_value = "http://127.0.0.1:8686")]
        url: String,
        /// Events per answer, at most (the agent caps it at 1,000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// How long each request waits for events, like "1s" (at most 10s).
        #[arg(long, default_value = "1s", value_parser = parse_interval)]
        wait: std::time::Duration,
        /// Print one answer and exit.
        #[arg(long)]
        once: bool,
        /// How metrics are printed: "json" (JSON lines) or "influx" (line protocol).
        #[arg(long, default_value = "json", value_parser = ["json", "influx"])]
        format: String,
    },
    /// A live view of a running agent, from its /metrics: events/s in and out, drops,
    /// errors, queue depth, buffer bytes and tail lag per component.
    Top {
        /// The agent's agent.http_listen, as a URL.
        #[arg(long, default_value = "http://127.0.0.1:8686")]
        url: String,
        /// Time between two reads, like "1s" or "500ms".
        #[arg(long, default_value = "2s", value_parser = parse_interval)]
        interval: std::time::Duration,
        /// Print one table (rates over one interval) and exit.
        #[arg(long)]
        once: bool,
    },
}

fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let d: gleaner_api::Duration = s.parse().map_err(|e| format!("{e}"))?;
    if d.get().is_zero() {
        return Err("must be greater than zero".to_owned());
    }
    Ok(d.get())
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ImportFrom {
    Telegraf,
    FluentBit,
}

fn config_path(cli: &Cli) -> Result<PathBuf, ExitCode> {
    cli.config.clone().ok_or_else(|| {
        eprintln!("error: no config given: pass --config PATH (try `gleaner sample-config > gleaner.toml`)");
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    gleaner::malloc_tuning::reexec_tuned();
    gleaner_api::http_client::install_crypto_provider();
    let cli = Cli::parse();
    if let Err(e) = logging::init(&cli.log_level, cli.log_format) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
    }
    match cli.command {
        Some(Command::SampleConfig) => {
            print!("{}", gleaner::sample::render());
            ExitCode::SUCCESS
        }
        Some(Command::Import { from, ref path }) => {
            let source = match from {
                ImportFrom::Telegraf => gleaner::import::Source::Telegraf,
                ImportFrom::FluentBit => gleaner::import::Source::FluentBit,
            };
            match gleaner::import::convert_file(source, path) {
                Ok(c) => {
                    print!("{}", c.text);
                    for n in &c.notes {
                        eprintln!("not mapped: {}: {} ({})", n.origin, n.option, n.reason);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Some(Command::Tap {
            ref components,
            ref url,
            limit,
            wait,
            once,
            ref format,
        }) => {
            let opts = gleaner::tap::TapOptions {
                url: url.clone(),
                components: components.clone(),
                limit,
                wait,
                once,
                influx: format == "influx",
            };
            match gleaner::tap::run_client(&opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Some(Command::Top {
            ref url,
            interval,
            once,
        }) => {
            let opts = gleaner::top::TopOptions {
                url: url.clone(),
                interval,
                once,
            };
            match gleaner::top::run(&opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Some(Command::Check) => {
            let path = match config_path(&cli) {
                Ok(p) => p,
                Err(code) => return code,
            };
            match run::load_and_build(&path, &gleaner_api::Telemetry::new()) {
                Ok(built) => {
                    let c = built.config();
                    println!(
                        "{}: valid ({} inputs, {} filters, {} outputs)",
                        path.display(),
                        c.inputs.len(),
                        c.filters.len(),
                        c.outputs.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    for e in &errors.0 {
                        eprintln!("{e}");
                    }
                    ExitCode::from(2)
                }
            }
        }
        None => {
            let path = match config_path(&cli) {
                Ok(p) => p,
                Err(code) => return code,
            };
            let mode = if cli.test {
                Mode::Test
            } else if cli.once {
                Mode::Once
            } else {
                Mode::Continuous
            };
            // Few blocking threads: they do short file I/O (buffer chunks, files) and DNS
            // lookups, and each thread that allocates costs glibc a malloc arena that keeps
            // freed memory (tail 1M-line run: 2 threads 35 MiB, 4 threads 44 MiB, 8 threads 46
            // MiB peak RSS; mimalloc 85-100 MiB). Half the cores as workers: see
            // `runtime_threads`.
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .worker_threads(gleaner::runtime_threads::from_environment())
                .max_blocking_threads(4)
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: cannot start the runtime: {e}");
                    return ExitCode::from(1);
                }
            };
            match runtime.block_on(run::run(path, mode, cli.watch_config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(RunError::Config(errors)) => {
                    for e in &errors.0 {
                        eprintln!("{e}");
                    }
                    ExitCode::from(2)
                }
                Err(RunError::Incomplete(e)) => {
                    let what = if cli.test { "--test" } else { "--once" };
                    eprintln!("error: {what} failed:\n{e}");
                    ExitCode::from(1)
                }
                Err(e @ RunError::Runtime(_)) => {
                    // The message carries the whole chain of causes.
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
