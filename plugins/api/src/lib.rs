//! `gleaner-api`: what plugins and the engine share: the event model, its buffer encoding,
//! the plugin traits and descriptors, config types and errors, acknowledgements, the stop
//! signal and the self-telemetry counters. It knows nothing of the engine or any plugin.

pub mod ack;
pub mod codec;
pub mod config;
pub mod config_types;
pub mod error;
pub mod event;
#[cfg(feature = "file-watch")]
pub mod file_watch;
pub mod glob;
#[cfg(feature = "http-client")]
pub mod http_client;
pub mod line_protocol;
pub mod listener;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod plugin;
#[cfg(feature = "prompb")]
pub mod prompb;
pub mod random;
pub mod selector;
pub mod shared;
pub mod shutdown;
pub mod telemetry;
#[cfg(feature = "test-util")]
pub mod test_util;
pub mod time;

pub use ack::{Ack, AckStatus, AckToken, Acknowledgements};
pub use config::{ConfigError, PluginConfig};
pub use config_types::{ByteSize, Duration, Secret};
pub use error::{EncodeError, OutputError, OutputErrorKind, PluginError};
pub use event::{
    Attributes, Batch, BatchPieces, EventKind, FieldValue, Key, KeyCache, LogRecord, Metric,
    MetricKind, SharedAttributes, Stream, Tags, TagsBuilder, TagsIter, TagsMemo, Text, now_ns,
};
pub use plugin::{
    Accepts, BatchLimits, BuildContext, Descriptor, EncodeReport, Envelope, EventSender, Filter,
    FilterDescriptor, Input, InputContext, InputDescriptor, Output, OutputDescriptor, Payload,
    PipelineClosed, PluginId, RunMode, SendReport, Ticker, TrySendError,
};
pub use shared::Shared;
pub use shutdown::{Shutdown, ShutdownTrigger, shutdown_pair};
pub use telemetry::{
    ComponentKind, ComponentMetrics, ComponentSnapshot, PluginStat, PluginStats, StatKind,
    Telemetry,
};
