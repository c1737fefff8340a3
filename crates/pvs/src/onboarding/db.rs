//! Persistence of credential policies and onboardings (SQLite or PostgreSQL). Credentials
//! and policies are sealed under the KEK; every state change is a compare-and-swap.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use snpn_models::onboarding::{AaaCredentials, ThreeGppCredentials};
use snpn_store::sqlx::{self, Row};
use snpn_store::{now_ms, Migration, Store, StoreError};
use zeroize::Zeroizing;

use super::machine::State;
use super::policy::{CredentialPolicy, Preconfigured};

/// Schema of the onboarding tables.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 300,
    description: "credential policies and onboardings",
    sql: "CREATE TABLE credential_policies (
            owner_id TEXT PRIMARY KEY,
            sealed {bytes} NOT NULL,
            msin_first BIGINT NOT NULL,
            msin_last BIGINT NOT NULL,
            next_msin BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
          );
          CREATE TABLE onboardings (
            id TEXT PRIMARY KEY,
            owner_id TEXT NOT NULL,
            onboarding_supi TEXT NOT NULL,
            ueid TEXT NOT NULL,
            open_ueid TEXT UNIQUE,
            state TEXT NOT NULL,
            snpn_supi TEXT UNIQUE,
            aaa_username TEXT,
            sealed {bytes} NOT NULL,
            error TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
          );
          CREATE INDEX onboardings_ueid ON onboardings (ueid, state);
          CREATE INDEX onboardings_sweep ON onboardings (state, updated_at)",
}, Migration {
    version: 301,
    description: "preconfigured credentials; a SUPI is unique among live onboardings only",
    // A rolled-back or superseded onboarding no longer holds its SUPI: preconfigured
    // credentials are offered again after a rollback. (SQLite cannot drop a UNIQUE
    // constraint: the table is rebuilt, which PostgreSQL does as well.)
    sql: "CREATE TABLE preconfigured_credentials (
            owner_id TEXT NOT NULL,
            ueid TEXT NOT NULL,
            supi TEXT UNIQUE,
            aaa_username TEXT UNIQUE,
            sealed {bytes} NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (owner_id, ueid)
          );
          CREATE TABLE onboardings_301 (
            id TEXT PRIMARY KEY,
            owner_id TEXT NOT NULL,
            onboarding_supi TEXT NOT NULL,
            ueid TEXT NOT NULL,
            open_ueid TEXT UNIQUE,
            state TEXT NOT NULL,
            snpn_supi TEXT,
            aaa_username TEXT,
            sealed {bytes} NOT NULL,
            error TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
          );
          INSERT INTO onboardings_301 (id, owner_id, onboarding_supi, ueid, open_ueid, state, snpn_supi, aaa_username, sealed, error, created_at, updated_at)
            SELECT id, owner_id, onboarding_supi, ueid, open_ueid, state, snpn_supi, aaa_username, sealed, error, created_at, updated_at FROM onboardings;
          DROP TABLE onboardings;
          ALTER TABLE onboardings_301 RENAME TO onboardings;
          CREATE INDEX onboardings_ueid ON onboardings (ueid, state);
          CREATE INDEX onboardings_sweep ON onboardings (state, updated_at);
          CREATE UNIQUE INDEX onboardings_live_supi ON onboardings (snpn_supi)
            WHERE state <> 'rolled_back' AND state <> 'superseded'",
}];

/// The credentials of one onboarding (sealed at rest).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issued {
    /// PLMN ID of the SO-SNPN.
    pub plmn: String,
    /// Its NID.
    pub nid: String,
    /// 3GPP credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub three_gpp: Option<ThreeGppCredentials>,
    /// AAA credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaa: Option<AaaCredentials>,
}

/// One onboarding.
#[derive(Clone, Debug)]
pub struct Onboarding {
    /// Its id (also the idempotency key of its pushes).
    pub id: String,
    /// The owner.
    pub owner_id: String,
    /// The onboarding SUPI the device authenticated with.
    pub onboarding_supi: String,
    /// The attested UEID.
    pub ueid: String,
    /// Its state.
    pub state: State,
    /// The credentials.
    pub issued: Issued,
    /// The last push error, if any.
    pub error: Option<String>,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last changed, Unix ms.
    pub updated_at: i64,
}

