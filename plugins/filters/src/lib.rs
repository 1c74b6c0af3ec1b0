//! `gleaner-filters`: every filter plugin, one module each, and the [`FILTERS`] registry list.
//! Shared pieces: the message parsers (`parsers`: `filters.parse` and the kubernetes
//! filter's annotation), conditions (`select`, `throttle`), `{name}` templates (`modify`,
//! `throttle`) and config error spans below a table's top level.

mod condition;
mod kinds;
pub mod kubernetes;
pub mod modify;
mod name_memo;
mod ordered;
pub mod parse;
mod parsers;
#[cfg(test)]
mod sample_checks;
pub mod select;
mod spans;
pub mod static_attrs;
mod template;
#[cfg(test)]
mod testkit;
pub mod throttle;

use gleaner_api::FilterDescriptor;

/// Every filter plugin.
pub static FILTERS: &[FilterDescriptor] = &[
    kubernetes::DESCRIPTOR,
    static_attrs::DESCRIPTOR,
    parse::DESCRIPTOR,
    select::DESCRIPTOR,
    modify::DESCRIPTOR,
    throttle::DESCRIPTOR,
];
