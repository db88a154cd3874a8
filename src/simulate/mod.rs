//! `hemtid simulate`: a municipality of N clients, its care workers and
//! door locks, then days of visits driven through the real paths (locks
//! over MQTT with receipts, phones over HTTP with late offline batches),
//! and a check of what hemtid stored against what was sent. Deterministic
//! for a seed: the same clients, orders, rounds and event ids.

pub mod check;
pub mod drive;
pub mod locks;
pub mod plan;
mod population;
pub mod world;

use anyhow::{Context, Result, bail};
use chrono::{Days, NaiveDate};
use hemtid_core::config::Config;
use hemtid_core::db::{self, DatabaseUrl, Pool};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A small deterministic generator (SplitMix64): the simulation needs
/// repeatable choices, not cryptography.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0; 0 gives 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What to simulate and against what.
#[derive(Debug, Clone)]
pub struct Options {
    pub clients: usize,
    pub days: u32,
    pub seed: u64,
    /// Lock events per second in all; 0 sends as fast as receipts come.
    pub rate: u32,
    /// Share of care workers who register on the phone, not the locks.
    pub phone_percent: u64,
    /// Share of phone visits kept offline and sent late through `/sync`.
    pub offline_percent: u64,
    /// A running hemtid's base URL (with `mqtt`).
    pub api: Option<String>,
    /// The broker a running hemtid listens to; none starts `hemtid serve`
    /// here on the configured database.
    pub mqtt: Option<String>,
    pub phone_threads: usize,
    pub timeout: Duration,
    /// The municipality's code (default `SIM<seed>`).
    pub code: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            clients: 200,
            days: 7,
            seed: 1,
            rate: 0,
            phone_percent: 20,
            offline_percent: 25,
            api: None,
            mqtt: None,
            phone_threads: 8,
            timeout: Duration::from_secs(600),
            code: None,
        }
    }
}

/// What a simulation did and found.
#[derive(Debug, Clone)]
pub struct Summary {
    pub world: world::World,
    pub expected: plan::Expected,
    pub devices: drive::DeviceReport,
    pub phones: drive::PhoneReport,
    pub checks: Vec<check::Check>,
    pub build_seconds: f64,
    pub drive_seconds: f64,
}

impl Summary {
    pub fn passed(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }

    /// The report printed at the end, in English (an operator's tool).
    pub fn print(&self) {
        let w = &self.world;
        let e = &self.expected;
        println!(
            "municipality {} ({}): {} clients ({} frame decisions, {} living together, {} double-staffed, {} in hospital for two days), {} care workers ({} on phones), {} door locks; {} days from {} to {}; built in {:.1} s",
            w.municipality.code,
            w.municipality.name,
            w.clients.len(),
            w.frame_decisions,
            w.households * 2,
            w.double_staffed,
            w.absences,
            w.workers.len(),
            w.workers.iter().filter(|x| x.phone).count(),
            w.locks.len(),
            w.days.len(),
            w.days.first().map(|d| d.to_string()).unwrap_or_default(),
            w.days.last().map(|d| d.to_string()).unwrap_or_default(),
            self.build_seconds,
        );
        println!(
            "planned: {} visits ({} joined by a second worker, {} did not fit a day and were not sent), {} lock events, {} phone registrations ({} offline), {} journal notes",
            e.visits,
            e.double_staffed_visits,
            e.dropped,
            e.device_events,
            e.phone_events,
            e.offline_items,
            e.notes
        );
        let d = &self.devices;
        let rate = d.receipted_per_second();
        println!(
            "locks: {} sent, {} re-sent, receipts {:?} (+{} late), {} unreceipted, {} reconnects; {:.0} events/s; publish to receipt p50 {:.1} ms, p99 {:.1} ms",
            d.sent,
            d.resent,
            d.receipts,
            d.late_receipts,
            d.unreceipted,
            d.reconnects,
            rate,
            d.latency_ms(0.5),
            d.latency_ms(0.99)
        );
        let p = &self.phones;
        println!(
            "phones: {} logins, {} requests, statuses {:?}, {} retries, {} offline batches with {} items ({} refused); p50 {:.1} ms, p99 {:.1} ms",
            p.logins,
            p.requests,
            p.statuses,
            p.retries,
            p.sync_batches,
            p.sync_items,
            p.sync_refused,
            drive::percentile(&p.latencies_us, 0.5) / 1000.0,
            drive::percentile(&p.latencies_us, 0.99) / 1000.0
        );
        for err in &p.errors {
            println!("  phone error: {err}");
        }
        println!("driven in {:.1} s; checks:", self.drive_seconds);
        for c in &self.checks {
            println!(
                "  [{}] {}: {}",
                if c.ok { "ok" } else { "FAILED" },
                c.name,
                c.detail
            );
        }
        println!(
            "simulation {}",
            if self.passed() { "PASSED" } else { "FAILED" }
        );
    }
}

