import json, sys
DS = {"type": "prometheus", "uid": "${datasource}"}
RI = "$__rate_interval"
def ds_var():
    return {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []}
def q_var(name, label, query, multi=True):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "definition": query, "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "refresh": 2, "multi": multi, "includeAll": multi, "allValue": ".*" if multi else None,
            "current": {}, "hide": 0, "options": [], "sort": 1, "regex": ""}
class Board:
    def __init__(s, uid, title, desc, variables):
        s.uid, s.title, s.desc, s.vars = uid, title, desc, variables
        s.panels = []; s.y = 0; s.x = 0
    def row(s, title):
        if s.x: s.y += 8; s.x = 0
        s.panels.append({"id": len(s.panels)+1, "type": "row", "title": title, "collapsed": False,
                         "gridPos": {"h": 1, "w": 24, "x": 0, "y": s.y}, "panels": []})
        s.y += 1
    def ts(s, title, exprs, unit="short", desc="", w=12, stack=False):
        if s.x + w > 24: s.y += 8; s.x = 0
        targets = [{"refId": chr(65+i), "datasource": DS, "expr": e, "legendFormat": l, "range": True}
                   for i, (e, l) in enumerate(exprs)]
        s.panels.append({"id": len(s.panels)+1, "type": "timeseries", "title": title, "description": desc,
            "datasource": DS, "gridPos": {"h": 8, "w": w, "x": s.x, "y": s.y}, "targets": targets,
            "fieldConfig": {"defaults": {"unit": unit, "custom": {"drawStyle": "line", "fillOpacity": 10 if not stack else 30,
                 "stacking": {"mode": "normal" if stack else "none", "group": "A"}, "showPoints": "never"}}, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                        "tooltip": {"mode": "multi", "sort": "desc"}}})
        s.x += w
        if s.x >= 24: s.y += 8; s.x = 0
    def json(s):
        return {"__inputs": [], "title": s.title, "uid": s.uid, "description": s.desc, "tags": ["gleaner"],
                "schemaVersion": 39, "version": 1, "editable": True, "graphTooltip": 1, "refresh": "30s",
                "time": {"from": "now-1h", "to": "now"}, "timepicker": {}, "timezone": "",
                "templating": {"list": s.vars}, "annotations": {"list": []}, "links": [], "panels": s.panels}

# --- Gleaner agent --------------------------------------------------------------------------
I = 'instance=~"$instance"'
a = Board("gleaner-agent", "Gleaner agent",
          "What each Gleaner agent is doing: events in and out per component, drops by reason, errors, buffers, delivery, tail, scrapes, and the agent process. Agent series come from Prometheus scraping each agent's /metrics (agent.http_listen); scrape and process series from the agent's own inputs (prometheus, internal) by remote write.",
          [ds_var(), q_var("instance", "Agent", "label_values(gleaner_build_info, instance)"),
           q_var("component", "Component", 'label_values(gleaner_component_sent_events_total{instance=~"$instance"}, component_id)'),
           q_var("host", "Node", "label_values(internal_agent_mem_rss_bytes, host)")])
