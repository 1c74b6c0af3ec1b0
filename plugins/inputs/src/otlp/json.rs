//! OTLP/JSON → the protobuf messages (the specification's "JSON Protobuf Encoding"): field
//! names in lowerCamelCase (the proto names in snake_case are accepted too), 64-bit integers
//! as strings or numbers, enums as numbers, `traceId`/`spanId` as hex (not base64, unlike
//! other bytes), unknown fields ignored. Read by hand from `serde_json::Value`: the messages
//! carry no serde derives, and a request is small next to its events. One reader per
//! message, in the order of the `.proto` files, which makes this file a little long.

use base64::Engine as _;
use gleaner_api::otlp::proto::{
    AnyValue, ArrayValue, ExportLogsServiceRequest, ExportMetricsServiceRequest, Gauge, Histogram,
    HistogramDataPoint, InstrumentationScope, KeyValue, KeyValueList, LogRecord, Metric,
    NumberDataPoint, Resource, ResourceLogs, ResourceMetrics, ScopeLogs, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, ValueAtQuantile, any_value, metric::Data, number_data_point,
};
use gleaner_api::otlp::unhex;
use serde_json::{Map, Value};

type Obj = Map<String, Value>;
type R<T> = Result<T, String>;

/// An `ExportLogsServiceRequest` from its JSON form.
pub(crate) fn logs_request(body: &[u8]) -> R<ExportLogsServiceRequest> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let o = obj(&v, "request")?;
    Ok(ExportLogsServiceRequest {
        resource_logs: list(o, "resourceLogs", "resource_logs", resource_logs)?,
    })
}

/// An `ExportMetricsServiceRequest` from its JSON form.
pub(crate) fn metrics_request(body: &[u8]) -> R<ExportMetricsServiceRequest> {
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let o = obj(&v, "request")?;
    Ok(ExportMetricsServiceRequest {
        resource_metrics: list(o, "resourceMetrics", "resource_metrics", resource_metrics)?,
    })
}

fn obj<'a>(v: &'a Value, what: &str) -> R<&'a Obj> {
    v.as_object()
        .ok_or_else(|| format!("{what}: expected an object"))
}

fn get<'a>(o: &'a Obj, camel: &str, snake: &str) -> Option<&'a Value> {
    o.get(camel)
        .or_else(|| o.get(snake))
        .filter(|v| !v.is_null())
}

fn list<T>(o: &Obj, camel: &str, snake: &str, each: fn(&Value) -> R<T>) -> R<Vec<T>> {
    match get(o, camel, snake) {
        None => Ok(Vec::new()),
        Some(Value::Array(a)) => a.iter().map(each).collect(),
        Some(_) => Err(format!("{camel}: expected an array")),
    }
}

fn string(o: &Obj, camel: &str, snake: &str) -> R<String> {
    match get(o, camel, snake) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{camel}: expected a string")),
    }
}

/// A 64-bit unsigned integer: a string of digits or a number.
fn u64_of(o: &Obj, camel: &str, snake: &str) -> R<u64> {
    match get(o, camel, snake) {
        None => Ok(0),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| format!("{camel}: {s:?} is not an unsigned integer")),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("{camel}: {n} is not an unsigned integer")),
        Some(_) => Err(format!("{camel}: expected an integer")),
    }
}

fn i64_value(v: &Value, what: &str) -> R<i64> {
    match v {
        Value::String(s) => s
            .parse()
            .map_err(|_| format!("{what}: {s:?} is not an integer")),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("{what}: {n} is not an integer")),
        _ => Err(format!("{what}: expected an integer")),
    }
}

fn i32_of(o: &Obj, camel: &str, snake: &str) -> R<i32> {
    match get(o, camel, snake) {
        None => Ok(0),
        Some(v) => {
            i32::try_from(i64_value(v, camel)?).map_err(|_| format!("{camel}: out of range"))
        }
    }
}

fn f64_value(v: &Value, what: &str) -> R<f64> {
    match v {
        Value::Number(n) => n.as_f64().ok_or_else(|| format!("{what}: not a number")),
        // The JSON mapping writes the special values as strings.
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other
                .parse()
                .map_err(|_| format!("{what}: {other:?} is not a number")),
        },
        _ => Err(format!("{what}: expected a number")),
    }
}

fn f64_opt(o: &Obj, camel: &str, snake: &str) -> R<Option<f64>> {
    get(o, camel, snake)
        .map(|v| f64_value(v, camel))
        .transpose()
}

fn bool_of(o: &Obj, camel: &str, snake: &str) -> R<bool> {
    match get(o, camel, snake) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{camel}: expected a boolean")),
    }
}

/// `traceId` / `spanId`: hex.
fn id(o: &Obj, camel: &str, snake: &str) -> R<Vec<u8>> {
    let s = string(o, camel, snake)?;
    unhex(&s).ok_or_else(|| format!("{camel}: {s:?} is not hex"))
}

