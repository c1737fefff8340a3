//! The PVS's data: owners (SO-SNPNs) with their CA, the onboarding lists (which onboarding
//! SUPI and UEID belong to which owner, and the identity each gets), issued certificates
//! with revocation, and the audit log. CA private keys are sealed at rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use snpn_pki::ca::Ca;
use snpn_pki::crl::Revoked;
use snpn_pki::identity::Identity;
use snpn_pki::keys::KeyAlg;
use snpn_store::sqlx::{self, Row};
use snpn_store::{now_ms, Migration, Store, StoreError};
use utoipa::ToSchema;

/// Schema of the PVS store.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "owners, CAs, onboarding lists, certificates, audit",
    sql: "CREATE TABLE owners (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            plmn TEXT NOT NULL,
            nid TEXT NOT NULL,
            created_at BIGINT NOT NULL
          );
          CREATE TABLE owner_cas (
            owner_id TEXT PRIMARY KEY,
            generation BIGINT NOT NULL,
            key_alg TEXT NOT NULL,
            root_der {bytes} NOT NULL,
            root_key {bytes},
            issuing_der {bytes} NOT NULL,
            issuing_key {bytes} NOT NULL,
            crl_number BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
          );
          CREATE TABLE devices (
            supi TEXT PRIMARY KEY,
            ueid TEXT UNIQUE,
            owner_id TEXT NOT NULL,
            identity TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            created_at BIGINT NOT NULL
          );
          CREATE INDEX devices_owner ON devices (owner_id);
          CREATE TABLE certificates (
            serial TEXT PRIMARY KEY,
            owner_id TEXT NOT NULL,
            supi TEXT NOT NULL,
            identity TEXT NOT NULL,
            not_after BIGINT NOT NULL,
            issued_at BIGINT NOT NULL,
            der {bytes} NOT NULL,
            revoked_at BIGINT,
            reason BIGINT
          );
          CREATE INDEX certificates_supi ON certificates (supi);
          CREATE INDEX certificates_owner ON certificates (owner_id, revoked_at);
          CREATE TABLE audit (
            id TEXT PRIMARY KEY,
            at BIGINT NOT NULL,
            event TEXT NOT NULL,
            outcome TEXT NOT NULL,
            a_kid TEXT,
            supi TEXT,
            owner_id TEXT,
            detail TEXT NOT NULL
          );
          CREATE INDEX audit_at ON audit (at)",
}];

/// An owner (SO-SNPN).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Owner {
    /// Identifier (`[a-z0-9-]{1,32}`).
    pub id: String,
    /// Display name (the O of its certificates).
    pub name: String,
    /// PLMN ID of its SNPN, `MCC-MNC`.
    pub plmn: String,
    /// NID of its SNPN, 11 hexadecimal digits.
    pub nid: String,
}

/// A device on an owner's onboarding list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Device {
    /// The onboarding SUPI.
    pub supi: String,
    /// UEID (hexadecimal), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ueid: Option<String>,
    /// The owner.
    pub owner_id: String,
    /// The identity it gets in the owner's SNPN.
    #[schema(value_type = String)]
    pub identity: Identity,
    /// `active` or `blocked`.
    pub status: String,
}

/// An issued certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CertRecord {
    /// Serial number, hexadecimal.
    pub serial: String,
    /// The onboarding SUPI it was issued to.
    pub supi: String,
    /// Its identity.
    pub identity: String,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// Issued at, Unix seconds.
    pub issued_at: i64,
    /// Revoked at, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

/// An audit log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Unix milliseconds.
    pub at: i64,
    /// What happened (`handshake`, `channel`, `enroll`, `reenroll`, `revoke`, …).
    pub event: String,
    /// `ok` or `refused`.
    pub outcome: String,
    /// The A-KID, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a_kid: Option<String>,
    /// The SUPI, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supi: Option<String>,
    /// The owner, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// Details (never key material).
    pub detail: String,
}

/// Whether an upsert created or replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upsert {
    /// Created.
    Created,
    /// Replaced.
    Replaced,
}

/// Loaded CAs by owner, with the generation they were loaded at.
type CaCache = Arc<Mutex<HashMap<String, (i64, Arc<Ca>)>>>;

/// The repository.
#[derive(Clone)]
pub struct PvsStore {
    store: Store,
    cas: CaCache,
}