/// An onboarding without its credentials (for listing).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OnboardingSummary {
    /// Id.
    pub id: String,
    /// Owner.
    pub owner_id: String,
    /// UEID.
    pub ueid: String,
    /// The onboarding SUPI.
    pub onboarding_supi: String,
    /// State.
    pub state: String,
    /// The SUPI in the SO-SNPN, if 3GPP credentials were generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snpn_supi: Option<String>,
    /// The AAA username, if AAA credentials were generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaa_username: Option<String>,
    /// The last push error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Last changed, Unix ms.
    pub updated_at: i64,
}

/// A device's preconfigured credentials, without their secrets (for listing).
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreconfiguredSummary {
    /// The device's UEID.
    pub ueid: String,
    /// The SUPI, if 3GPP credentials were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supi: Option<String>,
    /// The AAA username, if AAA credentials were given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaa_username: Option<String>,
    /// Last changed, Unix ms.
    pub updated_at: i64,
}

/// The repository.
#[derive(Clone)]
pub struct OnboardingDb {
    store: Store,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Config(format!("onboarding record: {e}"))
}

const COLUMNS: &str =
    "id, owner_id, onboarding_supi, ueid, state, sealed, error, created_at, updated_at";

impl OnboardingDb {
    /// Over the PVS's store (migrated with [`MIGRATIONS`]).
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Creates or replaces an owner's policy; the next MSIN is kept while it stays in the
    /// range.
    pub async fn put_policy(&self, owner: &str, p: &CredentialPolicy) -> Result<(), StoreError> {
        let sealed = self.seal_json(&format!("policy:{owner}"), p)?;
        let (first, last) = p
            .three_gpp
            .as_ref()
            .map_or((0, 0), |t| (t.msin_first as i64, t.msin_last as i64));
        let mut tx = self.store.pool().begin().await?;
        let next: Option<(i64,)> =
            sqlx::query_as("SELECT next_msin FROM credential_policies WHERE owner_id = $1")
                .bind(owner)
                .fetch_optional(&mut *tx)
                .await?;
        let next = match next {
            Some((n,)) if n >= first && n <= last + 1 => n,
            _ => first,
        };
        sqlx::query("DELETE FROM credential_policies WHERE owner_id = $1")
            .bind(owner)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO credential_policies (owner_id, sealed, msin_first, msin_last, next_msin, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(owner)
        .bind(sealed)
        .bind(first)
        .bind(last)
        .bind(next)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An owner's policy, with its secrets.
    pub async fn policy(&self, owner: &str) -> Result<Option<CredentialPolicy>, StoreError> {
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT sealed FROM credential_policies WHERE owner_id = $1")
                .bind(owner)
                .fetch_optional(self.store.pool())
                .await?;
        row.map(|(sealed,)| self.open_json(&format!("policy:{owner}"), &sealed))
            .transpose()
    }

    /// Allocates the next MSIN of the owner's range (compare-and-swap: never twice);
    /// `None` when the range is exhausted.
    pub async fn allocate_msin(&self, owner: &str) -> Result<Option<u64>, StoreError> {
        for _ in 0..1000 {
            let row: Option<(i64, i64)> = sqlx::query_as(
                "SELECT next_msin, msin_last FROM credential_policies WHERE owner_id = $1",
            )
            .bind(owner)
            .fetch_optional(self.store.pool())
            .await?;
            let Some((next, last)) = row else {
                return Ok(None);
            };
            if next > last {
                return Ok(None);
            }
            let n = sqlx::query(
                "UPDATE credential_policies SET next_msin = $1 WHERE owner_id = $2 AND next_msin = $3",
            )
            .bind(next + 1)
            .bind(owner)
            .bind(next)
            .execute(self.store.pool())
            .await?
            .rows_affected();
            if n == 1 {
                return Ok(Some(next as u64));
            }
        }
        Err(StoreError::Config("MSIN allocation did not settle".into()))
    }

    /// `v` as JSON, sealed under the KEK for `label` (the JSON buffer is zeroized).
    fn seal_json<T: Serialize>(&self, label: &str, v: &T) -> Result<Vec<u8>, StoreError> {
        let json = Zeroizing::new(serde_json::to_vec(v).map_err(corrupt)?);
        Ok(self.store.sealer().seal(label, &json))
    }

    /// The JSON value sealed for `label`.
    fn open_json<T: DeserializeOwned>(&self, label: &str, sealed: &[u8]) -> Result<T, StoreError> {
        let json = self.store.sealer().open(label, sealed)?;
        serde_json::from_slice(&json).map_err(corrupt)
    }

    /// Inserts a new open onboarding (state `generated`); false if the device already has
    /// an open one.
    pub async fn insert(&self, o: &Onboarding) -> Result<bool, StoreError> {
        let sealed = self.seal_json(&format!("onboarding:{}", o.id), &o.issued)?;
        let r = sqlx::query(
            "INSERT INTO onboardings (id, owner_id, onboarding_supi, ueid, open_ueid, state, snpn_supi, aaa_username, sealed, error, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10, $10)",
        )
        .bind(&o.id)
        .bind(&o.owner_id)
        .bind(&o.onboarding_supi)
        .bind(&o.ueid)
        .bind(o.state.is_open().then_some(&o.ueid))
        .bind(o.state.as_str())
        .bind(o.issued.three_gpp.as_ref().map(|t| t.supi.clone()))
        .bind(o.issued.aaa.as_ref().map(|a| a.username.clone()))
        .bind(sealed)
        .bind(o.created_at)
        .execute(self.store.pool())
        .await;
        match r {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    fn row(&self, r: &snpn_store::sqlx::any::AnyRow) -> Result<Onboarding, StoreError> {
        let id: String = r.try_get("id")?;
        let sealed: Vec<u8> = r.try_get("sealed")?;
        Ok(Onboarding {
            owner_id: r.try_get("owner_id")?,
            onboarding_supi: r.try_get("onboarding_supi")?,
            ueid: r.try_get("ueid")?,
            state: r.try_get::<String, _>("state")?.parse().map_err(corrupt)?,
            issued: self.open_json(&format!("onboarding:{id}"), &sealed)?,
            error: r.try_get("error")?,
            created_at: r.try_get("created_at")?,
            updated_at: r.try_get("updated_at")?,
            id,
        })
    }

    /// An onboarding by id.
    pub async fn get(&self, id: &str) -> Result<Option<Onboarding>, StoreError> {
        let r = sqlx::query(&format!("SELECT {COLUMNS} FROM onboardings WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?;
        r.map(|r| self.row(&r)).transpose()
    }

    /// The device's open onboarding, if any.
    pub async fn open_for(&self, ueid: &str) -> Result<Option<Onboarding>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM onboardings WHERE open_ueid = $1"
        ))
        .bind(ueid)
        .fetch_optional(self.store.pool())
        .await?;
        r.map(|r| self.row(&r)).transpose()
    }

    /// The device's confirmed onboarding (its current credentials), if any.
    pub async fn confirmed_for(&self, ueid: &str) -> Result<Option<Onboarding>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM onboardings WHERE ueid = $1 AND state = 'confirmed' ORDER BY updated_at DESC"
        ))
        .bind(ueid)
        .fetch_optional(self.store.pool())
        .await?;
        r.map(|r| self.row(&r)).transpose()
    }

