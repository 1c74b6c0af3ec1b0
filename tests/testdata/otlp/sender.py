"""Pushes logs and metrics with unique ids to an OTLP/HTTP endpoint with OpenTelemetry's own
Python SDK and exporters (the real peer of inputs.otlp in tests/e2e/otlp.rs).

usage: sender.py ENDPOINT RUN_ID N
Logs: N records, body "log <RUN_ID>-<i>", attribute id=<RUN_ID>-<i>, seq=i, severity WARN.
Metrics: a counter and a histogram per id (attribute id), exported once, at shutdown.
"""
import logging
import sys

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

endpoint, run_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
resource = Resource.create({"service.name": "otlp-e2e", "k8s.pod.name": "sender-pod",
                            "k8s.namespace.name": "e2e"})

logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(
    BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{endpoint}/v1/logs"), max_export_batch_size=100))
otel_logger = logger_provider.get_logger("e2e.sender", "1.2.3")

reader = PeriodicExportingMetricReader(
    OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"), export_interval_millis=3_600_000)
meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
meter = meter_provider.get_meter("e2e.meter", "0.1")
counter = meter.create_counter("e2e_requests", unit="1")
histogram = meter.create_histogram("e2e_latency", unit="s")

for i in range(n):
    ident = f"{run_id}-{i}"
    otel_logger.emit(severity_text="WARN", severity_number=SeverityNumber.WARN,
                     body=f"log {ident}", attributes={"id": ident, "seq": i, "ok": True})
    counter.add(i + 1, {"id": ident})
    histogram.record(0.25 * (i % 8), {"id": ident})

ok_logs = logger_provider.force_flush(30_000)
logger_provider.shutdown()
# Shutting down collects and exports once (a flush before it would export the cumulative
# series a second time).
meter_provider.shutdown()
if not ok_logs:
    print("flush failed", file=sys.stderr)
    sys.exit(1)
logging.shutdown()
