//! `hemtid`: the command line. `serve` runs everything in one process.

use anyhow::{Context, Result, bail};

use clap::Parser;
use cli::{Cli, Command, TokenCommand};
use hemtid_core::auth::{self};
use hemtid_core::config::{Config, LogFormat};
use hemtid_core::db::{self, DatabaseUrl, DbConn, Pool, api_token, municipality, user_account};
use hemtid_core::seed;
use serve::{gateway_alone, serve};

/// mimalloc instead of the system allocator: reports and batches build and
/// drop many small strings, where glibc's malloc spent a third of the
/// monthly report's time (docs/BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        // Needs no configuration: the document is fixed by the code.
        print!("{}", hemtid_api::openapi::to_json()?);
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref(), |k| std::env::var(k).ok())?;
    if let Command::PrintConfig = cli.command {
        print!("{}", config.to_commented_toml());
        return Ok(());
    }
    init_tracing(&config)?;
    // The soft limit is often 1,024 descriptors: a few hundred locks (and
    // the simulator's own) need more. The broker stays below whatever it is.
    let open_files = hemtid_gateway::broker::raise_open_file_limit();
    tracing::debug!(open_files, "open-file limit");
    match cli.command {
        Command::Serve { demo, bare } => {
            actix_web::rt::System::new().block_on(serve(config, demo, bare))
        }
        Command::Gateway => actix_web::rt::System::new().block_on(gateway_alone(&config)),
        Command::Migrate => {
            let (_, mut conn) = open(&config)?;
            let applied = db::run_migrations(&mut conn)?;
            if applied.is_empty() {
                println!("no pending migrations");
            }
            for v in applied {
                println!("applied {v}");
            }
            Ok(())
        }
        Command::Seed { bare, .. } => {
            let (_, mut conn) = migrated(&config)?;
            load_demo(&mut conn, bare)
        }
        Command::Bootstrap {
            municipality_code,
            municipality_name,
            admin_username,
        } => {
            let (_, mut conn) = migrated(&config)?;
            bootstrap(
                &mut conn,
                &municipality_code,
                &municipality_name,
                &admin_username,
            )
        }
        Command::ImportPlan {
            file,
            provider,
            whole_days,
        } => {
            let (_, mut conn) = migrated(&config)?;
            import_plan::run(&mut conn, &file, &provider, whole_days)
        }
        Command::Token { command } => {
            let (_, mut conn) = migrated(&config)?;
            token(&mut conn, command)
        }
        Command::Evaluate { at } => {
            let at = instant(at)?;
            let (_, mut conn) = migrated(&config)?;
            let mut e = hemtid_core::evaluate::all(&mut conn, at)?;
            loop {
                let d = hemtid_core::evaluate::dirty(&mut conn, at, 1000)?;
                if d.client_months == 0 {
                    break;
                }
                e.raised += d.raised;
                e.updated += d.updated;
                e.reopened += d.reopened;
                e.resolved += d.resolved;
            }
            println!(
                "evaluated {} client-months as at {}: {} alerts raised, {} updated, {} reopened, {} resolved",
                e.client_months,
                at.to_rfc3339(),
                e.raised,
                e.updated,
                e.reopened,
                e.resolved
            );
            let d = hemtid_core::planning::derive_all(&mut conn, at)?;
            println!(
                "plans derived from the orders as at {}: {} created, {} updated, {} removed",
                at.to_rfc3339(),
                d.created,
                d.updated,
                d.removed
            );
            let live = hemtid_core::evaluate::visit_alerts::all(&mut conn, at)?.evaluation;
            println!(
                "planned visits as at {}: {} alerts raised, {} updated, {} reopened, {} resolved",
                at.to_rfc3339(),
                live.raised,
                live.updated,
                live.reopened,
                live.resolved
            );
            if e.skipped > 0 {
                bail!(
                    "{} left unevaluated: the database was busy; run it again",
                    e.skipped
                );
            }
            Ok(())
        }
        Command::Retention { at, dry_run } => {
            let at = instant(at)?;
            let (_, mut conn) = migrated(&config)?;
            let keys = auth::lock_keys::LockKeys::load_or_create(&config.data_dir)?;
            db::digital_key::register_signing_key(
                &mut conn,
                keys.kid(),
                &keys.public_key(),
                db::now(),
            )?;
            let outcomes = hemtid_core::retention::run_all(&mut conn, at, &keys, dry_run)?;
            let names: std::collections::HashMap<String, String> =
                db::municipality::list(&mut conn)?
                    .into_iter()
                    .map(|m| (m.id.into_string(), format!("{} {}", m.code, m.name)))
                    .collect();
            for o in &outcomes {
                println!(
                    "{}{}: access log before {} UTC, clients whose orders ended before {}: {} clients' records deleted, {} kept in the research sample, {} rows",
                    if dry_run { "(dry run) " } else { "" },
                    names
                        .get(o.municipality_id.as_str())
                        .map_or("?", String::as_str),
                    o.access_log_before.format("%Y-%m-%d %H:%M"),
                    o.orders_ended_before,
                    o.clients_purged,
                    o.clients_kept,
                    o.rows_deleted(),
                );
                for (table, n) in &o.counts {
                    println!("  {table} {n}");
                }
            }
            Ok(())
        }
        Command::RebuildFigures {
            month,
            municipality_code,
        } => {
            let month: hemtid_core::domain::YearMonth = month
                .parse()
                .map_err(|_| anyhow::anyhow!("--month: expected YYYY-MM, got {month}"))?;
            let (_, mut conn) = migrated(&config)?;
            let all = match municipality_code {
                Some(code) => vec![find_municipality(&mut conn, &code)?],
                None => municipality::list(&mut conn)?,
            };
            for m in all {
                let r = db::figure::rebuild_month(&mut conn, &m, month)?;
                println!(
                    "{} {month}: {} visits and {} declined visits counted, {} day figures",
                    m.name, r.visits, r.declined, r.day_cells
                );
            }
            Ok(())
        }
        Command::Simulate {
            clients,
            days,
            seed,
            rate,
            phone_percent,
            offline_percent,
            api,
            mqtt,
            timeout,
            code,
        } => {
            let o = hemtid::simulate::Options {
                clients,
                days,
                seed,
                rate,
                phone_percent: phone_percent.min(100),
                offline_percent: offline_percent.min(100),
                api,
                mqtt,
                phone_threads: 8,
                timeout: std::time::Duration::from_secs(timeout),
                code,
            };
            let child_env: Vec<(&str, String)> = cli
                .config
                .iter()
                .map(|p| ("HEMTID_CONFIG", p.display().to_string()))
                .collect();
            let summary = hemtid::simulate::run(&config, &o, &child_env)?;
            summary.print();
            if !summary.passed() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::MqttAcl {
            password_file,
            acl_file,
            gateway_client_ids,
            watch,
            every,
            reload_command,
        } => mqtt::acl_files(
            &config,
            &mqtt::AclOptions {
                password_file,
                acl_file,
                gateway_client_ids,
                watch,
                every: std::time::Duration::from_secs(every.max(1)),
                reload_command,
            },
        ),
        Command::Backup { to } => backup::backup(&config, &to),
        Command::Restore { from } => backup::restore(&config, &from),
        Command::Copy { from, to } => {
            copy::copy(&from.unwrap_or_else(|| config.database_url()), &to)
        }
        Command::VerifyLogs => {
            let (_, mut conn) = migrated(&config)?;
            let reports = hemtid_core::audit::verify_chains(&mut conn)?;
            // Whose signatures the gaps carry: this installation's key (in
            // its data folder) or another registered one.
            let own = auth::lock_keys::LockKeys::load(&config.data_dir)
                .context("reading the data folder's lock-signing key")?
                .map(|k| k.kid().to_string());
            let mut broken = false;
            for r in &reports {
                match &r.broken {
                    None => println!(
                        "{}: {} records, chain intact{}{}",
                        r.chain,
                        r.records,
                        if r.unlinked > 0 {
                            format!(" ({} earlier records not linked)", r.unlinked)
                        } else {
                            String::new()
                        },
                        if r.gaps > 0 {
                            let keys: Vec<String> = r
                                .gap_keys
                                .iter()
                                .map(|k| {
                                    if own.as_deref() == Some(k.as_str()) {
                                        format!("{k}, the data folder's")
                                    } else {
                                        format!("{k}, NOT the data folder's")
                                    }
                                })
                                .collect();
                            format!(
                                " ({} records removed by retention, under {} signed gaps; key {})",
                                r.removed,
                                r.gaps,
                                keys.join("; ")
                            )
                        } else {
                            String::new()
                        }
                    ),
                    Some(b) => {
                        broken = true;
                        println!(
                            "{}: BROKEN at record {} ({}); {} records before it are intact",
                            r.chain, b.seq, b.reason, r.records
                        );
                    }
                }
            }
            if broken {
                // Not 1 (the check could not run) nor 2 (clap's usage
                // error): a script can tell a tampered log from a typo.
                std::process::exit(3);
            }
            Ok(())
        }
        Command::PrintConfig | Command::Openapi => Ok(()),
    }
}

