//! The discovery rules: which pods, services and endpoints opt in, at which URL, with which
//! target labels (see the parent module's doc). Pure functions of cache entries.

use gleaner_kube::{EndpointSliceMeta, PodMeta, ServiceMeta, label_name};

use super::super::target::{Target, instance_of};
use super::{Discovery, Term};

fn selected(selector: &[Term], labels: &[(Box<str>, Box<str>)]) -> bool {
    let get = |k: &str| labels.iter().find(|(n, _)| &**n == k).map(|(_, v)| &**v);
    selector.iter().all(|t| match t {
        Term::Eq(k, v) => get(k) == Some(v.as_str()),
        Term::Ne(k, v) => get(k) != Some(v.as_str()),
        Term::Exists(k) => get(k).is_some(),
        Term::Absent(k) => get(k).is_none(),
    })
}

/// The opt-in annotations of an object: `gleaner.io/<k>` first, then `prometheus.io/<k>`.
fn opt_in<'a>(get: impl Fn(&str) -> Option<&'a str>, k: &str) -> Option<&'a str> {
    get(&format!("gleaner.io/{k}")).or_else(|| get(&format!("prometheus.io/{k}")))
}

fn url(scheme: &str, host: &str, port: u16, path: &str) -> Option<http::Uri> {
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    format!("{scheme}://{host}:{port}{path}").parse().ok()
}

impl Discovery {
    fn namespace_ok(&self, ns: &str) -> bool {
        self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == ns)
    }

    fn labels(&self, instance: String, mut more: Vec<(String, String)>) -> Vec<(String, String)> {
        more.push(("job".to_owned(), self.job.clone()));
        more.push(("instance".to_owned(), instance));
        more.extend(self.extra.iter().cloned());
        more
    }

    /// The target of one pod, if it opts in.
    pub(super) fn pod_target(&self, p: &PodMeta) -> Option<Target> {
        let ann = |k: &str| p.annotation(k);
        if opt_in(ann, "scrape") != Some("true")
            || &*p.phase != "Running"
            || !self.namespace_ok(&p.namespace)
            || !selected(&self.selector, &p.labels)
            || self.node.as_deref().is_some_and(|n| n != &*p.node)
        {
            return None;
        }
        let ip = p.ip.as_deref()?;
        let declared = |pred: &dyn Fn(&gleaner_kube::PortMeta) -> bool| {
            p.containers.iter().find_map(|c| {
                c.ports
                    .iter()
                    .find(|port| pred(port))
                    .map(|port| (c.name.clone(), port.port))
            })
        };
        let (container, port) = match opt_in(ann, "port").and_then(|s| s.trim().parse::<u16>().ok())
        {
            Some(port) => (declared(&|d| d.port == port).map(|(c, _)| c), port),
            None => {
                let (c, port) =
                    declared(&|d| matches!(d.name.as_deref(), Some("metrics" | "http-metrics")))?;
                (Some(c), port)
            }
        };
        let u = url(
            opt_in(ann, "scheme").unwrap_or("http"),
            ip,
            port,
            opt_in(ann, "path").unwrap_or("/metrics"),
        )?;
        let mut more = vec![
            ("namespace".to_owned(), p.namespace.to_string()),
            ("pod".to_owned(), p.name.to_string()),
            ("node".to_owned(), p.node.to_string()),
        ];
        if let Some(c) = container {
            more.push(("container".to_owned(), c.to_string()));
        }
        for (k, v) in &p.labels {
            if self.pod_labels.iter().any(|g| g.matches(k)) {
                more.push((label_name(k), v.to_string()));
            }
        }
        let instance = instance_of(&u);
        Some(Target::new(u, self.labels(instance, more)))
    }

    fn service_opts_in(&self, s: &ServiceMeta) -> bool {
        opt_in(|k| s.annotation(k), "scrape") == Some("true")
            && self.namespace_ok(&s.namespace)
            && selected(&self.selector, &s.labels)
    }

    fn service_port(s: &ServiceMeta, declared: &[gleaner_kube::NamedPort]) -> Option<u16> {
        match opt_in(|k| s.annotation(k), "port").and_then(|p| p.trim().parse().ok()) {
            Some(p) => Some(p),
            None => declared.first().map(|p| p.port),
        }
    }

    /// The target of one Service, if it opts in (`role = "service"`).
    pub(super) fn service_target(&self, s: &ServiceMeta) -> Option<Target> {
        if !self.service_opts_in(s) {
            return None;
        }
        let port = Self::service_port(s, &s.ports)?;
        let host = format!("{}.{}.svc", s.name, s.namespace);
        let ann = |k: &str| s.annotation(k);
        let u = url(
            opt_in(ann, "scheme").unwrap_or("http"),
            &host,
            port,
            opt_in(ann, "path").unwrap_or("/metrics"),
        )?;
        let more = vec![
            ("namespace".to_owned(), s.namespace.to_string()),
            ("service".to_owned(), s.name.to_string()),
        ];
        Some(Target::new(u.clone(), self.labels(instance_of(&u), more)))
    }

    /// The targets of one Service's slice (`role = "endpoints"`).
    pub(super) fn endpoint_targets(
        &self,
        s: &ServiceMeta,
        e: &EndpointSliceMeta,
        out: &mut Vec<Target>,
    ) {
        if !self.service_opts_in(s) || e.namespace != s.namespace || e.service != s.name {
            return;
        }
        let Some(port) = Self::service_port(s, &e.ports) else {
            return;
        };
        let ann = |k: &str| s.annotation(k);
        for ep in e.endpoints.iter().filter(|ep| ep.ready) {
            if let Some(n) = &self.node
                && ep.node.as_deref() != Some(n.as_str())
            {
                continue;
            }
            let Some(u) = url(
                opt_in(ann, "scheme").unwrap_or("http"),
                &ep.address,
                port,
                opt_in(ann, "path").unwrap_or("/metrics"),
            ) else {
                continue;
            };
            let mut more = vec![
                ("namespace".to_owned(), s.namespace.to_string()),
                ("service".to_owned(), s.name.to_string()),
            ];
            if let Some(p) = &ep.pod {
                more.push(("pod".to_owned(), p.to_string()));
            }
            if let Some(n) = &ep.node {
                more.push(("node".to_owned(), n.to_string()));
            }
            out.push(Target::new(u.clone(), self.labels(instance_of(&u), more)));
        }
    }
}