C = I + ',component_id=~"$component"'
a.row("Flow")
a.ts("Events in per second", [(f'sum by (instance, component_id) (rate(gleaner_component_received_events_total{{{C}}}[{RI}]))', "{{component_id}} {{instance}}")], "ops")
a.ts("Events out per second", [(f'sum by (instance, component_id) (rate(gleaner_component_sent_events_total{{{C}}}[{RI}]))', "{{component_id}} {{instance}}")], "ops")
a.ts("Drops by reason", [(f'sum by (instance, component_id, reason) (rate(gleaner_component_discarded_events_total{{{C}}}[{RI}]))', "{{component_id}} {{reason}}")], "ops", "Events dropped on purpose (filters, throttles) or lost (full buffers, refused for good), per reason.")
a.ts("Errors by reason", [(f'sum by (instance, component_id, reason) (rate(gleaner_component_errors_total{{{C}}}[{RI}]))', "{{component_id}} {{reason}}")], "ops")
a.row("Buffers and delivery")
a.ts("Buffer bytes per output", [(f'sum by (instance, component_id) (gleaner_buffer_bytes{{{C}}})', "{{component_id}} {{instance}}")], "bytes")
a.ts("Buffer chunks per output", [(f'sum by (instance, component_id) (gleaner_buffer_chunks{{{C}}})', "{{component_id}} {{instance}}")], "short")
a.ts("Oldest unsent chunk age", [(f'max by (instance, component_id) (gleaner_buffer_oldest_chunk_age_seconds{{{C}}})', "{{component_id}} {{instance}}")], "s", "How long the oldest data of each output's buffer has waited: a growing line is a destination that does not keep up.")
a.ts("Queue depth per output", [(f'sum by (instance, component_id) (gleaner_output_queue_events{{{C}}})', "{{component_id}} {{instance}}")], "short")
a.ts("Delivery latency (mean per request)", [(f'sum by (instance, component_id) (rate(gleaner_output_send_duration_seconds_sum{{{C}}}[{RI}])) / sum by (instance, component_id) (rate(gleaner_output_send_duration_seconds_count{{{C}}}[{RI}]))', "{{component_id}} {{instance}}")], "s")
a.ts("Retried events per second", [(f'sum by (instance, component_id) (rate(gleaner_output_retried_events_total{{{C}}}[{RI}]))', "{{component_id}} {{instance}}")], "ops")
a.row("Tail")
a.ts("Files watched and open", [(f'sum by (instance, component_id) (gleaner_tail_files_watched{{{C}}})', "watched {{component_id}}"), (f'sum by (instance, component_id) (gleaner_tail_files_open{{{C}}})', "open {{component_id}}")], "short")
a.ts("Lag: bytes written but not read", [(f'sum by (instance, component_id) (gleaner_tail_lag_bytes{{{C}}})', "{{component_id}} {{instance}}")], "bytes")
a.ts("Lines read per second", [(f'sum by (instance, component_id) (rate(gleaner_tail_lines_read_total{{{C}}}[{RI}]))', "{{component_id}} {{instance}}")], "ops")
a.ts("Rotations per second", [(f'sum by (instance, component_id) (rate(gleaner_tail_rotations_total{{{C}}}[{RI}]))', "{{component_id}} {{instance}}")], "ops")
a.row("Scrapes")
a.ts("Targets up", [('sum by (job) (up{host=~"$host"})', "{{job}} up"), ('count by (job) (up{host=~"$host"})', "{{job}} targets")], "short", "From inputs.prometheus, by remote write: targets answering (up = 1) and all targets, per job.")
a.ts("Scrape duration", [('max by (job, instance) (scrape_duration_seconds{host=~"$host"})', "{{job}} {{instance}}")], "s")
a.row("Process")
a.ts("CPU (cores)", [(f'rate(internal_agent_cpu_seconds{{host=~"$host"}}[{RI}])', "{{host}}")], "short", "From inputs.internal, by remote write.")
a.ts("Memory (RSS)", [('internal_agent_mem_rss_bytes{host=~"$host"}', "{{host}}")], "bytes")
a.ts("Threads", [('internal_agent_num_threads{host=~"$host"}', "{{host}}")], "short")
a.ts("Config reloads", [(f'sum by (instance, result) (increase(gleaner_config_reloads_total{{{I}}}[{RI}]))', "{{result}} {{instance}}")], "short")

# --- Node ---------------------------------------------------------------------------------
H = 'host=~"$host"'
n = Board("gleaner-node", "Node (Gleaner host metrics)",
          "The node metrics of inputs.host (Telegraf's names) as they arrive in Prometheus by remote write.",
          [ds_var(), q_var("host", "Node", "label_values(system_load1, host)")])
