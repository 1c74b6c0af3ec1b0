//! The OTLP messages Gleaner sends and receives, written by hand with `prost` derives (no
//! `protoc`), following opentelemetry-proto **v1.10.0** field numbers exactly
//! (`opentelemetry/proto/{common,resource,logs,metrics}/v1/*.proto` and
//! `collector/{logs,metrics}/v1/*_service.proto`; checked against the descriptors of the
//! `opentelemetry-proto` 1.45.2 Python package, generated from that release).
//!
//! Left out (never sent, skipped when received, as protobuf skips unknown fields): traces and
//! profiles; the development-only dictionary indices (`AnyValue.string_value_strindex` = 8,
//! `KeyValue.key_strindex` = 3) and `Resource.entity_refs` = 3; exemplars. Enums are carried
//! as their `int32` numbers (the same varint on the wire), named by the constants below.
//!
//! Traps: `NumberDataPoint.attributes` is field **7** (1 is reserved), `HistogramDataPoint`'s
//! is **9**, `SummaryDataPoint`'s **7**; `as_int` is `sfixed64` (field 6), not `int64`;
//! counts and timestamps are `fixed64`; `LogRecord.flags` is `fixed32`;
//! `Metric.metadata` is 12 (gauge 5, sum 7, histogram 9, exponential histogram 10, summary 11).
//!
//! Longer than our usual file on purpose: nothing but declarations, kept in one file so that
//! every field number can be checked against the `.proto` files in one read.
//!
//! Over 400 lines on purpose: the OTLP messages mirror the .proto files one message per struct,
//! in their order, so a field can be checked against the spec line by line.

// ---- common/v1 ----------------------------------------------------------------------------

/// `common.v1.AnyValue`: a value of an attribute or a log body (empty when unset).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AnyValue {
    /// One of the kinds.
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub value: Option<any_value::Value>,
}

/// The oneof of [`AnyValue`].
pub mod any_value {
    /// `AnyValue.value`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// `string_value` = 1.
        #[prost(string, tag = "1")]
        StringValue(String),
        /// `bool_value` = 2.
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        /// `int_value` = 3.
        #[prost(int64, tag = "3")]
        IntValue(i64),
        /// `double_value` = 4.
        #[prost(double, tag = "4")]
        DoubleValue(f64),
        /// `array_value` = 5.
        #[prost(message, tag = "5")]
        ArrayValue(super::ArrayValue),
        /// `kvlist_value` = 6.
        #[prost(message, tag = "6")]
        KvlistValue(super::KeyValueList),
        /// `bytes_value` = 7.
        #[prost(bytes = "vec", tag = "7")]
        BytesValue(Vec<u8>),
    }
}

/// `common.v1.ArrayValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ArrayValue {
    /// `values` = 1.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<AnyValue>,
}

/// `common.v1.KeyValueList`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValueList {
    /// `values` = 1.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<KeyValue>,
}

/// `common.v1.KeyValue`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    /// `key` = 1.
    #[prost(string, tag = "1")]
    pub key: String,
    /// `value` = 2.
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `common.v1.InstrumentationScope`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InstrumentationScope {
    /// `name` = 1.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `version` = 2.
    #[prost(string, tag = "2")]
    pub version: String,
    /// `attributes` = 3.
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
    /// `dropped_attributes_count` = 4.
    #[prost(uint32, tag = "4")]
    pub dropped_attributes_count: u32,
}

// ---- resource/v1 --------------------------------------------------------------------------

/// `resource.v1.Resource`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Resource {
    /// `attributes` = 1.
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    /// `dropped_attributes_count` = 2.
    #[prost(uint32, tag = "2")]
    pub dropped_attributes_count: u32,
}

// ---- logs/v1 ------------------------------------------------------------------------------