fn root_aad(owner: &str) -> String {
    format!("owner_cas/{owner}/root_key")
}

fn issuing_aad(owner: &str) -> String {
    format!("owner_cas/{owner}/issuing_key")
}

fn pki(e: snpn_pki::PkiError) -> StoreError {
    StoreError::Config(format!("stored CA: {e}"))
}

fn alg_str(a: KeyAlg) -> &'static str {
    match a {
        KeyAlg::P256 => "p256",
        KeyAlg::P384 => "p384",
        KeyAlg::Ed25519 => "ed25519",
    }
}

fn device_from(r: &snpn_store::sqlx::any::AnyRow) -> Result<Device, StoreError> {
    let identity: String = r.try_get("identity")?;
    Ok(Device {
        supi: r.try_get("supi")?,
        ueid: r.try_get("ueid")?,
        owner_id: r.try_get("owner_id")?,
        identity: Identity::parse(&identity)
            .map_err(|e| StoreError::Config(format!("stored identity: {e}")))?,
        status: r.try_get("status")?,
    })
}

impl PvsStore {
    /// The repository over a migrated store.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            cas: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates an owner with its CA; false if the id is taken.
    pub async fn create_owner(
        &self,
        owner: &Owner,
        ca: &Ca,
        root_key: Option<&openssl::pkey::PKeyRef<openssl::pkey::Private>>,
    ) -> Result<bool, StoreError> {
        let sealer = self.store.sealer();
        let now = now_ms();
        let issuing_key = sealer.seal(&issuing_aad(&owner.id), &ca.issuing_key_der().map_err(pki)?);
        let root_key = match root_key {
            Some(k) => Some(sealer.seal(
                &root_aad(&owner.id),
                &snpn_pki::keys::private_to_der(k).map_err(pki)?,
            )),
            None => None,
        };
        let chain = ca.chain_der().map_err(pki)?;
        let mut tx = self.store.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO owners (id, name, plmn, nid, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&owner.id)
        .bind(&owner.name)
        .bind(&owner.plmn)
        .bind(&owner.nid)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(false),
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        sqlx::query(
            "INSERT INTO owner_cas (owner_id, generation, key_alg, root_der, root_key, issuing_der, issuing_key, crl_number, updated_at)
             VALUES ($1, 1, $2, $3, $4, $5, $6, 0, $7)",
        )
        .bind(&owner.id)
        .bind(alg_str(ca.alg))
        .bind(&chain[1])
        .bind(root_key)
        .bind(&chain[0])
        .bind(issuing_key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Replaces an owner's CA (import); false if the owner does not exist.
    pub async fn replace_ca(&self, owner_id: &str, ca: &Ca) -> Result<bool, StoreError> {
        let sealer = self.store.sealer();
        let issuing_key = sealer.seal(&issuing_aad(owner_id), &ca.issuing_key_der().map_err(pki)?);
        let chain = ca.chain_der().map_err(pki)?;
        let n = sqlx::query(
            "UPDATE owner_cas SET generation = generation + 1, key_alg = $2, root_der = $3, root_key = NULL,
               issuing_der = $4, issuing_key = $5, updated_at = $6 WHERE owner_id = $1",
        )
        .bind(owner_id)
        .bind(alg_str(ca.alg))
        .bind(&chain[1])
        .bind(&chain[0])
        .bind(issuing_key)
        .bind(now_ms())
        .execute(self.store.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// An owner.
    pub async fn owner(&self, id: &str) -> Result<Option<Owner>, StoreError> {
        let row = sqlx::query("SELECT id, name, plmn, nid FROM owners WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?;
        row.map(|r| {
            Ok(Owner {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                plmn: r.try_get("plmn")?,
                nid: r.try_get("nid")?,
            })
        })
        .transpose()
    }

    /// An owner's CA, from the cache while its generation is current.
    pub async fn ca(&self, owner_id: &str) -> Result<Option<Arc<Ca>>, StoreError> {
        let Some(row) = sqlx::query("SELECT generation FROM owner_cas WHERE owner_id = $1")
            .bind(owner_id)
            .fetch_optional(self.store.pool())
            .await?
        else {
            return Ok(None);
        };
        let generation: i64 = row.try_get("generation")?;
        if let Some((g, ca)) = self
            .cas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(owner_id)
        {
            if *g == generation {
                return Ok(Some(ca.clone()));
            }
        }
        let r = sqlx::query(
            "SELECT generation, root_der, issuing_der, issuing_key FROM owner_cas WHERE owner_id = $1",
        )
        .bind(owner_id)
        .fetch_one(self.store.pool())
        .await?;
        let generation: i64 = r.try_get("generation")?;
        let key = self.store.sealer().open(
            &issuing_aad(owner_id),
            &r.try_get::<Vec<u8>, _>("issuing_key")?,
        )?;
        let ca = Arc::new(
            Ca::from_der(
                &r.try_get::<Vec<u8>, _>("root_der")?,
                &r.try_get::<Vec<u8>, _>("issuing_der")?,
                &key,
            )
            .map_err(pki)?,
        );
        self.cas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(owner_id.to_owned(), (generation, ca.clone()));
        Ok(Some(ca))
    }

    /// Adds or replaces a device on an owner's list. `Err(conflict)` text when the SUPI,
    /// the UEID or the identity belongs to another entry.
    pub async fn upsert_device(&self, d: &Device) -> Result<Result<Upsert, String>, StoreError> {
        let existing = sqlx::query(
            "SELECT supi, ueid, owner_id, identity FROM devices WHERE supi = $1 OR identity = $2 OR (ueid IS NOT NULL AND ueid = $3)",
        )
        .bind(&d.supi)
        .bind(d.identity.as_str())
        .bind(d.ueid.as_deref().unwrap_or(""))
        .fetch_all(self.store.pool())
        .await?;
        let mut replace = false;
        for r in &existing {
            let supi: String = r.try_get("supi")?;
            let owner: String = r.try_get("owner_id")?;
            if supi != d.supi {
                return Ok(Err("the identity or UEID belongs to another device".into()));
            }
            if owner != d.owner_id {
                return Ok(Err("the SUPI is on another owner's list".into()));
            }
            replace = true;
        }
        let now = now_ms();
        let q = if replace {
            "UPDATE devices SET ueid = $2, identity = $4, status = $5 WHERE supi = $1 AND owner_id = $3"
        } else {
            "INSERT INTO devices (supi, ueid, owner_id, identity, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
        };
        let r = sqlx::query(q)
            .bind(&d.supi)
            .bind(d.ueid.as_deref())
            .bind(&d.owner_id)
            .bind(d.identity.as_str())
            .bind(&d.status)
            .bind(now)
            .execute(self.store.pool())
            .await;
        match r {
            Ok(_) => Ok(Ok(if replace {
                Upsert::Replaced
            } else {
                Upsert::Created
            })),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(Err(
                "the SUPI, UEID or identity was taken concurrently".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The list entry of an onboarding SUPI.
    /// A device by its UEID (how a third-party PVS, which never learns the SUPI, finds
    /// an attested device).
    pub async fn device_by_ueid(&self, ueid: &str) -> Result<Option<Device>, StoreError> {
        let row = sqlx::query(
            "SELECT supi, ueid, owner_id, identity, status FROM devices WHERE lower(ueid) = $1",
        )
        .bind(ueid.to_ascii_lowercase())
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(device_from).transpose()
    }

    /// A device by its onboarding SUPI.
    pub async fn device(&self, supi: &str) -> Result<Option<Device>, StoreError> {
        let row = sqlx::query(
            "SELECT supi, ueid, owner_id, identity, status FROM devices WHERE supi = $1",
        )
        .bind(supi)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(device_from).transpose()
    }

    /// Records an issued certificate; false if the serial exists (the caller retries).
    pub async fn insert_certificate(
        &self,
        owner_id: &str,
        rec: &CertRecord,
        der: &[u8],
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT INTO certificates (serial, owner_id, supi, identity, not_after, issued_at, der)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&rec.serial)
        .bind(owner_id)
        .bind(&rec.supi)
        .bind(&rec.identity)
        .bind(rec.not_after)
        .bind(rec.issued_at)
        .bind(der)
        .execute(self.store.pool())
        .await;
        match r {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Certificates of an owner (optionally of one SUPI), newest first.
    pub async fn certificates(
        &self,
        owner_id: &str,
        supi: Option<&str>,
    ) -> Result<Vec<CertRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT serial, supi, identity, not_after, issued_at, revoked_at FROM certificates
             WHERE owner_id = $1 AND ($2 = '' OR supi = $2) ORDER BY issued_at DESC LIMIT 1000",
        )
        .bind(owner_id)
        .bind(supi.unwrap_or(""))
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CertRecord {
                    serial: r.try_get("serial")?,
                    supi: r.try_get("supi")?,
                    identity: r.try_get("identity")?,
                    not_after: r.try_get("not_after")?,
                    issued_at: r.try_get("issued_at")?,
                    revoked_at: r.try_get("revoked_at")?,
                })
            })
            .collect()
    }

    /// Whether the SUPI holds an unrevoked, unexpired certificate for `identity`.
    pub async fn has_valid_certificate(
        &self,
        supi: &str,
        identity: &str,
        now_s: i64,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT serial FROM certificates WHERE supi = $1 AND identity = $2 AND revoked_at IS NULL AND not_after > $3 LIMIT 1",
        )
        .bind(supi)
        .bind(identity)
        .bind(now_s)
        .fetch_optional(self.store.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Revokes a certificate of an owner; None if unknown, Some(false) if already revoked.
    pub async fn revoke(
        &self,
        owner_id: &str,
        serial: &str,
        reason: u8,
        now_s: i64,
    ) -> Result<Option<bool>, StoreError> {
        let n = sqlx::query(
            "UPDATE certificates SET revoked_at = $3, reason = $4 WHERE owner_id = $1 AND serial = $2 AND revoked_at IS NULL",
        )
        .bind(owner_id)
        .bind(serial)
        .bind(now_s)
        .bind(i64::from(reason))
        .execute(self.store.pool())
        .await?
        .rows_affected();
        if n == 1 {
            return Ok(Some(true));
        }
        let exists =
            sqlx::query("SELECT serial FROM certificates WHERE owner_id = $1 AND serial = $2")
                .bind(owner_id)
                .bind(serial)
                .fetch_optional(self.store.pool())
                .await?;
        Ok(exists.map(|_| false))
    }

    /// The revoked certificates of an owner (for its CRL).
    pub async fn revoked(&self, owner_id: &str) -> Result<Vec<Revoked>, StoreError> {
        let rows = sqlx::query(
            "SELECT serial, revoked_at, reason FROM certificates WHERE owner_id = $1 AND revoked_at IS NOT NULL",
        )
        .bind(owner_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let serial: String = r.try_get("serial")?;
                Ok(Revoked {
                    serial: hex::decode(&serial)
                        .map_err(|_| StoreError::Config("stored serial".into()))?,
                    revoked_at: r.try_get("revoked_at")?,
                    reason: r.try_get::<Option<i64>, _>("reason")?.unwrap_or(0) as u8,
                })
            })
            .collect()
    }

    /// The next CRL number of an owner.
    pub async fn next_crl_number(&self, owner_id: &str) -> Result<Option<u64>, StoreError> {
        let row = sqlx::query(
            "UPDATE owner_cas SET crl_number = crl_number + 1 WHERE owner_id = $1 RETURNING crl_number",
        )
        .bind(owner_id)
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|r| Ok(r.try_get::<i64, _>("crl_number")? as u64))
            .transpose()
    }

    /// Appends an audit entry (failures to write it are logged, not returned).
    pub async fn audit(&self, e: &AuditEntry) {
        let r = sqlx::query(
            "INSERT INTO audit (id, at, event, outcome, a_kid, supi, owner_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(e.at)
        .bind(&e.event)
        .bind(&e.outcome)
        .bind(e.a_kid.as_deref())
        .bind(e.supi.as_deref())
        .bind(e.owner_id.as_deref())
        .bind(&e.detail)
        .execute(self.store.pool())
        .await;
        if let Err(err) = r {
            tracing::error!(error = %err, event = %e.event, "audit entry not written");
        }
        tracing::info!(event = %e.event, outcome = %e.outcome, a_kid = ?e.a_kid, supi = ?e.supi, owner = ?e.owner_id, detail = %e.detail, "audit");
    }

    /// The newest audit entries.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, event, outcome, a_kid, supi, owner_id, detail FROM audit ORDER BY at DESC LIMIT $1",
        )
        .bind(limit.clamp(1, 10_000))
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: r.try_get("at")?,
                    event: r.try_get("event")?,
                    outcome: r.try_get("outcome")?,
                    a_kid: r.try_get("a_kid")?,
                    supi: r.try_get("supi")?,
                    owner_id: r.try_get("owner_id")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