fn init_tracing(config: &Config) -> Result<()> {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter: Targets = log_targets(&config.log)
        .parse()
        .with_context(|| format!("HEMTID_LOG: cannot parse {:?}", config.log))?;
    // Colour only on a terminal (and not under NO_COLOR): escape codes in
    // a file or a log collector are noise.
    let colour = {
        use std::io::IsTerminal;
        std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    let registry = tracing_subscriber::registry().with(filter);
    match config.log_format {
        LogFormat::Json => registry.with(fmt.json()).init(),
        LogFormat::Text => registry.with(fmt).init(),
    }
    Ok(())
}

/// The log filter: `HEMTID_LOG`. (The embedded broker's own lines come
/// through `hemtid_gateway::broker` at warn and above, one per source and
/// interval.)
fn log_targets(spec: &str) -> String {
    if spec.trim().is_empty() {
        "info".to_string()
    } else {
        spec.to_string()
    }
}

fn today() -> chrono::NaiveDate {
    hemtid_core::domain::local_date(chrono::Utc::now(), hemtid_core::domain::STOCKHOLM)
}

/// Opens the pool and one connection from it.
fn open(config: &Config) -> Result<(Pool, db::PooledConn)> {
    let url = DatabaseUrl::parse(&config.database_url())?;
    tracing::info!(database = %url.redacted(), "opening database");
    let pool = db::pool(&url, config.database_pool_size)
        .with_context(|| format!("cannot reach the database at {}", url.redacted()))?;
    let conn = pool.get()?;
    Ok((pool, conn))
}

/// Opens the database and runs pending migrations.
fn migrated(config: &Config) -> Result<(Pool, db::PooledConn)> {
    let (pool, mut conn) = open(config)?;
    for v in db::run_migrations(&mut conn)? {
        tracing::info!(version = %v, "applied migration");
    }
    // Loud, not fatal: a test or a migration rehearsal may run so on
    // purpose; production must not.
    let url = DatabaseUrl::parse(&config.database_url())?;
    let transport = db::transport_warnings(&url, &mut conn)?;
    for w in db::statistics_warnings(&mut conn)? {
        tracing::warn!("{w}");
    }
    for w in db::durability_warnings(&mut conn)?
        .into_iter()
        .chain(transport)
    {
        tracing::error!("{w}");
        eprintln!("WARNING: {w}");
    }
    Ok((pool, conn))
}

/// `--at`: an RFC 3339 instant, or now.
fn instant(at: Option<String>) -> Result<chrono::DateTime<chrono::Utc>> {
    Ok(match at {
        Some(t) => chrono::DateTime::parse_from_rfc3339(&t)
            .with_context(|| format!("--at: not an RFC 3339 instant: {t}"))?
            .to_utc(),
        None => chrono::Utc::now(),
    })
}

/// Loads the demo unless it is there, with its visits unless `bare`.
fn load_demo(conn: &mut DbConn, bare: bool) -> Result<()> {
    let summary = seed::demo(conn, today())?;
    print_demo(&summary);
    if summary.created && !bare {
        let v = seed::demo_visits(conn, today())?;
        let at = chrono::Utc::now();
        hemtid_core::evaluate::all(conn, at)?;
        while hemtid_core::evaluate::dirty(conn, at, 1000)?.client_months > 0 {}
        println!(
            "demo visits since the orders started: {} visits, {} declined",
            v.visits, v.declined
        );
    }
    Ok(())
}

use hemtid::{background, checkpointer};
mod backup;
mod cli;
mod copy;
mod evaluator;
mod import_plan;
mod mqtt;
mod retention;
mod serve;
mod tls;

fn print_demo(summary: &seed::DemoSummary) {
    let m = &summary.municipality;
    let verb = if summary.created {
        "loaded"
    } else {
        "already loaded"
    };
    println!("demo municipality {} (kommunkod {}) {verb}", m.name, m.code);
    println!(
        "demo logins, all with the password {}:",
        seed::DEMO_PASSWORD
    );
    for l in &summary.logins {
        println!(
            "  {:<24} {:<15} {}",
            l.username,
            l.role.as_str(),
            l.organisation
        );
    }
}

fn find_municipality(conn: &mut DbConn, code: &str) -> Result<municipality::Municipality> {
    municipality::find_by_code(conn, code)?
        .with_context(|| format!("no municipality with kommunkod {code}"))
}

fn bootstrap(conn: &mut DbConn, code: &str, name: &str, username: &str) -> Result<()> {
    if code.len() != 4 || !code.bytes().all(|b| b.is_ascii_digit()) {
        bail!("kommunkod must be four digits");
    }
    let m = match municipality::find_by_code(conn, code)? {
        Some(m) => m,
        None => municipality::create(conn, code, name.trim(), &Default::default())?,
    };
    let added = seed::ensure_catalogue(conn, &m.id)?;
    if user_account::find_by_username(conn, username)?.is_some() {
        bail!("the username {username} is taken");
    }
    let password = auth::generate_password()?;
    let fields = user_account::UserFields {
        username: username.to_string(),
        display_name: "Administratör".into(),
        role: hemtid_core::model::Role::Admin,
        provider_id: None,
        authority_unit_id: None,
        active: true,
        external_id: None,
    };
    user_account::create(
        conn,
        &m.id,
        &db::new_id(),
        &fields,
        Some(&auth::hash_password(&password)?),
    )?;
    println!(
        "municipality {} (kommunkod {}), {added} services added to its catalogue",
        m.name, m.code
    );
    println!(
        "admin login: {username} / {password}  (shown once; change it with PUT /api/v1/users/{{id}}/password)"
    );
    Ok(())
}

fn token(conn: &mut DbConn, command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Create {
            municipality_code,
            name,
            provider,
        } => {
            let m = find_municipality(conn, &municipality_code)?;
            if let Some(p) = &provider {
                db::provider::get(conn, &m.id, p)
                    .with_context(|| format!("no provider {p} in {}", m.name))?;
            }
            let (token, hash) = auth::new_integration_token()?;
            let t = api_token::create(
                conn,
                &m.id,
                &db::new_id(),
                name.trim(),
                &hash,
                provider.as_deref(),
            )?;
            // A provider's planning-system token is for HTTP only.
            if provider.is_none() {
                api_token::set_broker_hash(conn, &t.id, &auth::broker_password_hash(&token)?)?;
            }
            let whose = provider
                .as_deref()
                .map(|p| format!("provider {p}'s planning system in "))
                .unwrap_or_default();
            println!("token {} for {whose}{}:", t.id, m.name);
            println!("{token}");
            let reach = if provider.is_some() {
                "it reaches the provider's planned visits and clients over HTTP only".to_string()
            } else {
                format!(
                    "on MQTT sign in as {} on the embedded broker, as {} on a Mosquitto with \
                     hemtid mqtt-acl's files",
                    hemtid_gateway::broker::INTEGRATION_USER,
                    hemtid_gateway::mosquitto::integration_username(&t.id)
                )
            };
            println!("(shown once; send it as Authorization: Bearer <token>; {reach})");
        }
        TokenCommand::List { municipality_code } => {
            let m = find_municipality(conn, &municipality_code)?;
            for t in api_token::list(conn, &m.id)? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                let whose = t
                    .provider_id
                    .map(|p| format!("  (provider {p}'s planning system)"))
                    .unwrap_or_default();
                println!("{}  {:<8} {}{whose}", t.id, state, t.name);
            }
        }
        TokenCommand::Revoke {
            municipality_code,
            id,
        } => {
            let m = find_municipality(conn, &municipality_code)?;
            api_token::revoke(conn, &m.id, &id).context("no such active token")?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;

    fn enabled(spec: &str, target: &str, level: Level) -> bool {
        let t: Targets = super::log_targets(spec).parse().expect("a filter");
        t.would_enable(target, &level)
    }

    /// The packaged manual page (packaging/deb/hemtid.1) is written by
    /// hand: it must not lose a command the binary has.
    #[test]
    fn the_manual_page_describes_every_command() {
        use clap::CommandFactory;
        let page = include_str!("../packaging/deb/hemtid.1");
        let commands: Vec<String> = super::Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .filter(|n| n != "help")
            .collect();
        assert!(commands.len() > 10);
        for name in commands {
            assert!(
                page.lines().any(|l| l.starts_with(&format!(".B {name}"))),
                "packaging/deb/hemtid.1 does not describe `hemtid {name}`"
            );
        }
    }

    #[test]
    fn the_log_filter_is_the_setting_or_info() {
        assert!(enabled("", "hemtid_gateway::run", Level::INFO));
        assert!(!enabled("", "hemtid_gateway::run", Level::DEBUG));
        assert!(!enabled("warn", "hemtid_gateway::run", Level::INFO));
        assert!(enabled("debug", "hemtid::checkpointer", Level::DEBUG));
    }
}
