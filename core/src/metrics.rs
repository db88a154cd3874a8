//! Process metrics in the Prometheus text format (`GET /metrics`): device
//! events in by outcome, dead letters by reason, the gateway's commit
//! batches (size and latency), HTTP latency per route; and, read from the
//! database when scraped, open visits and alerts by kind and state.
//! Counters live in this process: each `hemtid serve` or `hemtid gateway`
//! reports its own, as Prometheus expects.

use crate::db::schema::{alert, dead_letter, visit};
use crate::db::{DbConn, StoreError};
use crate::model::{AlertKind, AlertState};
use diesel::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Latency buckets, seconds.
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];
/// Batch size buckets, messages.
const SIZES: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 256.0, 512.0, 1024.0];

#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.buckets.len() != bounds.len() {
            self.buckets = vec![0; bounds.len()];
        }
        for (i, b) in bounds.iter().enumerate() {
            if v <= *b {
                self.buckets[i] += 1;
            }
        }
        self.count += 1;
        self.sum += v;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (i, b) in bounds.iter().enumerate() {
            let n = self.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// The process's counters.
#[derive(Default)]
pub struct Metrics {
    stored: AtomicU64,
    duplicates: AtomicU64,
    dead: Mutex<BTreeMap<String, u64>>,
    /// Rejected messages counted but not kept (a device no municipality
    /// knows, or one over its dead-letter budget), by reason.
    not_kept: Mutex<BTreeMap<String, u64>>,
    batch_size: Mutex<Histogram>,
    batch_seconds: Mutex<Histogram>,
    /// The writer's transactions (`crate::writer`): writes per commit, and
    /// how long each took from its first statement to its commit.
    writer_size: Mutex<Histogram>,
    writer_seconds: Mutex<Histogram>,
    http: Mutex<BTreeMap<(String, String, String), Histogram>>,
    /// Messages received per gateway (its client id) and subscriber
    /// connection.
    received: Mutex<BTreeMap<String, Vec<Arc<AtomicU64>>>>,
}

static METRICS: std::sync::LazyLock<Metrics> = std::sync::LazyLock::new(Metrics::default);

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    &METRICS
}