/// `logs.v1.ResourceLogs`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceLogs {
    /// `resource` = 1.
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// `scope_logs` = 2.
    #[prost(message, repeated, tag = "2")]
    pub scope_logs: Vec<ScopeLogs>,
    /// `schema_url` = 3.
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `logs.v1.ScopeLogs`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScopeLogs {
    /// `scope` = 1.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// `log_records` = 2.
    #[prost(message, repeated, tag = "2")]
    pub log_records: Vec<LogRecord>,
    /// `schema_url` = 3.
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `logs.v1.LogRecord`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LogRecord {
    /// `time_unix_nano` = 1 (0: unknown).
    #[prost(fixed64, tag = "1")]
    pub time_unix_nano: u64,
    /// `observed_time_unix_nano` = 11.
    #[prost(fixed64, tag = "11")]
    pub observed_time_unix_nano: u64,
    /// `severity_number` = 2 (`SeverityNumber`, 0 unspecified, 1..=24).
    #[prost(int32, tag = "2")]
    pub severity_number: i32,
    /// `severity_text` = 3.
    #[prost(string, tag = "3")]
    pub severity_text: String,
    /// `body` = 5.
    #[prost(message, optional, tag = "5")]
    pub body: Option<AnyValue>,
    /// `attributes` = 6.
    #[prost(message, repeated, tag = "6")]
    pub attributes: Vec<KeyValue>,
    /// `dropped_attributes_count` = 7.
    #[prost(uint32, tag = "7")]
    pub dropped_attributes_count: u32,
    /// `flags` = 8 (low 8 bits: W3C trace flags).
    #[prost(fixed32, tag = "8")]
    pub flags: u32,
    /// `trace_id` = 9 (16 bytes, or empty).
    #[prost(bytes = "vec", tag = "9")]
    pub trace_id: Vec<u8>,
    /// `span_id` = 10 (8 bytes, or empty).
    #[prost(bytes = "vec", tag = "10")]
    pub span_id: Vec<u8>,
    /// `event_name` = 12.
    #[prost(string, tag = "12")]
    pub event_name: String,
}

// ---- metrics/v1 ---------------------------------------------------------------------------

/// `AggregationTemporality` numbers.
pub mod temporality {
    /// `AGGREGATION_TEMPORALITY_UNSPECIFIED`.
    pub const UNSPECIFIED: i32 = 0;
    /// `AGGREGATION_TEMPORALITY_DELTA`.
    pub const DELTA: i32 = 1;
    /// `AGGREGATION_TEMPORALITY_CUMULATIVE`.
    pub const CUMULATIVE: i32 = 2;
}

/// `metrics.v1.ResourceMetrics`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceMetrics {
    /// `resource` = 1.
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// `scope_metrics` = 2.
    #[prost(message, repeated, tag = "2")]
    pub scope_metrics: Vec<ScopeMetrics>,
    /// `schema_url` = 3.
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `metrics.v1.ScopeMetrics`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ScopeMetrics {
    /// `scope` = 1.
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    /// `metrics` = 2.
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    /// `schema_url` = 3.
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `metrics.v1.Metric`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// `name` = 1.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `description` = 2.
    #[prost(string, tag = "2")]
    pub description: String,
    /// `unit` = 3.
    #[prost(string, tag = "3")]
    pub unit: String,
    /// `data`: gauge = 5, sum = 7, histogram = 9, exponential_histogram = 10, summary = 11.
    #[prost(oneof = "metric::Data", tags = "5, 7, 9, 10, 11")]
    pub data: Option<metric::Data>,
    /// `metadata` = 12.
    #[prost(message, repeated, tag = "12")]
    pub metadata: Vec<KeyValue>,
}

/// The oneof of [`Metric`].
pub mod metric {
    /// `Metric.data`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Data {
        /// `gauge` = 5.
        #[prost(message, tag = "5")]
        Gauge(super::Gauge),
        /// `sum` = 7.
        #[prost(message, tag = "7")]
        Sum(super::Sum),
        /// `histogram` = 9.
        #[prost(message, tag = "9")]
        Histogram(super::Histogram),
        /// `exponential_histogram` = 10.
        #[prost(message, tag = "10")]
        ExponentialHistogram(super::ExponentialHistogram),
        /// `summary` = 11.
        #[prost(message, tag = "11")]
        Summary(super::Summary),
    }
}

/// `metrics.v1.Gauge`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Gauge {
    /// `data_points` = 1.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
}

/// `metrics.v1.Sum`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sum {
    /// `data_points` = 1.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<NumberDataPoint>,
    /// `aggregation_temporality` = 2 ([`temporality`]).
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
    /// `is_monotonic` = 3.
    #[prost(bool, tag = "3")]
    pub is_monotonic: bool,
}

/// `metrics.v1.Histogram`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    /// `data_points` = 1.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<HistogramDataPoint>,
    /// `aggregation_temporality` = 2.
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
}

/// `metrics.v1.ExponentialHistogram` (received and refused: its points are counted
/// rejected; the data points themselves are not decoded).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExponentialHistogram {
    /// `data_points` = 1, kept undecoded (only their number matters).
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub data_points: Vec<Vec<u8>>,
    /// `aggregation_temporality` = 2.
    #[prost(int32, tag = "2")]
    pub aggregation_temporality: i32,
}

/// `metrics.v1.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// `data_points` = 1.
    #[prost(message, repeated, tag = "1")]
    pub data_points: Vec<SummaryDataPoint>,
}