    /// Moves an onboarding from `from` to `to` (compare-and-swap); false if it was not in
    /// `from`. Leaving the open states frees the device for a new onboarding.
    pub async fn advance(&self, id: &str, from: State, to: State) -> Result<bool, StoreError> {
        debug_assert!(from.can_move_to(to), "{from} → {to}");
        let sql = if to.is_open() {
            "UPDATE onboardings SET state = $1, updated_at = $2, error = NULL WHERE id = $3 AND state = $4"
        } else {
            "UPDATE onboardings SET state = $1, updated_at = $2, open_ueid = NULL WHERE id = $3 AND state = $4"
        };
        let n = sqlx::query(sql)
            .bind(to.as_str())
            .bind(now_ms())
            .bind(id)
            .bind(from.as_str())
            .execute(self.store.pool())
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Records why the last push failed.
    pub async fn set_error(&self, id: &str, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE onboardings SET error = $1 WHERE id = $2")
            .bind(error)
            .bind(id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Onboardings in `state` last changed before `before_ms`.
    pub async fn stale(&self, state: State, before_ms: i64) -> Result<Vec<Onboarding>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM onboardings WHERE state = $1 AND updated_at < $2 ORDER BY updated_at LIMIT 100"
        ))
        .bind(state.as_str())
        .bind(before_ms)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(|r| self.row(r)).collect()
    }

