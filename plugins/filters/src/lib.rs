//! `gleaner-filters`: every filter plugin, one module each, and the [`FILTERS`] registry list.

pub mod kubernetes;
pub mod static_attrs;

use gleaner_api::FilterDescriptor;

/// Every filter plugin.
pub static FILTERS: &[FilterDescriptor] = &[kubernetes::DESCRIPTOR, static_attrs::DESCRIPTOR];
