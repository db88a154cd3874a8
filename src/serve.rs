//! `hemtid serve`: the API, the gateway, the alert rules and the
//! background work in one process; and `hemtid gateway` on its own.

use crate::{checkpointer, evaluator, load_demo, migrated, mqtt, retention, tls};
use anyhow::{Context, Result, bail};
use hemtid_core::auth::{self, TokenKeys};
use hemtid_core::config::Config;
use hemtid_core::db::{self, DatabaseUrl};

pub(crate) async fn serve(config: Config, demo: bool, bare: bool) -> Result<()> {
    let (pool, mut conn) = migrated(&config)?;
    if demo {
        load_demo(&mut conn, bare)?;
    }
    drop(conn);
    let secret = match &config.jwt_secret {
        Some(s) if s.len() >= 32 => s.as_bytes().to_vec(),
        Some(_) => bail!("HEMTID_JWT_SECRET must be at least 32 characters"),
        None => auth::load_or_create_secret(&config.data_dir)?,
    };
    // The key that signs digital lock keys; gateways publish its public half.
    let lock_keys = auth::lock_keys::LockKeys::load_or_create(&config.data_dir)?;
    db::digital_key::register_signing_key(
        &mut *pool.get()?,
        lock_keys.kid(),
        &lock_keys.public_key(),
        db::now(),
    )?;
    let state = hemtid_api::AppState::build(
        pool,
        TokenKeys::new(&secret, config.access_token_ttl_seconds)
            .with_refresh_ttl(config.refresh_token_ttl_seconds),
        hemtid_api::Clock::System,
        Some(lock_keys.clone()),
    );
    let _ = state.proxies.set(config.proxies());
    for w in config.exposure_warnings() {
        tracing::warn!("{w}");
    }
    let identity = hemtid_core::auth::oidc::IdentityProviders::new(&config.identity_provider)
        .context("identity_provider")?;
    for p in identity.all() {
        tracing::info!(
            municipality = %p.config.municipality,
            issuer = %p.config.issuer,
            password_login = p.config.password_login,
            "sign-in through the identity provider"
        );
    }
    let _ = state.identity.set(std::sync::Arc::new(identity));
    let evaluator = evaluator::start(
        state.pool.clone(),
        std::time::Duration::from_secs(config.evaluate_interval_seconds),
    )?;
    let backend = DatabaseUrl::parse(&config.database_url())?.backend();
    let checkpointer = checkpointer::start(state.pool.clone(), backend)?;
    let retention = retention::start(state.pool.clone(), lock_keys.clone())?;
    // The certificate for HTTPS and for MQTT over TLS, read again on
    // SIGHUP and when its files change.
    let certificate = match (&config.tls_cert_file, &config.tls_key_file) {
        (Some(cert), Some(key)) => {
            let certificate = tls::Certificate::load(cert, key)?;
            tls::reload_on_change(certificate.clone())?;
            Some(certificate)
        }
        _ => {
            tls::ignore_sighup()?;
            None
        }
    };
    let gateway = mqtt::start(
        &config,
        state.pool.clone(),
        Some(lock_keys),
        certificate.clone(),
    )?;
    let _ = state.gateway_ready.set(gateway.ready.clone());
    // /metrics (with /healthz and /readyz) on a listener of its own, for a
    // scraper on a private network; the API's address then has none.
    let metrics = match &config.metrics_addr {
        Some(addr) => {
            let _ = state.metrics_elsewhere.set(());
            let ops = state.clone();
            let server = actix_web::HttpServer::new(move || hemtid_api::ops_app(ops.clone()))
                .workers(1)
                .shutdown_timeout(5)
                .disable_signals()
                .bind(addr)
                .with_context(|| format!("cannot listen on {addr} (metrics_addr)"))?;
            for a in server.addrs() {
                println!("hemtid metrics on http://{a}/metrics");
            }
            let server = server.run();
            let handle = server.handle();
            actix_web::rt::spawn(server);
            Some(handle)
        }
        None => None,
    };
    let server =
        actix_web::HttpServer::new(move || hemtid_api::app(state.clone())).shutdown_timeout(10);
    // HTTPS only, when a certificate is configured; plain HTTP otherwise
    // (loopback, the demo, or behind a proxy that ends TLS).
    let (server, scheme) = match certificate {
        Some(certificate) => {
            let server = server
                .bind_rustls_0_23(&config.http_addr, tls::server_config(certificate)?)
                .with_context(|| format!("cannot listen on {}", config.http_addr))?;
            (server, "https")
        }
        None => {
            let server = server
                .bind(&config.http_addr)
                .with_context(|| format!("cannot listen on {}", config.http_addr))?;
            (server, "http")
        }
    };
    for addr in server.addrs() {
        println!("hemtid listening on {scheme}://{addr}");
    }
    tracing::info!("started; SIGINT or SIGTERM stops gracefully");
    let result = server.run().await;
    if let Some(m) = metrics {
        m.stop(true).await;
    }
    gateway.stop();
    evaluator.stop();
    retention.stop();
    if let Some(c) = checkpointer {
        c.stop();
    }
    result?;
    tracing::info!("stopped");
    Ok(())
}

/// `hemtid gateway`: the gateway alone, with `/healthz`, `/readyz` and
/// `/metrics` on the HTTP address (no API), until SIGINT or SIGTERM.
pub(crate) async fn gateway_alone(config: &Config) -> Result<()> {
    if config.mqtt_url.is_none() {
        bail!(
            "hemtid gateway needs HEMTID_MQTT_URL (the embedded broker runs inside hemtid serve)"
        );
    }
    let (pool, conn) = migrated(config)?;
    drop(conn);
    // The operations endpoints sign nobody in: a key nobody knows.
    let (secret, _) = auth::new_secret_token("ops_")?;
    let state = hemtid_api::AppState::build(
        pool.clone(),
        TokenKeys::new(secret.as_bytes(), config.access_token_ttl_seconds),
        hemtid_api::Clock::System,
        None,
    );
    let backend = DatabaseUrl::parse(&config.database_url())?.backend();
    let checkpointer = checkpointer::start(pool.clone(), backend)?;
    // The locks' configurations are signed with the key `hemtid serve`
    // made in the data folder; without it none are published.
    let lock_keys = auth::lock_keys::LockKeys::load(&config.data_dir)?;
    if lock_keys.is_none() {
        tracing::warn!(
            data_dir = %config.data_dir.display(),
            "no lock-signing-key in the data folder: lock configurations will not be published"
        );
    }
    let gateway = mqtt::start(config, pool, lock_keys, None)?;
    let _ = state.gateway_ready.set(gateway.ready.clone());
    let server = actix_web::HttpServer::new(move || hemtid_api::ops_app(state.clone()))
        .workers(1)
        .shutdown_timeout(5)
        .disable_signals()
        .bind(&config.http_addr)
        .with_context(|| format!("cannot listen on {}", config.http_addr))?;
    for addr in server.addrs() {
        println!("hemtid gateway: /healthz, /readyz and /metrics on http://{addr}");
    }
    let server = server.run();
    let handle = server.handle();
    let http = actix_web::rt::spawn(server);
    let result = mqtt::until_signal().await;
    handle.stop(true).await;
    match http.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "the operations listener failed"),
        Err(e) => tracing::error!(error = %e, "the operations listener stopped abnormally"),
    }
    gateway.stop();
    if let Some(c) = checkpointer {
        c.stop();
    }
    result
}
