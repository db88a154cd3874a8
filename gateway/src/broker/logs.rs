//! rmqtt logs through the `log` crate. Its warnings and errors reach
//! hemtid's log as at most one line per source per interval, with the
//! count of those left out and the text escaped (a client id may hold a
//! newline); its info and debug lines (one per connection) are dropped.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const INTERVAL: Duration = Duration::from_secs(10);

struct Forward {
    /// Per source: when it last wrote, and lines left out since.
    last: Mutex<HashMap<String, (Instant, u64)>>,
}

impl log::Log for Forward {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let source = record.target().to_string();
        let suppressed = {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            match last.get_mut(&source) {
                Some((at, n)) if now.duration_since(*at) < INTERVAL => {
                    *n += 1;
                    return;
                }
                Some((at, n)) => {
                    *at = now;
                    std::mem::take(n)
                }
                None => {
                    last.insert(source.clone(), (now, 0));
                    0
                }
            }
        };
        let text = record.args().to_string();
        if record.level() == log::Level::Error {
            tracing::error!(source = %source, message = ?text, left_out = suppressed, "embedded broker");
        } else {
            tracing::warn!(source = %source, message = ?text, left_out = suppressed, "embedded broker");
        }
    }

    fn flush(&self) {}
}

/// Installs the forwarding once per process (unless another `log` logger
/// is installed already).
pub fn forward_to_tracing() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let forward = Forward {
            last: Mutex::new(HashMap::new()),
        };
        if log::set_boxed_logger(Box::new(forward)).is_ok() {
            log::set_max_level(log::LevelFilter::Warn);
        }
    });
}
