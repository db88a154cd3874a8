//! hemtid-core: configuration, domain rules (pure), storage and auth.
//! Everything both the API and the gateway need lives here.

pub mod audit;
pub mod auth;
pub mod config;
pub mod contract;
pub mod db;
#[cfg(test)]
mod deadline_tests;
pub mod domain;
pub mod evaluate;
#[cfg(test)]
mod evaluate_tests;
pub mod ingest;
#[cfg(test)]
mod ingest_tests;
pub mod intake;
pub mod measures;
#[cfg(test)]
mod measures_tests;
pub mod metrics;
pub mod model;
pub mod planning;
pub mod record;
pub mod report;
pub mod retention;
#[cfg(test)]
mod retention_tests;
pub mod seed;
pub mod validate;
pub mod writer;