/// `metrics.v1.NumberDataPoint`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NumberDataPoint {
    /// `attributes` = 7.
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    /// `start_time_unix_nano` = 2.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// `time_unix_nano` = 3.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// `value`: as_double = 4, as_int = 6.
    #[prost(oneof = "number_data_point::Value", tags = "4, 6")]
    pub value: Option<number_data_point::Value>,
    /// `flags` = 8 (bit 0: no recorded value).
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

/// The oneof of [`NumberDataPoint`].
pub mod number_data_point {
    /// `NumberDataPoint.value`.
    #[derive(Clone, Copy, PartialEq, prost::Oneof)]
    pub enum Value {
        /// `as_double` = 4.
        #[prost(double, tag = "4")]
        AsDouble(f64),
        /// `as_int` = 6 (`sfixed64`).
        #[prost(sfixed64, tag = "6")]
        AsInt(i64),
    }
}

/// `metrics.v1.HistogramDataPoint`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramDataPoint {
    /// `attributes` = 9.
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    /// `start_time_unix_nano` = 2.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// `time_unix_nano` = 3.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// `count` = 4.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// `sum` = 5 (optional).
    #[prost(double, optional, tag = "5")]
    pub sum: Option<f64>,
    /// `bucket_counts` = 6: per bucket (not cumulative), one more than the bounds.
    #[prost(fixed64, repeated, tag = "6")]
    pub bucket_counts: Vec<u64>,
    /// `explicit_bounds` = 7: the buckets' upper bounds, strictly increasing, no +Inf.
    #[prost(double, repeated, tag = "7")]
    pub explicit_bounds: Vec<f64>,
    /// `flags` = 10.
    #[prost(uint32, tag = "10")]
    pub flags: u32,
    /// `min` = 11 (optional).
    #[prost(double, optional, tag = "11")]
    pub min: Option<f64>,
    /// `max` = 12 (optional).
    #[prost(double, optional, tag = "12")]
    pub max: Option<f64>,
}

/// `metrics.v1.SummaryDataPoint`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryDataPoint {
    /// `attributes` = 7.
    #[prost(message, repeated, tag = "7")]
    pub attributes: Vec<KeyValue>,
    /// `start_time_unix_nano` = 2.
    #[prost(fixed64, tag = "2")]
    pub start_time_unix_nano: u64,
    /// `time_unix_nano` = 3.
    #[prost(fixed64, tag = "3")]
    pub time_unix_nano: u64,
    /// `count` = 4.
    #[prost(fixed64, tag = "4")]
    pub count: u64,
    /// `sum` = 5.
    #[prost(double, tag = "5")]
    pub sum: f64,
    /// `quantile_values` = 6.
    #[prost(message, repeated, tag = "6")]
    pub quantile_values: Vec<ValueAtQuantile>,
    /// `flags` = 8.
    #[prost(uint32, tag = "8")]
    pub flags: u32,
}

/// `metrics.v1.SummaryDataPoint.ValueAtQuantile`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueAtQuantile {
    /// `quantile` = 1.
    #[prost(double, tag = "1")]
    pub quantile: f64,
    /// `value` = 2.
    #[prost(double, tag = "2")]
    pub value: f64,
}

// ---- collector/{logs,metrics}/v1 ----------------------------------------------------------

/// `collector.logs.v1.ExportLogsServiceRequest` (POST `/v1/logs`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportLogsServiceRequest {
    /// `resource_logs` = 1.
    #[prost(message, repeated, tag = "1")]
    pub resource_logs: Vec<ResourceLogs>,
}

/// `collector.logs.v1.ExportLogsServiceResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportLogsServiceResponse {
    /// `partial_success` = 1.
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportLogsPartialSuccess>,
}

/// `collector.logs.v1.ExportLogsPartialSuccess`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportLogsPartialSuccess {
    /// `rejected_log_records` = 1.
    #[prost(int64, tag = "1")]
    pub rejected_log_records: i64,
    /// `error_message` = 2.
    #[prost(string, tag = "2")]
    pub error_message: String,
}

/// `collector.metrics.v1.ExportMetricsServiceRequest` (POST `/v1/metrics`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportMetricsServiceRequest {
    /// `resource_metrics` = 1.
    #[prost(message, repeated, tag = "1")]
    pub resource_metrics: Vec<ResourceMetrics>,
}

/// `collector.metrics.v1.ExportMetricsServiceResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportMetricsServiceResponse {
    /// `partial_success` = 1.
    #[prost(message, optional, tag = "1")]
    pub partial_success: Option<ExportMetricsPartialSuccess>,
}

/// `collector.metrics.v1.ExportMetricsPartialSuccess`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExportMetricsPartialSuccess {
    /// `rejected_data_points` = 1.
    #[prost(int64, tag = "1")]
    pub rejected_data_points: i64,
    /// `error_message` = 2.
    #[prost(string, tag = "2")]
    pub error_message: String,
}