    /// Confirmed onboardings that a newer confirmed onboarding of the same device replaced
    /// (rotation) but whose credentials are still to be removed from the network.
    pub async fn replaced(&self) -> Result<Vec<Onboarding>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM onboardings o WHERE o.state = 'confirmed' AND EXISTS
               (SELECT 1 FROM onboardings n WHERE n.ueid = o.ueid AND n.state = 'confirmed'
                AND n.created_at > o.created_at)
             ORDER BY o.updated_at LIMIT 100"
        ))
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(|r| self.row(r)).collect()
    }

    /// Stores a device's preconfigured credentials (replacing earlier ones); false if their
    /// SUPI or AAA username is another device's.
    pub async fn put_preconfigured(
        &self,
        owner: &str,
        ueid: &str,
        p: &Preconfigured,
    ) -> Result<bool, StoreError> {
        let sealed = self.seal_json(&format!("preconfigured:{owner}:{ueid}"), p)?;
        let mut tx = self.store.pool().begin().await?;
        sqlx::query("DELETE FROM preconfigured_credentials WHERE owner_id = $1 AND ueid = $2")
            .bind(owner)
            .bind(ueid)
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query(
            "INSERT INTO preconfigured_credentials (owner_id, ueid, supi, aaa_username, sealed, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(owner)
        .bind(ueid)
        .bind(p.three_gpp.as_ref().map(|t| t.supi.clone()))
        .bind(p.aaa.as_ref().map(|a| a.username.clone()))
        .bind(sealed)
        .bind(now_ms())
        .execute(&mut *tx)
        .await;
        match r {
            Ok(_) => {
                tx.commit().await?;
                Ok(true)
            }
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// A device's preconfigured credentials, with their secrets.
    pub async fn preconfigured(
        &self,
        owner: &str,
        ueid: &str,
    ) -> Result<Option<Preconfigured>, StoreError> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT sealed FROM preconfigured_credentials WHERE owner_id = $1 AND ueid = $2",
        )
        .bind(owner)
        .bind(ueid)
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|(sealed,)| self.open_json(&format!("preconfigured:{owner}:{ueid}"), &sealed))
            .transpose()
    }

    /// Removes a device's preconfigured credentials; false if it had none.
    pub async fn delete_preconfigured(&self, owner: &str, ueid: &str) -> Result<bool, StoreError> {
        let n =
            sqlx::query("DELETE FROM preconfigured_credentials WHERE owner_id = $1 AND ueid = $2")
                .bind(owner)
                .bind(ueid)
                .execute(self.store.pool())
                .await?
                .rows_affected();
        Ok(n == 1)
    }

    /// An owner's preconfigured credentials, without their secrets.
    pub async fn list_preconfigured(
        &self,
        owner: &str,
    ) -> Result<Vec<PreconfiguredSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT ueid, supi, aaa_username, updated_at FROM preconfigured_credentials
             WHERE owner_id = $1 ORDER BY ueid",
        )
        .bind(owner)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PreconfiguredSummary {
                    ueid: r.try_get("ueid")?,
                    supi: r.try_get("supi")?,
                    aaa_username: r.try_get("aaa_username")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Onboardings (newest first), of one owner and/or one UEID.
    pub async fn list(
        &self,
        owner: &str,
        ueid: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OnboardingSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, owner_id, ueid, onboarding_supi, state, snpn_supi, aaa_username, error, updated_at
             FROM onboardings WHERE owner_id = $1 AND ($2 IS NULL OR ueid = $2)
             ORDER BY created_at DESC LIMIT $3",
        )
        .bind(owner)
        .bind(ueid)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OnboardingSummary {
                    id: r.try_get("id")?,
                    owner_id: r.try_get("owner_id")?,
                    ueid: r.try_get("ueid")?,
                    onboarding_supi: r.try_get("onboarding_supi")?,
                    state: r.try_get("state")?,
                    snpn_supi: r.try_get("snpn_supi")?,
                    aaa_username: r.try_get("aaa_username")?,
                    error: r.try_get("error")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }
}
