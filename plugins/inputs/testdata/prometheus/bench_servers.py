# The two HTTP peers of bench_10k.sh: a generated 10,000-series exposition page on port ARG1
# and a remote-write sink answering 204 on port ARG2.
import http.server, socketserver, sys, threading
fam, per = 100, 100
lines = []
for f in range(fam):
    kind = "counter" if f % 2 == 0 else "gauge"
    lines.append(f"# HELP app_metric_{f} Generated family {f}.\n# TYPE app_metric_{f} {kind}\n")
    for i in range(per):
        lines.append(f'app_metric_{f}{{namespace="ns-{i%7}",pod="pod-{f}-{i}",container="app"}} {(f*1000+i)*1.5}\n')
PAGE = "".join(lines).encode()
class Page(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers(); self.wfile.write(PAGE)
    def log_message(self, *a): pass
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    n = 0
    def do_POST(self):
        l = int(self.headers.get("Content-Length", 0)); self.rfile.read(l)
        Sink.n += 1
        self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
class T(socketserver.ThreadingMixIn, http.server.HTTPServer): daemon_threads = True
a = T(("127.0.0.1", int(sys.argv[1])), Page); b = T(("127.0.0.1", int(sys.argv[2])), Sink)
threading.Thread(target=a.serve_forever, daemon=True).start()
print(len(PAGE), flush=True)
b.serve_forever()