/// The `days` local days ending yesterday.
pub fn simulated_days(today: NaiveDate, days: u32) -> Vec<NaiveDate> {
    (1..=u64::from(days.max(1)))
        .rev()
        .filter_map(|back| today.checked_sub_days(Days::new(back)))
        .collect()
}

/// Opens the configured database and runs pending migrations.
pub fn open(config: &Config) -> Result<Pool> {
    let url = DatabaseUrl::parse(&config.database_url())?;
    let pool = db::pool(&url, config.database_pool_size.max(2))
        .with_context(|| format!("cannot reach the database at {}", url.redacted()))?;
    let mut conn = pool.get()?;
    db::run_migrations(&mut conn)?;
    Ok(pool)
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `hemtid serve` started by the simulator (or a benchmark), stopped
/// when dropped.
pub struct Served {
    pub child: Child,
    pub api: String,
    pub mqtt_port: u16,
}

impl Served {
    /// Starts `exe serve` with the caller's configuration and loopback
    /// ports of its own; `env` adds to it. Waits until `/readyz` answers.
    pub fn start(exe: &std::path::Path, env: &[(&str, String)]) -> Result<Served> {
        // Ports the server picks itself and prints: a port picked here and
        // handed over could be taken by another process's connection in
        // between (it happened in CI).
        let mut cmd = Command::new(exe);
        cmd.arg("serve")
            .env("HEMTID_HTTP_ADDR", "127.0.0.1:0")
            .env("HEMTID_MQTT_LISTEN", "127.0.0.1:0")
            // Every simulated lock connects from this machine's loopback
            // address: one address, thousands of devices.
            .env("HEMTID_MQTT_MAX_CONNECTIONS_PER_ADDRESS", "100000")
            .stdout(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().context("cannot start hemtid serve")?;
        let stdout = child.stdout.take().context("hemtid serve has no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        // Drains what serve prints for as long as it runs.
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        let (mut api, mut mqtt_port) = (None, 0);
        while api.is_none() {
            let left = deadline
                .checked_duration_since(Instant::now())
                .context("hemtid serve did not print its address in 120 s")?;
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                let _ = child.wait();
                bail!("hemtid serve stopped before it printed its address");
            };
            if let Some(addr) = line.strip_prefix("hemtid MQTT broker on mqtt://") {
                mqtt_port = addr
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or(0);
            }
            if let Some(addr) = line.strip_prefix("hemtid listening on ") {
                api = Some(addr.trim().to_string());
            }
        }
        let served = Served {
            child,
            api: api.unwrap_or_default(),
            mqtt_port,
        };
        served.wait_ready(Duration::from_secs(120))?;
        Ok(served)
    }

    pub fn wait_ready(&self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        let agent = ureq::AgentBuilder::new()
            .timeout(Duration::from_secs(2))
            .build();
        while agent.get(&format!("{}/readyz", self.api)).call().is_err() {
            if Instant::now() > deadline {
                bail!("hemtid serve did not become ready at {}", self.api);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // SIGTERM first: a graceful stop.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A built municipality and its planned days.
pub struct Prepared {
    pub world: world::World,
    pub plan: plan::Plan,
    pub build_seconds: f64,
}

/// Builds the municipality and plans its days.
pub fn prepare(pool: &Pool, o: &Options) -> Result<Prepared> {
    let started = Instant::now();
    let today = hemtid_core::domain::local_date(chrono::Utc::now(), hemtid_core::domain::STOCKHOLM);
    let days = simulated_days(today, o.days);
    let code = o.code.clone().unwrap_or_else(|| format!("SIM{}", o.seed));
    let mut rng = Rng::new(o.seed);
    let mut conn = pool.get()?;
    let world = db::transaction_with(&mut conn, |c| {
        world::build(c, &code, o.clients, &days, o.phone_percent, &mut rng)
    })?;
    let tz = world
        .municipality
        .tz()
        .context("the municipality's time zone is invalid")?;
    let plan = plan::plan(&world, tz, o.offline_percent, &mut rng);
    Ok(Prepared {
        world,
        plan,
        build_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Drives a prepared simulation against `api` and the broker, then
/// checks what hemtid stored.
pub fn drive_and_check(
    pool: &Pool,
    prepared: Prepared,
    api: &str,
    broker: &drive::Broker,
    o: &Options,
) -> Result<Summary> {
    let started = Instant::now();
    let deadline = started + o.timeout;
    let Prepared {
        world,
        plan,
        build_seconds,
    } = prepared;
    let phones = {
        let (api, work, threads) = (api.to_string(), plan.phones.clone(), o.phone_threads);
        std::thread::spawn(move || {
            drive::run_phones(&api, world::SIM_PASSWORD, work, threads, deadline)
        })
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let devices = runtime.block_on(drive::run_devices(
        broker,
        plan.device.clone(),
        o.rate,
        Duration::from_secs(10),
        deadline,
    ));
    let phones = phones
        .join()
        .map_err(|_| anyhow::anyhow!("the phone simulation stopped"))?;
    let drive_seconds = started.elapsed().as_secs_f64();
    // Receipts and answers come after commits; a short wait covers
    // receipts that were lost with a crash but whose events were stored.
    let mut conn = pool.get()?;
    let want = (plan.expected.device_events + plan.expected.phone_events) as i64;
    let settle = Instant::now() + Duration::from_secs(10);
    while check::stored_events(&mut conn, &world.municipality)? < want && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut checks = check::run(&mut conn, &world.municipality, &plan, &world.days)?;
    if broker.pinned_key.is_some() {
        checks.push(check::Check {
            name: "lock configurations signed with the pinned key, each for its lock",
            ok: devices.configs_misaddressed == 0,
            detail: format!(
                "{} verified against the pinned key, {} for another lock, {} ignored (not signed with the key, or not newer){}",
                devices.configs_verified,
                devices.configs_misaddressed,
                devices.configs_ignored,
                devices
                    .config_refusal
                    .as_deref()
                    .map(|r| format!(" (first: {r})"))
                    .unwrap_or_default()
            ),
        });
    }
    Ok(Summary {
        world,
        expected: plan.expected,
        devices,
        phones,
        checks,
        build_seconds,
        drive_seconds,
    })
}

/// The whole `hemtid simulate`.
/// `child_env` goes to the `hemtid serve` it starts (none with `--api`).
pub fn run(config: &Config, o: &Options, child_env: &[(&str, String)]) -> Result<Summary> {
    let pool = open(config)?;
    let prepared = prepare(&pool, o)?;
    println!(
        "built {} clients in {:.1} s",
        prepared.world.clients.len(),
        prepared.build_seconds
    );
    let credentials: std::collections::HashMap<String, String> = prepared
        .world
        .locks
        .iter()
        .map(|l| (l.id.clone(), l.secret.clone()))
        .collect();
    // On an external broker the gateway's session outlives it (clean
    // session off): a serve started here under the default client id would
    // take over what earlier runs' locks left queued there (seen: ~320,000
    // messages after a CI run, all dead-lettered, a run at a third of its
    // speed). It gets an id of its own, whose session ends with the run.
    let own_session = match (&o.mqtt, &o.api, &config.mqtt_url) {
        (None, None, Some(url)) if config.mqtt_client_id == Config::default().mqtt_client_id => {
            let id = format!(
                "hemtid-simulate-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            );
            Some(hemtid_gateway::GatewayOptions::from_url(url, &id)?)
        }
        _ => None,
    };
    let (served, api, broker) = match &o.mqtt {
        Some(url) => {
            // Against a running hemtid; without --api only the locks run.
            let api = o.api.clone().unwrap_or_default();
            if api.is_empty() && !prepared.plan.phones.is_empty() {
                bail!("the phones need --api (or --phone-percent 0)");
            }
            let broker = drive::Broker::at(url, credentials)?;
            (None, api.trim_end_matches('/').to_string(), broker)
        }
        None if o.api.is_some() => bail!("--api needs --mqtt: the broker the locks publish to"),
        None => {
            let exe = std::env::current_exe()?;
            let mut env = child_env.to_vec();
            if let Some(id) = &own_session {
                env.push(("HEMTID_MQTT_CLIENT_ID", id.client_id.clone()));
            }
            let s = Served::start(&exe, &env)?;
            // The serve reads the configured broker if there is one (it
            // starts no embedded broker then).
            let broker = match &config.mqtt_url {
                Some(url) => drive::Broker::at(url, credentials)?,
                None => drive::Broker {
                    host: "127.0.0.1".into(),
                    port: s.mqtt_port,
                    credentials,
                    pinned_key: None,
                },
            };
            println!(
                "started hemtid serve (pid {}) at {}, broker {}:{}",
                s.pid(),
                s.api,
                broker.host,
                broker.port
            );
            let api = s.api.clone();
            (Some(s), api, broker)
        }
    };
    // The locks pin the lock-signing key hemtid made in the data folder
    // (a serve started here made it by now), as a lock does at enrolment.
    let mut broker = broker;
    broker.pinned_key = hemtid_core::auth::lock_keys::LockKeys::load(&config.data_dir)
        .ok()
        .flatten()
        .map(|k| k.public_key());
    let summary = drive_and_check(&pool, prepared, &api, &broker, o);
    drop(served);
    if let Some(opts) = own_session {
        let ended = hemtid_gateway::run::end_session_blocking(&opts, Duration::from_secs(10));
        match ended {
            Ok(()) => println!("ended the broker session {}", opts.client_id),
            Err(e) => eprintln!(
                "could not end the broker session {} ({e}); the broker expires it as configured",
                opts.client_id
            ),
        }
    }
    summary
}