/// A label value as the text format writes it.
fn escaped(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Metrics {
    /// One committed gateway batch: its size, how long the commit took and
    /// what became of its messages (dead letters by reason).
    pub fn batch(&self, size: usize, seconds: f64, stored: u64, duplicates: u64, dead: &[&str]) {
        self.stored.fetch_add(stored, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        if !dead.is_empty() {
            let mut d = lock(&self.dead);
            for reason in dead {
                *d.entry((*reason).to_string()).or_default() += 1;
            }
        }
        lock(&self.batch_size).observe(SIZES, size as f64);
        lock(&self.batch_seconds).observe(SECONDS, seconds);
    }

    /// One transaction of the writer: the writes it held and how long it
    /// took to run and commit them.
    pub fn writer(&self, size: usize, seconds: f64) {
        lock(&self.writer_size).observe(SIZES, size as f64);
        lock(&self.writer_seconds).observe(SECONDS, seconds);
    }

    /// The writer's transactions so far, the writes they held and the
    /// seconds they took, in all.
    pub fn writer_totals(&self) -> (u64, f64, f64) {
        let size = lock(&self.writer_size);
        (size.count, size.sum, lock(&self.writer_seconds).sum)
    }

    /// A rejected message counted, not kept as a dead letter.
    pub fn not_kept(&self, reason: &str) {
        *lock(&self.not_kept).entry(reason.to_string()).or_default() += 1;
    }

    /// The counter of device messages `gateway` receives on its
    /// subscriber connection `subscriber` (one sent again counts again):
    /// the connection takes it once and adds to it without a lock.
    pub fn received(&self, gateway: &str, subscriber: usize) -> Arc<AtomicU64> {
        let mut r = lock(&self.received);
        let counters = r.entry(gateway.to_string()).or_default();
        while counters.len() <= subscriber {
            counters.push(Arc::default());
        }
        counters[subscriber].clone()
    }

    /// The messages `gateway` received on each of its subscriber
    /// connections so far.
    pub fn received_by(&self, gateway: &str) -> Vec<u64> {
        lock(&self.received)
            .get(gateway)
            .map(|c| c.iter().map(|n| n.load(Ordering::Relaxed)).collect())
            .unwrap_or_default()
    }

    /// One HTTP request: method, route pattern, status class, duration.
    pub fn http(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let class = format!("{}xx", status / 100);
        // Any other method name is one label: made-up names would each
        // add series for ever, without signing in.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        lock(&self.http)
            .entry((method.to_string(), route.to_string(), class))
            .or_default()
            .observe(SECONDS, seconds);
    }

    /// The counters, in the Prometheus text format.
    pub fn render_counters(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP hemtid_device_events_total Device messages the gateway committed, by outcome.\n");
        out.push_str("# TYPE hemtid_device_events_total counter\n");
        let dead: u64 = lock(&self.dead).values().sum();
        let _ = writeln!(
            out,
            "hemtid_device_events_total{{outcome=\"stored\"}} {}",
            self.stored.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "hemtid_device_events_total{{outcome=\"duplicate\"}} {}",
            self.duplicates.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "hemtid_device_events_total{{outcome=\"dead_letter\"}} {dead}"
        );
        out.push_str("# HELP hemtid_dead_letters_total Device messages dead-lettered by this process, by reason.\n");
        out.push_str("# TYPE hemtid_dead_letters_total counter\n");
        for (reason, n) in lock(&self.dead).iter() {
            let _ = writeln!(out, "hemtid_dead_letters_total{{reason=\"{reason}\"}} {n}");
        }
        out.push_str("# HELP hemtid_dead_letters_not_kept_total Rejected device messages counted but not kept: of a device no municipality knows, or over its device's dead-letter budget.\n");
        out.push_str("# TYPE hemtid_dead_letters_not_kept_total counter\n");
        for (reason, n) in lock(&self.not_kept).iter() {
            let _ = writeln!(
                out,
                "hemtid_dead_letters_not_kept_total{{reason=\"{reason}\"}} {n}"
            );
        }
        out.push_str("# HELP hemtid_gateway_received_total Device messages a gateway received, by subscriber connection (how a shared subscription spreads them).\n");
        out.push_str("# TYPE hemtid_gateway_received_total counter\n");
        for (gateway, counts) in lock(&self.received).iter() {
            for (i, n) in counts.iter().enumerate() {
                let n = n.load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "hemtid_gateway_received_total{{gateway=\"{}\",subscriber=\"{i}\"}} {n}",
                    escaped(gateway)
                );
            }
        }
        out.push_str("# HELP hemtid_gateway_batch_size Messages per committed gateway batch.\n");
        out.push_str("# TYPE hemtid_gateway_batch_size histogram\n");
        lock(&self.batch_size).render(&mut out, "hemtid_gateway_batch_size", "", SIZES);
        out.push_str(
            "# HELP hemtid_gateway_commit_seconds Time to store and commit a gateway batch.\n",
        );
        out.push_str("# TYPE hemtid_gateway_commit_seconds histogram\n");
        lock(&self.batch_seconds).render(&mut out, "hemtid_gateway_commit_seconds", "", SECONDS);
        out.push_str(
            "# HELP hemtid_writer_batch_size Phone writes per transaction of the API's writer.\n",
        );
        out.push_str("# TYPE hemtid_writer_batch_size histogram\n");
        lock(&self.writer_size).render(&mut out, "hemtid_writer_batch_size", "", SIZES);
        out.push_str("# HELP hemtid_writer_commit_seconds Time to run and commit a transaction of the API's writer.\n");
        out.push_str("# TYPE hemtid_writer_commit_seconds histogram\n");
        lock(&self.writer_seconds).render(&mut out, "hemtid_writer_commit_seconds", "", SECONDS);
        out.push_str("# HELP hemtid_http_request_duration_seconds HTTP requests by method, route and status class.\n");
        out.push_str("# TYPE hemtid_http_request_duration_seconds histogram\n");
        for ((method, route, class), h) in lock(&self.http).iter() {
            let labels = format!(
                "method=\"{method}\",route=\"{}\",status=\"{class}\"",
                escaped(route)
            );
            h.render(
                &mut out,
                "hemtid_http_request_duration_seconds",
                &labels,
                SECONDS,
            );
        }
        out
    }
}

/// Gauges read from the database at scrape time: open visits, alerts by
/// kind and state, dead letters kept.
pub fn render_gauges(c: &mut DbConn) -> Result<String, StoreError> {
    let mut out = String::new();
    let open: i64 = visit::table
        .filter(visit::status.eq(crate::model::VisitStatus::Open))
        .filter(visit::voided.eq(false))
        .count()
        .get_result(c)?;
    out.push_str("# HELP hemtid_open_visits Visits checked in and not yet out.\n");
    out.push_str("# TYPE hemtid_open_visits gauge\n");
    let _ = writeln!(out, "hemtid_open_visits {open}");
    let rows: Vec<(AlertKind, AlertState, i64)> = alert::table
        .group_by((alert::kind, alert::state))
        .select((alert::kind, alert::state, diesel::dsl::count_star()))
        .order((alert::kind, alert::state))
        .load(c)?;
    out.push_str("# HELP hemtid_alerts Alerts by kind and state.\n");
    out.push_str("# TYPE hemtid_alerts gauge\n");
    // Every kind and state, 0 when there is none: a series that vanished
    // when the last open alert of a kind was resolved looked to an alert
    // rule like missing data, not like zero.
    let counted: BTreeMap<(AlertKind, AlertState), i64> = rows
        .into_iter()
        .map(|(kind, state, n)| ((kind, state), n))
        .collect();
    let mut series: BTreeMap<(AlertKind, AlertState), i64> = AlertKind::ALL
        .iter()
        .flat_map(|&kind| AlertState::ALL.iter().map(move |&state| ((kind, state), 0)))
        .collect();
    series.extend(counted);
    for ((kind, state), n) in series {
        let _ = writeln!(
            out,
            "hemtid_alerts{{kind=\"{kind}\",state=\"{state}\"}} {n}"
        );
    }
    let kept: i64 = dead_letter::table.count().get_result(c)?;
    out.push_str("# HELP hemtid_dead_letters_kept Dead letters in the database.\n");
    out.push_str("# TYPE hemtid_dead_letters_kept gauge\n");
    let _ = writeln!(out, "hemtid_dead_letters_kept {kept}");
    Ok(out)
}

/// The process's own figures in the names every Prometheus client uses
/// (CPU seconds, resident and virtual memory, open and allowed file
/// descriptors, threads, start time), read by `metrics-process` (a
/// maintained port of client_golang's collector) from `/proc`. What a
/// platform does not give is left out.
pub fn render_process() -> String {
    let p = metrics_process::collector::collect();
    let mut out = String::new();
    let mut one = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        if let Some(v) = value {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {v}");
        }
    };
    #[allow(clippy::cast_precision_loss)]
    let f = |v: Option<u64>| v.map(|v| v as f64);
    one(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        p.cpu_seconds_total,
    );
    one(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        f(p.open_fds),
    );
    one(
        "process_max_fds",
        "gauge",
        "Maximum number of open file descriptors.",
        f(p.max_fds),
    );
    one(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        f(p.virtual_memory_bytes),
    );
    one(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        f(p.resident_memory_bytes),
    );
    one(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since the Unix epoch in seconds.",
        f(p.start_time_seconds),
    );
    one(
        "process_threads",
        "gauge",
        "Number of OS threads in the process.",
        f(p.threads),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_counters_add_up() {
        let m = Metrics::default();
        m.batch(3, 0.004, 2, 1, &[]);
        m.batch(200, 0.3, 150, 0, &["unknown_device", "invalid_json"]);
        m.http("GET", "/api/v1/alerts", 200, 0.02);
        m.http("GET", "/api/v1/alerts", 404, 0.001);
        // A connection's counter is one, however often it is asked for.
        m.received("gw-1", 2).fetch_add(1, Ordering::Relaxed);
        m.received("gw-1", 2).fetch_add(1, Ordering::Relaxed);
        m.received("gw-1", 0).fetch_add(1, Ordering::Relaxed);
        assert_eq!(m.received_by("gw-1"), [1, 0, 2]);
        assert!(m.received_by("gw-2").is_empty());
        let text = m.render_counters();
        assert!(
            text.contains("hemtid_gateway_received_total{gateway=\"gw-1\",subscriber=\"2\"} 2")
        );
        assert!(
            text.contains("hemtid_gateway_received_total{gateway=\"gw-1\",subscriber=\"1\"} 0")
        );
        assert!(text.contains("hemtid_device_events_total{outcome=\"stored\"} 152"));
        assert!(text.contains("hemtid_device_events_total{outcome=\"dead_letter\"} 2"));
        assert!(text.contains("hemtid_dead_letters_total{reason=\"unknown_device\"} 1"));
        assert!(text.contains("hemtid_gateway_batch_size_bucket{le=\"5\"} 1"));
        assert!(text.contains("hemtid_gateway_batch_size_bucket{le=\"256\"} 2"));
        assert!(text.contains("hemtid_gateway_batch_size_count 2"));
        assert!(text.contains("hemtid_gateway_commit_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains(
            "hemtid_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/alerts\",status=\"2xx\"} 1"
        ));
        assert!(text.contains(
            "hemtid_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/alerts\",status=\"4xx\",le=\"0.001\"} 1"
        ));
    }
}