fn any_value(v: &Value) -> R<AnyValue> {
    let o = obj(v, "value")?;
    use any_value::Value as V;
    let value = if let Some(s) = get(o, "stringValue", "string_value") {
        Some(V::StringValue(
            s.as_str()
                .ok_or("stringValue: expected a string")?
                .to_owned(),
        ))
    } else if let Some(b) = get(o, "boolValue", "bool_value") {
        Some(V::BoolValue(
            b.as_bool().ok_or("boolValue: expected a boolean")?,
        ))
    } else if let Some(i) = get(o, "intValue", "int_value") {
        Some(V::IntValue(i64_value(i, "intValue")?))
    } else if let Some(d) = get(o, "doubleValue", "double_value") {
        Some(V::DoubleValue(f64_value(d, "doubleValue")?))
    } else if let Some(a) = get(o, "arrayValue", "array_value") {
        Some(V::ArrayValue(ArrayValue {
            values: list(obj(a, "arrayValue")?, "values", "values", any_value)?,
        }))
    } else if let Some(l) = get(o, "kvlistValue", "kvlist_value") {
        Some(V::KvlistValue(KeyValueList {
            values: list(obj(l, "kvlistValue")?, "values", "values", key_value)?,
        }))
    } else if let Some(b) = get(o, "bytesValue", "bytes_value") {
        let s = b.as_str().ok_or("bytesValue: expected a string")?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| format!("bytesValue: {e}"))?;
        Some(V::BytesValue(bytes))
    } else {
        None
    };
    Ok(AnyValue { value })
}

fn key_value(v: &Value) -> R<KeyValue> {
    let o = obj(v, "attribute")?;
    Ok(KeyValue {
        key: string(o, "key", "key")?,
        value: get(o, "value", "value").map(any_value).transpose()?,
    })
}

fn attributes(o: &Obj) -> R<Vec<KeyValue>> {
    list(o, "attributes", "attributes", key_value)
}

fn resource(o: &Obj) -> R<Option<Resource>> {
    get(o, "resource", "resource")
        .map(|r| {
            let r = obj(r, "resource")?;
            Ok(Resource {
                attributes: attributes(r)?,
                dropped_attributes_count: 0,
            })
        })
        .transpose()
}

fn scope(o: &Obj) -> R<Option<InstrumentationScope>> {
    get(o, "scope", "scope")
        .map(|s| {
            let s = obj(s, "scope")?;
            Ok(InstrumentationScope {
                name: string(s, "name", "name")?,
                version: string(s, "version", "version")?,
                attributes: attributes(s)?,
                dropped_attributes_count: 0,
            })
        })
        .transpose()
}

fn resource_logs(v: &Value) -> R<ResourceLogs> {
    let o = obj(v, "resourceLogs")?;
    Ok(ResourceLogs {
        resource: resource(o)?,
        scope_logs: list(o, "scopeLogs", "scope_logs", scope_logs)?,
        schema_url: string(o, "schemaUrl", "schema_url")?,
    })
}

fn scope_logs(v: &Value) -> R<ScopeLogs> {
    let o = obj(v, "scopeLogs")?;
    Ok(ScopeLogs {
        scope: scope(o)?,
        log_records: list(o, "logRecords", "log_records", log_record)?,
        schema_url: string(o, "schemaUrl", "schema_url")?,
    })
}

fn log_record(v: &Value) -> R<LogRecord> {
    let o = obj(v, "logRecord")?;
    Ok(LogRecord {
        time_unix_nano: u64_of(o, "timeUnixNano", "time_unix_nano")?,
        observed_time_unix_nano: u64_of(o, "observedTimeUnixNano", "observed_time_unix_nano")?,
        severity_number: i32_of(o, "severityNumber", "severity_number")?,
        severity_text: string(o, "severityText", "severity_text")?,
        body: get(o, "body", "body").map(any_value).transpose()?,
        attributes: attributes(o)?,
        dropped_attributes_count: 0,
        flags: u32::try_from(u64_of(o, "flags", "flags")?).map_err(|_| "flags: out of range")?,
        trace_id: id(o, "traceId", "trace_id")?,
        span_id: id(o, "spanId", "span_id")?,
        event_name: string(o, "eventName", "event_name")?,
    })
}

fn resource_metrics(v: &Value) -> R<ResourceMetrics> {
    let o = obj(v, "resourceMetrics")?;
    Ok(ResourceMetrics {
        resource: resource(o)?,
        scope_metrics: list(o, "scopeMetrics", "scope_metrics", scope_metrics)?,
        schema_url: string(o, "schemaUrl", "schema_url")?,
    })
}

fn scope_metrics(v: &Value) -> R<ScopeMetrics> {
    let o = obj(v, "scopeMetrics")?;
    Ok(ScopeMetrics {
        scope: scope(o)?,
        metrics: list(o, "metrics", "metrics", metric)?,
        schema_url: string(o, "schemaUrl", "schema_url")?,
    })
}

