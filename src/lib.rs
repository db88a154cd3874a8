//! The `hemtid` command's library side: the municipality simulator that
//! `hemtid simulate` runs and the benchmarks reuse.

pub mod simulate;
