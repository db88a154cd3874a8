//! The `hemtid` command's library side: the municipality simulator that
//! `hemtid simulate` runs, and the background threads `hemtid serve` runs;
//! the benchmarks reuse both.

pub mod background;
pub mod checkpointer;
pub mod simulate;
