//! Disk buffer (in progress).
