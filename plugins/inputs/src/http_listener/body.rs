//! The errors of a gzip body (decompressed in pieces by `pieces.rs`, within `max_body_size`:
//! a small gzip body must not expand into gigabytes). Reading bodies within limits is the
//! shared listener's ([`gleaner_api::listener::http::body`]).

/// Why a gzip body could not be decompressed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GunzipError {
    /// Decompressed, it is larger than the limit.
    #[error("decompressed request body larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// Not valid gzip.
    #[error("invalid gzip body: {0}")]
    Invalid(std::io::Error),
}