fn metric(v: &Value) -> R<Metric> {
    let o = obj(v, "metric")?;
    let points = |d: &Obj| list(d, "dataPoints", "data_points", number_point);
    let data = if let Some(g) = get(o, "gauge", "gauge") {
        Some(Data::Gauge(Gauge {
            data_points: points(obj(g, "gauge")?)?,
        }))
    } else if let Some(s) = get(o, "sum", "sum") {
        let s = obj(s, "sum")?;
        Some(Data::Sum(Sum {
            data_points: points(s)?,
            aggregation_temporality: i32_of(
                s,
                "aggregationTemporality",
                "aggregation_temporality",
            )?,
            is_monotonic: bool_of(s, "isMonotonic", "is_monotonic")?,
        }))
    } else if let Some(h) = get(o, "histogram", "histogram") {
        let h = obj(h, "histogram")?;
        Some(Data::Histogram(Histogram {
            data_points: list(h, "dataPoints", "data_points", histogram_point)?,
            aggregation_temporality: i32_of(
                h,
                "aggregationTemporality",
                "aggregation_temporality",
            )?,
        }))
    } else if let Some(s) = get(o, "summary", "summary") {
        Some(Data::Summary(Summary {
            data_points: list(
                obj(s, "summary")?,
                "dataPoints",
                "data_points",
                summary_point,
            )?,
        }))
    } else if let Some(e) = get(o, "exponentialHistogram", "exponential_histogram") {
        let n = match get(obj(e, "exponentialHistogram")?, "dataPoints", "data_points") {
            Some(Value::Array(a)) => a.len(),
            _ => 0,
        };
        Some(Data::ExponentialHistogram(
            gleaner_api::otlp::proto::ExponentialHistogram {
                data_points: vec![Vec::new(); n],
                aggregation_temporality: 0,
            },
        ))
    } else {
        None
    };
    Ok(Metric {
        name: string(o, "name", "name")?,
        description: string(o, "description", "description")?,
        unit: string(o, "unit", "unit")?,
        data,
        metadata: list(o, "metadata", "metadata", key_value)?,
    })
}

fn number_point(v: &Value) -> R<NumberDataPoint> {
    let o = obj(v, "dataPoint")?;
    let value = if let Some(d) = get(o, "asDouble", "as_double") {
        Some(number_data_point::Value::AsDouble(f64_value(
            d, "asDouble",
        )?))
    } else if let Some(i) = get(o, "asInt", "as_int") {
        Some(number_data_point::Value::AsInt(i64_value(i, "asInt")?))
    } else {
        None
    };
    Ok(NumberDataPoint {
        attributes: attributes(o)?,
        start_time_unix_nano: u64_of(o, "startTimeUnixNano", "start_time_unix_nano")?,
        time_unix_nano: u64_of(o, "timeUnixNano", "time_unix_nano")?,
        value,
        flags: u32::try_from(u64_of(o, "flags", "flags")?).map_err(|_| "flags: out of range")?,
    })
}

fn histogram_point(v: &Value) -> R<HistogramDataPoint> {
    let o = obj(v, "dataPoint")?;
    let counts = match get(o, "bucketCounts", "bucket_counts") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|c| {
                i64_value(c, "bucketCounts")
                    .and_then(|i| u64::try_from(i).map_err(|_| "bucketCounts: negative".to_owned()))
            })
            .collect::<R<Vec<u64>>>()?,
        Some(_) => return Err("bucketCounts: expected an array".to_owned()),
    };
    let bounds = match get(o, "explicitBounds", "explicit_bounds") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|b| f64_value(b, "explicitBounds"))
            .collect::<R<Vec<f64>>>()?,
        Some(_) => return Err("explicitBounds: expected an array".to_owned()),
    };
    Ok(HistogramDataPoint {
        attributes: attributes(o)?,
        start_time_unix_nano: u64_of(o, "startTimeUnixNano", "start_time_unix_nano")?,
        time_unix_nano: u64_of(o, "timeUnixNano", "time_unix_nano")?,
        count: u64_of(o, "count", "count")?,
        sum: f64_opt(o, "sum", "sum")?,
        bucket_counts: counts,
        explicit_bounds: bounds,
        flags: 0,
        min: f64_opt(o, "min", "min")?,
        max: f64_opt(o, "max", "max")?,
    })
}

fn summary_point(v: &Value) -> R<SummaryDataPoint> {
    let o = obj(v, "dataPoint")?;
    let quantile = |q: &Value| -> R<ValueAtQuantile> {
        let q = obj(q, "quantileValues")?;
        Ok(ValueAtQuantile {
            quantile: f64_opt(q, "quantile", "quantile")?.unwrap_or(0.0),
            value: f64_opt(q, "value", "value")?.unwrap_or(0.0),
        })
    };
    let quantile_values = match get(o, "quantileValues", "quantile_values") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.iter().map(quantile).collect::<R<Vec<_>>>()?,
        Some(_) => return Err("quantileValues: expected an array".to_owned()),
    };
    Ok(SummaryDataPoint {
        attributes: attributes(o)?,
        start_time_unix_nano: u64_of(o, "startTimeUnixNano", "start_time_unix_nano")?,
        time_unix_nano: u64_of(o, "timeUnixNano", "time_unix_nano")?,
        count: u64_of(o, "count", "count")?,
        sum: f64_opt(o, "sum", "sum")?.unwrap_or(0.0),
        quantile_values,
        flags: 0,
    })
}
