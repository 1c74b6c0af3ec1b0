"""A minimal OTLP/HTTP receiver on the official opentelemetry-proto messages: decodes every
POST to /v1/logs and /v1/metrics and appends one JSON line per request to OUT, so the Rust
test (tests/e2e/otlp.rs) can check ids and resource grouping. Answers 200 with an empty
Export*ServiceResponse.

usage: receiver.py PORT OUT
"""
import gzip
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

port, out = int(sys.argv[1]), sys.argv[2]


def value(v):
    kind = v.WhichOneof("value")
    return None if kind is None else getattr(v, kind)


def attrs(kvs):
    return {kv.key: value(kv.value) for kv in kvs}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        line = {"path": self.path, "content_type": self.headers.get("Content-Type")}
        if self.path == "/v1/logs":
            req = logs_service_pb2.ExportLogsServiceRequest()
            req.ParseFromString(body)
            line["resources"] = [{
                "resource": attrs(rl.resource.attributes),
                "records": [{
                    "body": value(r.body), "attributes": attrs(r.attributes),
                    "severity_text": r.severity_text, "severity_number": r.severity_number,
                    "time_unix_nano": r.time_unix_nano,
                } for sl in rl.scope_logs for r in sl.log_records],
            } for rl in req.resource_logs]
            resp = logs_service_pb2.ExportLogsServiceResponse()
        elif self.path == "/v1/metrics":
            req = metrics_service_pb2.ExportMetricsServiceRequest()
            req.ParseFromString(body)
            metrics = []
            for rm in req.resource_metrics:
                for sm in rm.scope_metrics:
                    for m in sm.metrics:
                        kind = m.WhichOneof("data")
                        data = getattr(m, kind)
                        points = []
                        for p in data.data_points:
                            point = {"attributes": attrs(p.attributes), "time": p.time_unix_nano}
                            if kind in ("gauge", "sum"):
                                point["value"] = getattr(p, p.WhichOneof("value"))
                            elif kind == "histogram":
                                point.update(count=p.count, sum=p.sum,
                                             bucket_counts=list(p.bucket_counts),
                                             explicit_bounds=list(p.explicit_bounds))
                            elif kind == "summary":
                                point.update(count=p.count, sum=p.sum, quantiles=[
                                    [q.quantile, q.value] for q in p.quantile_values])
                            points.append(point)
                        metrics.append({
                            "resource": attrs(rm.resource.attributes), "name": m.name,
                            "kind": kind, "monotonic": getattr(data, "is_monotonic", None),
                            "temporality": getattr(data, "aggregation_temporality", None),
                            "metadata": attrs(m.metadata), "points": points})
            line["metrics"] = metrics
            resp = metrics_service_pb2.ExportMetricsServiceResponse()
        else:
            self.send_response(404)
            self.end_headers()
            return
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")
        payload = resp.SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