n.row("CPU and load")
n.ts("CPU usage", [(f'100 - cpu_usage_idle{{{H},cpu="cpu-total"}}', "busy {{host}}"), (f'cpu_usage_iowait{{{H},cpu="cpu-total"}}', "iowait {{host}}")], "percent")
n.ts("Load", [(f'system_load1{{{H}}}', "load1 {{host}}"), (f'system_load5{{{H}}}', "load5 {{host}}"), (f'system_n_cpus{{{H}}}', "CPUs {{host}}")], "short")
n.row("Memory")
n.ts("Memory used", [(f'mem_used_percent{{{H}}}', "{{host}}")], "percent")
n.ts("Memory available", [(f'mem_available{{{H}}}', "{{host}}")], "bytes")
n.ts("Swap used", [(f'swap_used{{{H}}}', "{{host}}")], "bytes")
n.ts("Processes", [(f'processes_running{{{H}}}', "running {{host}}"), (f'processes_blocked{{{H}}}', "blocked {{host}}"), (f'processes_total{{{H}}}', "total {{host}}")], "short")
n.row("Disk")
n.ts("Disk used", [(f'disk_used_percent{{{H}}}', "{{path}} {{host}}")], "percent")
n.ts("Disk I/O", [(f'rate(diskio_read_bytes{{{H}}}[{RI}])', "read {{name}} {{host}}"), (f'rate(diskio_write_bytes{{{H}}}[{RI}])', "write {{name}} {{host}}")], "Bps")
n.row("Network")
n.ts("Network traffic", [(f'rate(net_bytes_recv{{{H}}}[{RI}])', "in {{interface}} {{host}}"), (f'rate(net_bytes_sent{{{H}}}[{RI}])', "out {{interface}} {{host}}")], "Bps")
n.ts("Network errors and drops", [(f'rate(net_err_in{{{H}}}[{RI}]) + rate(net_drop_in{{{H}}}[{RI}])', "in {{interface}} {{host}}"), (f'rate(net_err_out{{{H}}}[{RI}]) + rate(net_drop_out{{{H}}}[{RI}])', "out {{interface}} {{host}}")], "pps")

# --- Pods ---------------------------------------------------------------------------------
P = 'node_name=~"$node",namespace=~"$namespace"'
p = Board("gleaner-pods", "Pods (Gleaner kubelet metrics)",
          "The kubelet's /stats/summary as inputs.kubelet reports it (Telegraf's inputs.kubernetes names), in Prometheus by remote write.",
          [ds_var(), q_var("node", "Node", "label_values(kubernetes_node_cpu_usage_nanocores, node_name)"),
           q_var("namespace", "Namespace", 'label_values(kubernetes_pod_container_cpu_usage_nanocores{node_name=~"$node"}, namespace)')])
p.row("Node")
p.ts("Node CPU (cores)", [('kubernetes_node_cpu_usage_nanocores{node_name=~"$node"} / 1e9', "{{node_name}}")], "short")
p.ts("Node memory working set", [('kubernetes_node_memory_working_set_bytes{node_name=~"$node"}', "{{node_name}}")], "bytes")
p.ts("Node filesystem used", [('kubernetes_node_fs_used_bytes{node_name=~"$node"} / kubernetes_node_fs_capacity_bytes{node_name=~"$node"} * 100', "{{node_name}}")], "percent")
p.ts("System containers CPU (cores)", [('kubernetes_system_container_cpu_usage_nanocores{node_name=~"$node"} / 1e9', "{{container_name}} {{node_name}}")], "short")
p.row("Containers")
p.ts("Container CPU (cores)", [(f'sum by (namespace, pod_name, container_name) (kubernetes_pod_container_cpu_usage_nanocores{{{P}}}) / 1e9', "{{namespace}}/{{pod_name}}/{{container_name}}")], "short", w=24)
p.ts("Container memory working set", [(f'sum by (namespace, pod_name, container_name) (kubernetes_pod_container_memory_working_set_bytes{{{P}}})', "{{namespace}}/{{pod_name}}/{{container_name}}")], "bytes", w=24)
p.ts("Container memory RSS", [(f'sum by (namespace, pod_name, container_name) (kubernetes_pod_container_memory_rss_bytes{{{P}}})', "{{namespace}}/{{pod_name}}/{{container_name}}")], "bytes")
p.ts("Container log volume used", [(f'sum by (namespace, pod_name, container_name) (kubernetes_pod_container_logsfs_used_bytes{{{P}}})', "{{namespace}}/{{pod_name}}/{{container_name}}")], "bytes")
p.row("Network and volumes")
p.ts("Pod network", [(f'sum by (namespace, pod_name) (rate(kubernetes_pod_network_rx_bytes{{{P}}}[{RI}]))', "in {{namespace}}/{{pod_name}}"), (f'sum by (namespace, pod_name) (rate(kubernetes_pod_network_tx_bytes{{{P}}}[{RI}]))', "out {{namespace}}/{{pod_name}}")], "Bps")
p.ts("Volume used", [(f'sum by (namespace, pod_name, volume_name) (kubernetes_pod_volume_used_bytes{{{P}}})', "{{namespace}}/{{pod_name}} {{volume_name}}")], "bytes")

out = sys.argv[1]
for name, b in [("gleaner-agent", a), ("node", n), ("pods", p)]:
    with open(f"{out}/{name}.json", "w") as f:
        json.dump(b.json(), f, indent=2); f.write("\n")
