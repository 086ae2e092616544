//! What the benchmark tools share: the cost-curve plot. The dumps they
//! measure come from `ruleset-generator` (`fixtures/generator/`).

pub mod plot;

pub use ruleset_generator::{Family, generate};
