//! What can go wrong in the gateway outside a device's message (a refused
//! message is a dead letter, `hemtid_core::ingest::Rejection`): the
//! database, a blocking task, the broker, TLS settings. Typed so a caller
//! can tell a database failure from a broker that does not answer.

use hemtid_core::db::{DbConn, Pool, StoreError};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    /// A blocking task panicked or was cancelled.
    #[error("a blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("broker: {0}")]
    Client(#[from] rumqttc::ClientError),
    /// Boxed: the broker's connection error is large.
    #[error("broker: {0}")]
    Connection(Box<rumqttc::ConnectionError>),
    #[error("no answer from the broker within {0:?}")]
    Timeout(Duration),
    #[error("mqtt_ca_file {}: {reason}", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("lock configuration: {0}")]
    Sign(#[from] hemtid_core::auth::AuthError),
    #[error("starting a runtime: {0}")]
    Runtime(std::io::Error),
}

impl From<rumqttc::ConnectionError> for Error {
    fn from(e: rumqttc::ConnectionError) -> Self {
        Error::Connection(Box::new(e))
    }
}

/// Runs `work` on a pooled connection on tokio's blocking pool: the one
/// way the gateway's async tasks reach the database.
pub(crate) async fn blocking<T, F>(pool: &Pool, work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
{
    let pool = pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(StoreError::from)?;
        work(&mut conn)
    })
    .await?
}
