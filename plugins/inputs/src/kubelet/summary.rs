//! The part of the kubelet Summary API (`GET /stats/summary`, Go types in
//! `k8s.io/kubelet/pkg/apis/stats/v1alpha1`) that `inputs.kubelet` reads, as serde types.
//!
//! Every field is optional: the Go types are pointers with `omitempty` (a value missing on a
//! kubelet's first sample, a memory limit that is not set), and Go writes a nil slice as
//! `null`. Unknown fields (newer kubelets add swap, I/O and PSI blocks, `interfaces[]`,
//! accelerators, ...) are ignored.

use serde::Deserialize;

/// `Summary`: the whole answer.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Summary {
    pub(crate) node: NodeStats,
    pub(crate) pods: Option<Vec<PodStats>>,
}

/// `NodeStats`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct NodeStats {
    pub(crate) node_name: Option<String>,
    pub(crate) system_containers: Option<Vec<ContainerStats>>,
    pub(crate) cpu: Option<CpuStats>,
    pub(crate) memory: Option<MemoryStats>,
    pub(crate) network: Option<NetworkStats>,
    pub(crate) fs: Option<FsStats>,
    pub(crate) runtime: Option<RuntimeStats>,
}

/// `RuntimeStats`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct RuntimeStats {
    pub(crate) image_fs: Option<FsStats>,
}

/// `PodStats`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct PodStats {
    pub(crate) pod_ref: PodReference,
    pub(crate) containers: Option<Vec<ContainerStats>>,
    pub(crate) network: Option<NetworkStats>,
    /// `volume` (singular in the API).
    pub(crate) volume: Option<Vec<VolumeStats>>,
}

/// `PodReference`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PodReference {
    pub(crate) name: Option<String>,
    pub(crate) namespace: Option<String>,
}

/// `ContainerStats` (also a node's system containers).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContainerStats {
    pub(crate) name: Option<String>,
    pub(crate) cpu: Option<CpuStats>,
    pub(crate) memory: Option<MemoryStats>,
    pub(crate) rootfs: Option<FsStats>,
    pub(crate) logs: Option<FsStats>,
}

/// `CPUStats`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct CpuStats {
    pub(crate) time: Option<String>,
    pub(crate) usage_nano_cores: Option<u64>,
    pub(crate) usage_core_nano_seconds: Option<u64>,
}

/// `MemoryStats`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct MemoryStats {
    pub(crate) time: Option<String>,
    pub(crate) available_bytes: Option<u64>,
    pub(crate) usage_bytes: Option<u64>,
    pub(crate) working_set_bytes: Option<u64>,
    pub(crate) rss_bytes: Option<u64>,
    pub(crate) page_faults: Option<u64>,
    pub(crate) major_page_faults: Option<u64>,
}

/// `NetworkStats`: the default interface's counters, inlined.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct NetworkStats {
    pub(crate) time: Option<String>,
    pub(crate) rx_bytes: Option<u64>,
    pub(crate) rx_errors: Option<u64>,
    pub(crate) tx_bytes: Option<u64>,
    pub(crate) tx_errors: Option<u64>,
}

/// `FsStats`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct FsStats {
    pub(crate) time: Option<String>,
    pub(crate) available_bytes: Option<u64>,
    pub(crate) capacity_bytes: Option<u64>,
    pub(crate) used_bytes: Option<u64>,
}

/// `VolumeStats`: `FsStats` inlined, plus the volume's name.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct VolumeStats {
    pub(crate) time: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) available_bytes: Option<u64>,
    pub(crate) capacity_bytes: Option<u64>,
    pub(crate) used_bytes: Option<u64>,
}
