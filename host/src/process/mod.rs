//! The exporter process itself: what it is (`build_info`), its own series
//! (`self_metrics`), what each signal does (`signals`), and how its freed
//! memory goes back to the system (`memory`).

pub mod build_info;
pub mod memory;
pub mod self_metrics;
pub mod signals;
