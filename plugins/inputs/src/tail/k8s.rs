//! Kubernetes coordinates from a container log path, so every record carries them before any
//! metadata lookup:
//!
//! - kubelet: `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log` (also the
//!   rotated `<restart>.log.<YYYYMMDD-HHMMSS>`); namespace and pod names are DNS-1123 and
//!   contain no `_`, so the directory splits into exactly three fields;
//! - the `/var/log/containers/<pod>_<namespace>_<container>-<container id>.log` symlinks
//!   (no uid nor restart count there).
//!
//! With the path itself (`file`) they make the attributes of a file's records (`attrs_for`).

use std::path::Path;

use gleaner_api::{FieldValue, Key};

use super::decode::FileAttrs;

/// What a log path tells about its container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Coordinates {
    /// Namespace.
    pub(crate) namespace: String,
    /// Pod name.
    pub(crate) pod: String,
    /// Pod uid (kubelet layout only).
    pub(crate) pod_uid: Option<String>,
    /// Container name.
    pub(crate) container: String,
    /// Restart count (kubelet layout only).
    pub(crate) restart: Option<i64>,
}

/// The coordinates in `path`, when it follows one of the two layouts.
pub(crate) fn coordinates(path: &Path) -> Option<Coordinates> {
    let file = path.file_name()?.to_str()?;
    let parent = path.parent()?;
    let container = parent.file_name()?.to_str()?;
    let pod_dir = parent.parent()?;
    if let Some(pod_dir_name) = pod_dir.file_name().and_then(|n| n.to_str())
        && let Some(restart) = restart_count(file)
    {
        let mut parts = pod_dir_name.split('_');
        if let (Some(ns), Some(pod), Some(uid), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
            && !ns.is_empty()
            && !pod.is_empty()
            && !uid.is_empty()
            && !container.is_empty()
        {
            return Some(Coordinates {
                namespace: ns.to_owned(),
                pod: pod.to_owned(),
                pod_uid: Some(uid.to_owned()),
                container: container.to_owned(),
                restart: Some(restart),
            });
        }
    }
    // /var/log/containers/<pod>_<namespace>_<container>-<id>.log
    let stem = file.strip_suffix(".log")?;
    let mut parts = stem.split('_');
    let (pod, ns, rest) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || pod.is_empty() || ns.is_empty() {
        return None;
    }
    let (container, id) = rest.rsplit_once('-')?;
    if container.is_empty() || id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(Coordinates {
        namespace: ns.to_owned(),
        pod: pod.to_owned(),
        pod_uid: None,
        container: container.to_owned(),
        restart: None,
    })
}

/// `3` from `3.log` or `3.log.20240102-030405`.
/// `file` and the Kubernetes coordinates of a path: the attributes every record of the
/// file carries.
pub(crate) fn attrs_for(path: &Path) -> FileAttrs {
    let mut attrs = vec![(
        Key::from_static("file"),
        FieldValue::String(path.to_string_lossy().into()),
    )];
    if let Some(c) = coordinates(path) {
        attrs.push((
            Key::from_static("k8s.namespace"),
            FieldValue::String(c.namespace.into()),
        ));
        attrs.push((
            Key::from_static("k8s.pod"),
            FieldValue::String(c.pod.into()),
        ));
        if let Some(uid) = c.pod_uid {
            attrs.push((
                Key::from_static("k8s.pod_uid"),
                FieldValue::String(uid.into()),
            ));
        }
        attrs.push((
            Key::from_static("k8s.container"),
            FieldValue::String(c.container.into()),
        ));
        if let Some(r) = c.restart {
            attrs.push((Key::from_static("k8s.restart_count"), FieldValue::Int(r)));
        }
    }
    FileAttrs {
        attrs: attrs.into(),
    }
}

fn restart_count(file: &str) -> Option<i64> {
    let (n, rest) = file.split_once(".log")?;
    if !(rest.is_empty() || rest.starts_with('.')) || n.is_empty() {
        return None;
    }
    if !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    n.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Coordinates, coordinates};

    #[test]
    fn kubelet_layout() {
        let c = coordinates(Path::new(
            "/var/log/pods/kube-system_coredns-5d78c9869d-abcde_0f1e2d3c-aaaa-bbbb-cccc-1234567890ab/coredns/2.log",
        ))
        .unwrap();
        assert_eq!(
            c,
            Coordinates {
                namespace: "kube-system".into(),
                pod: "coredns-5d78c9869d-abcde".into(),
                pod_uid: Some("0f1e2d3c-aaaa-bbbb-cccc-1234567890ab".into()),
                container: "coredns".into(),
                restart: Some(2),
            }
        );
        let rotated =
            coordinates(Path::new("/var/log/pods/ns_p_u/c/0.log.20240102-030405")).unwrap();
        assert_eq!(rotated.restart, Some(0));
    }

    #[test]
    fn containers_symlink_layout() {
        let c = coordinates(Path::new(
            "/var/log/containers/web-0_default_nginx-0123456789abcdef.log",
        ))
        .unwrap();
        assert_eq!(c.namespace, "default");
        assert_eq!(c.pod, "web-0");
        assert_eq!(c.container, "nginx");
        assert_eq!(c.pod_uid, None);
    }

    #[test]
    fn other_paths() {
        assert_eq!(coordinates(Path::new("/var/log/syslog")), None);
        assert_eq!(coordinates(Path::new("/tmp/app/x/1.log")), None);
        assert_eq!(coordinates(Path::new("/var/log/pods/a_b/c/0.log")), None);
        assert_eq!(coordinates(Path::new("/var/log/pods/a_b_c/c/x.log")), None);
    }
}
