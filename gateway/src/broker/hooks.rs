//! The embedded broker's sign-in and authorization: rmqtt calls these
//! hooks for every CONNECT, PUBLISH and SUBSCRIBE; the rules themselves are
//! in [`super::rules`].

use super::rules::{self, Identity, Owner, Refusal, Subscription};
use super::tally::Tally;
use super::{GATEWAY_LISTENER, GATEWAY_USER, INTEGRATION_USER};
use async_trait::async_trait;
use hemtid_core::db::{Pool, api_token, device, provider, user_account};
use hemtid_core::model::DeviceStatus;
use rmqtt::codec::v5::SubscribeAckReason;
use rmqtt::hook::{Handler, HookResult, Parameter, ReturnType};
use rmqtt::types::{AuthResult, ConnectInfo, Id, PublishAclResult, SubscribeAclResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A signed-in connection: who it is, and the credential it used, so a
/// rotated secret or revoked token can end it.
#[derive(Debug, Clone)]
pub struct Signed {
    pub identity: Identity,
    /// SHA-256 of the password it signed in with (devices, integration).
    pub credential_hash: String,
}

/// The connections signed in now, by their broker id.
pub type Sessions = Arc<Mutex<HashMap<Id, Signed>>>;

/// One token bucket per device.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The hook handler: one for all hook types.
pub struct Authority {
    pub pool: Pool,
    /// SHA-256 of the gateway's password for this process's life.
    pub gateway_hash: String,
    pub sessions: Sessions,
    pub tally: Arc<Tally>,
    /// Messages a device may publish at once, and then per second.
    rate: (f64, f64),
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Authority {
    pub fn new(
        pool: Pool,
        gateway_password: &str,
        sessions: Sessions,
        tally: Arc<Tally>,
        (burst, per_second): (u32, u32),
    ) -> Self {
        Authority {
            pool,
            gateway_hash: hemtid_core::auth::hash_token(gateway_password),
            sessions,
            tally,
            rate: (f64::from(burst.max(1)), f64::from(per_second.max(1))),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<Id, Signed>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn identity_of(&self, id: &Id) -> Option<Identity> {
        self.sessions().get(id).map(|s| s.identity.clone())
    }

    /// Who the CONNECT signs in as, or why not.
    async fn authenticate(&self, ci: &ConnectInfo) -> Result<Signed, AuthResult> {
        let id = ci.id();
        let user = ci.username().map(|u| u.to_string()).unwrap_or_default();
        let password = ci
            .password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let client_id = ci.client_id().to_string();
        let credential_hash = hemtid_core::auth::hash_token(&password);
        if id.lid == GATEWAY_LISTENER {
            // The internal listener is the gateway's alone.
            return if user == GATEWAY_USER && credential_hash == self.gateway_hash {
                Ok(Signed {
                    identity: Identity::Gateway,
                    credential_hash,
                })
            } else {
                self.tally.refused("bad_credentials");
                Err(AuthResult::BadUsernameOrPassword)
            };
        }
        if user.is_empty() || password.is_empty() {
            self.tally.refused("bad_credentials");
            return Err(AuthResult::BadUsernameOrPassword);
        }
        if user == GATEWAY_USER || client_id.starts_with(rules::RESERVED_CLIENT_ID_PREFIX) {
            self.tally.refused("reserved_identity");
            return Err(AuthResult::NotAuthorized);
        }
        let pool = self.pool.clone();
        let hash = credential_hash.clone();
        let looked_up = tokio::task::spawn_blocking(move || -> Result<Option<Identity>, String> {
            let mut c = pool.get().map_err(|e| e.to_string())?;
            if user == INTEGRATION_USER {
                // A provider's planning-system token is HTTP only.
                return Ok(api_token::find_active(&mut c, &hash)
                    .map_err(|e| e.to_string())?
                    .filter(|t| t.provider_id.is_none())
                    .map(|t| Identity::Integration {
                        token_id: t.id,
                        municipality_id: t.municipality_id.to_string(),
                    }));
            }
            match device::get_any(&mut c, &user) {
                Ok(d) if d.status == DeviceStatus::Active && d.secret_hash == hash => {
                    Ok(Some(Identity::Device {
                        id: d.id.to_string(),
                        municipality_id: d.municipality_id.to_string(),
                    }))
                }
                Ok(_) | Err(hemtid_core::db::StoreError::NotFound) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r);
        let identity = match looked_up {
            Ok(Some(identity)) => identity,
            Ok(None) => {
                self.tally.refused("bad_credentials");
                return Err(AuthResult::BadUsernameOrPassword);
            }
            Err(e) => {
                // The database did not answer: not the device's fault, and
                // not "bad password". rmqtt answers this CONNACK 5 (not
                // authorized; its refusals skip the CONNACK hook, so it
                // cannot be 3); the contract tells locks to retry on 5.
                self.tally.refused("database_unavailable");
                tracing::debug!(error = %e, "could not check an MQTT sign-in");
                return Err(AuthResult::NotFound);
            }
        };
        if !rules::client_id_allowed(&identity, &client_id) {
            self.tally.refused("wrong_client_id");
            return Err(AuthResult::NotAuthorized);
        }
        Ok(Signed {
            identity,
            credential_hash,
        })
    }

    /// Waits until the device may publish again (its token bucket): a
    /// device faster than its rate is read more slowly, never refused, so
    /// nothing valid is lost.
    async fn pace(&self, device_id: &str) {
        let (burst, per_second) = self.rate;
        let wait = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let b = buckets.entry(device_id.to_string()).or_insert(Bucket {
                tokens: burst,
                at: now,
            });
            let refill = now.duration_since(b.at).as_secs_f64() * per_second;
            b.tokens = (b.tokens + refill).min(burst) - 1.0;
            b.at = now;
            (b.tokens < 0.0).then(|| Duration::from_secs_f64(-b.tokens / per_second))
        };
        if let Some(wait) = wait {
            self.tally.slowed();
            tokio::time::sleep(wait.min(Duration::from_secs(5))).await;
        }
    }

    /// Whether an integration may read a topic naming `owner`.
    async fn owns(&self, municipality_id: &str, owner: Owner) -> bool {
        let pool = self.pool.clone();
        let m = municipality_id.to_string();
        let found = tokio::task::spawn_blocking(move || -> Result<bool, String> {
            let mut c = pool.get().map_err(|e| e.to_string())?;
            match owner {
                Owner::User(u) => match user_account::get(&mut c, &m, &u) {
                    Ok(_) => Ok(true),
                    Err(hemtid_core::db::StoreError::NotFound) => Ok(false),
                    Err(e) => Err(e.to_string()),
                },
                Owner::Provider(p) => match provider::get(&mut c, &m, &p) {
                    Ok(_) => Ok(true),
                    Err(hemtid_core::db::StoreError::NotFound) => Ok(false),
                    Err(e) => Err(e.to_string()),
                },
            }
        })
        .await;
        matches!(found, Ok(Ok(true)))
    }
}

/// One [`Authority`] registered for several hook types.
pub struct Shared(pub Arc<Authority>);

#[async_trait]
impl Handler for Shared {
    async fn hook(&self, param: &Parameter, acc: Option<HookResult>) -> ReturnType {
        self.0.hook(param, acc).await
    }
}

fn refuse_publish() -> ReturnType {
    // Disconnect: MQTT 3.1.1 has no way to refuse one publish, and a
    // device that publishes where it may not is faulty or hostile.
    (
        false,
        Some(HookResult::PublishAclResult(PublishAclResult::rejected(
            true, None,
        ))),
    )
}

fn refuse_subscribe() -> ReturnType {
    (
        false,
        Some(HookResult::SubscribeAclResult(
            SubscribeAclResult::new_failure(SubscribeAckReason::NotAuthorized),
        )),
    )
}

#[async_trait]
impl Handler for Authority {
    async fn hook(&self, param: &Parameter, acc: Option<HookResult>) -> ReturnType {
        match param {
            Parameter::ClientAuthenticate(ci) => match self.authenticate(ci).await {
                Ok(signed) => {
                    self.sessions().insert(ci.id().clone(), signed);
                    (
                        false,
                        Some(HookResult::AuthResult(AuthResult::Allow(false, None))),
                    )
                }
                Err(r) => (false, Some(HookResult::AuthResult(r))),
            },
            Parameter::ClientDisconnected(s, _) | Parameter::SessionTerminated(s, _) => {
                self.sessions().remove(&s.id);
                (true, acc)
            }
            Parameter::MessagePublishCheckAcl(s, p) => {
                let Some(identity) = self.identity_of(&s.id) else {
                    self.tally.refused_publish(Refusal::NotAllowed);
                    return refuse_publish();
                };
                match rules::may_publish(&identity, &p.topic, p.retain, p.payload.len()) {
                    Ok(()) => {
                        if let Identity::Device { id, .. } = &identity {
                            self.pace(id).await;
                        }
                        (
                            false,
                            Some(HookResult::PublishAclResult(PublishAclResult::allow())),
                        )
                    }
                    Err(r) => {
                        self.tally.refused_publish(r);
                        refuse_publish()
                    }
                }
            }
            Parameter::ClientSubscribeCheckAcl(s, sub) => {
                let Some(identity) = self.identity_of(&s.id) else {
                    self.tally.refused_subscribe(Refusal::NotAllowed);
                    return refuse_subscribe();
                };
                let allowed = match rules::may_subscribe(&identity, &sub.topic_filter) {
                    Ok(Subscription::Allowed) => true,
                    Ok(Subscription::Owned(owner)) => match &identity {
                        Identity::Integration {
                            municipality_id, ..
                        } => self.owns(municipality_id, owner).await,
                        _ => false,
                    },
                    Err(r) => {
                        self.tally.refused_subscribe(r);
                        return refuse_subscribe();
                    }
                };
                if allowed {
                    (
                        false,
                        Some(HookResult::SubscribeAclResult(
                            SubscribeAclResult::new_success(sub.opts.qos(), None),
                        )),
                    )
                } else {
                    self.tally.refused_subscribe(Refusal::NotAllowed);
                    refuse_subscribe()
                }
            }
            _ => (true, acc),
        }
    }
}
