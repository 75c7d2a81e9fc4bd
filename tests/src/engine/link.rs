//! What the simulated network does to traffic: each client's link (latency,
//! jitter, partition) and the faults drawn for a run.

/// How the network treats one client's traffic.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    /// One-way base latency (ms).
    pub latency: u64,
    /// Extra delay drawn per segment, up to this (ms).
    pub jitter: u64,
    /// Nothing arrives before this instant (a partition until then).
    pub partition_until: u64,
}

/// The network's faults, drawn per run.
#[derive(Clone, Debug, Default)]
pub(crate) struct NetFaults {
    /// Writes cut into several segments, reads returned in pieces.
    pub split: bool,
    /// Percent of connects refused.
    pub refuse_pct: u64,
    /// Percent of connects never answered.
    pub blackhole_connect_pct: u64,
    /// Smallest and largest window of a pipe (bytes).
    pub window: (u64, u64),
}
