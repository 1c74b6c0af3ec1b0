//! Where events wait for their destination: one buffer per output, in memory
//! ([`memory::OutputQueue`]) or on disk ([`disk::DiskBuffer`], chunk files under
//! `<data_dir>/buffer/<output-id>/`). The router pushes batches with their acknowledgement
//! tokens; the delivery worker takes [`Delivery`]s and reports them done.
//!
//! Acknowledgement: a memory buffer settles a batch's token when it is queued; a disk buffer
//! when the bytes holding it are fsynced (`sync = "batch"`, group commit) or written
//! (`sync = "none"`).

pub mod disk;
pub mod format;
pub mod memory;
pub mod store;
