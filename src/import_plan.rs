//! `hemtid import-plan FILE --provider ID`: a provider's planned visits
//! from a CSV file, as `POST /api/v1/providers/{id}/planned-visits` takes
//! them, straight into the database (a planning system's nightly export,
//! or a first load before the integration is in place).

use crate::backup::Progress;
use anyhow::{Context, Result, bail};
use hemtid_core::db::{DbConn, provider};
use hemtid_core::planning::{self, ImportError};
use std::path::Path;

pub(crate) fn run(c: &mut DbConn, file: &Path, provider_id: &str, whole_days: bool) -> Result<()> {
    let progress = Progress::new();
    let Some((municipality_id, provider_id)) = provider::all_ids(c)?
        .into_iter()
        .find(|(_, id)| id == provider_id.trim())
    else {
        bail!("no provider with id {provider_id}");
    };
    progress.step(&format!("reading {}", file.display()));
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let rows = bytes.iter().filter(|b| **b == b'\n').count();
    progress.step(&format!("checking and storing about {rows} rows"));
    let result = planning::import_csv(
        c,
        &municipality_id,
        &provider_id,
        &bytes,
        whole_days,
        chrono::Utc::now(),
    );
    progress.done();
    let secs = progress.started.elapsed().as_secs_f64();
    match result {
        Ok(s) => {
            println!(
                "{}: {} plans created, {} updated, {} unchanged, {} removed in {secs:.1} s",
                file.display(),
                s.created,
                s.updated,
                s.unchanged,
                s.removed
            );
            Ok(())
        }
        Err(ImportError::Invalid(v)) => {
            for e in &v.0 {
                eprintln!("{}: {} ({})", e.field, e.code, e.message);
            }
            bail!(
                "{}: nothing stored, {} faults ({secs:.1} s)",
                file.display(),
                v.0.len()
            )
        }
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}
