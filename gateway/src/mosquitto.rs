//! hemtid's trust rules for an external Mosquitto: a password file and an
//! ACL file written from the device registry (`hemtid mqtt-acl`), the same
//! rules the embedded broker applies (see `broker::rules`):
//!
//! - a device's username is its id; it writes only its own events topic
//!   and reads only its own receipts and configuration;
//! - a case system's username is `integration-<token id>`; it reads the
//!   alert and plan-list topics of its own municipality, writes nothing;
//! - the gateway's usernames are its connections' client ids; it reads
//!   the devices' events and writes the rest.
//!
//! Mosquitto must run with `use_username_as_clientid true` (a client id is
//! then its username: nobody can take another's, the gateway's included),
//! `allow_anonymous false` and, for the 16 KiB limit, `max_packet_size`.
//! Mosquitto checks the ACL at every publish and every delivery, so a
//! reload after a change takes effect for connected clients too. It has no
//! rule against retaining: a device can retain only on its own events
//! topic, which the gateway takes as a duplicate.

use hemtid_core::db::{
    DbConn, StoreError, api_token, device, municipality, provider, user_account,
};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The gateway's side of the files: the usernames its connections sign in
/// with (their client ids) and its password's hash.
#[derive(Debug, Clone)]
pub struct GatewayAccount {
    pub usernames: Vec<String>,
    /// `auth::broker_password_hash` of its password.
    pub password_hash: String,
}

impl GatewayAccount {
    /// The usernames of a gateway with client id `client_id` reading on
    /// `subscribers` connections (its publisher is `<client id>-pub`).
    pub fn usernames_for(client_id: &str, subscribers: usize) -> Vec<String> {
        let mut out: Vec<String> = (0..subscribers.max(1))
            .map(|i| match i {
                0 => client_id.to_string(),
                i => format!("{client_id}-{i}"),
            })
            .collect();
        out.push(format!("{client_id}-pub"));
        out
    }
}

/// What `hemtid mqtt-acl` writes, and what it had to leave out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    pub password_file: String,
    pub acl_file: String,
    pub devices: usize,
    pub case_systems: usize,
    /// Active devices registered before broker hashes were kept: they
    /// sign in after their secret is rotated (`POST
    /// /api/v1/devices/{id}/secret`).
    pub devices_without_hash: Vec<String>,
    /// Integration tokens made before broker hashes were kept.
    pub tokens_without_hash: Vec<String>,
}

/// The case system's username for an integration token.
pub fn integration_username(token_id: &str) -> String {
    format!(
        "{}{token_id}",
        crate::broker::rules::INTEGRATION_CLIENT_ID_PREFIX
    )
}

/// A username or topic level hemtid writes into the files: ids are
/// validated where they are made, and this refuses anything else (a
/// newline or a space would change the file's meaning).
fn safe(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The password and ACL files for the registry as it is now.
pub fn render(conn: &mut DbConn, gateway: &GatewayAccount) -> Result<Rendered, StoreError> {
    let mut r = Rendered::default();
    let mut pw = String::from(
        "# Written by `hemtid mqtt-acl` from hemtid's device registry: do not edit.\n",
    );
    let mut acl = String::from(
        "# Written by `hemtid mqtt-acl` from hemtid's device registry: do not edit.\n\
         # Needs `use_username_as_clientid true` and `allow_anonymous false`.\n",
    );
    // The gateway.
    for user in gateway.usernames.iter().filter(|u| safe(u)) {
        let _ = writeln!(pw, "{user}:{}", gateway.password_hash);
        let _ = write!(
            acl,
            "\n# hemtid's gateway\nuser {user}\n\
             topic read hemtid/v1/devices/+/events\n\
             topic write hemtid/v1/devices/+/receipts\n\
             topic write hemtid/v1/devices/+/config\n\
             topic write hemtid/v1/caseworkers/+/alerts\n\
             topic write hemtid/v1/fee-admins/+/alerts\n\
             topic write hemtid/v1/providers/+/alerts\n\
             topic write hemtid/v1/providers/+/care-plan-lists\n\
             topic write hemtid/v1/authorities/+/care-plan-lists\n"
        );
    }
    // Devices: each its own topics.
    for (id, hash) in device::active_for_broker(conn)? {
        if !safe(&id) {
            continue;
        }
        let Some(hash) = hash else {
            r.devices_without_hash.push(id);
            continue;
        };
        r.devices += 1;
        let _ = writeln!(pw, "{id}:{hash}");
        let _ = write!(
            acl,
            "\nuser {id}\n\
             topic write {}\n\
             topic read {}\n\
             topic read {}\n",
            crate::events_topic(&id),
            crate::receipts_topic(&id),
            crate::config_topic(&id)
        );
    }
    // Case systems: their own municipality's alert and plan-list topics.
    let mut caseworkers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (m, id) in user_account::ids_with_role(conn, hemtid_core::model::Role::Caseworker)? {
        caseworkers.entry(m).or_default().push(id);
    }
    let mut providers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (m, id) in provider::all_ids(conn)? {
        providers.entry(m).or_default().push(id);
    }
    let known: std::collections::BTreeSet<String> = municipality::list(conn)?
        .into_iter()
        .map(|m| m.id.into_string())
        .collect();
    for (token, m, hash) in api_token::active_for_broker(conn)? {
        if !known.contains(&m) || !safe(&token) || !safe(&m) {
            continue;
        }
        let Some(hash) = hash else {
            r.tokens_without_hash.push(token);
            continue;
        };
        r.case_systems += 1;
        let user = integration_username(&token);
        let _ = writeln!(pw, "{user}:{hash}");
        let _ = write!(
            acl,
            "\n# a case system of municipality {m}\nuser {user}\n\
             topic read hemtid/v1/fee-admins/{m}/alerts\n\
             topic read hemtid/v1/authorities/{m}/care-plan-lists\n"
        );
        for u in caseworkers
            .get(&m)
            .into_iter()
            .flatten()
            .filter(|u| safe(u))
        {
            let _ = writeln!(acl, "topic read hemtid/v1/caseworkers/{u}/alerts");
        }
        for p in providers.get(&m).into_iter().flatten().filter(|p| safe(p)) {
            let _ = writeln!(acl, "topic read hemtid/v1/providers/{p}/alerts");
            let _ = writeln!(acl, "topic read hemtid/v1/providers/{p}/care-plan-lists");
        }
    }
    r.password_file = pw;
    r.acl_file = acl;
    Ok(r)
}

/// Writes `text` to `path` through a temporary file in the same folder
/// and a rename, so Mosquitto never reads half a file; mode 0640 (the
/// password file holds hashes).
pub fn write_atomically(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("hemtid")
    ));
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o640)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_signs_in_under_each_of_its_client_ids() {
        assert_eq!(
            GatewayAccount::usernames_for("hemtid-gateway", 2),
            ["hemtid-gateway", "hemtid-gateway-1", "hemtid-gateway-pub"]
        );
        assert_eq!(integration_username("t1"), "integration-t1");
        assert!(safe("lock-0042"));
        assert!(!safe("lock\nuser x"));
        assert!(!safe("a b"));
        assert!(!safe(""));
    }
}
