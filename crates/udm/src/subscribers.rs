//! Subscription data (TS 29.505 AuthenticationSubscription) in the function's store: K and
//! OP_c sealed at rest; SQN_HE allocated by compare-and-swap so that no SQN is ever handed
//! out twice, whatever the concurrency or the number of instances.

use snpn_crypto::milenage::Milenage;
use snpn_crypto::secret::{Opc, K};
use snpn_crypto::sqn::{Sqn, SqnConfig, SqnGenerator};
use snpn_models::ueau::AuthType;
use snpn_store::sqlx::{self, Row};
use snpn_store::{now_ms, Migration, Store, StoreError};

/// Schema of the subscriber tables (shared by the UDM and the DCS, each in its own store).
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "subscribers and auth events",
        sql: "CREATE TABLE subscribers (
            supi TEXT PRIMARY KEY,
            auth_method TEXT NOT NULL,
            k {bytes} NOT NULL,
            opc {bytes} NOT NULL,
            amf TEXT NOT NULL,
            algorithm_id TEXT NOT NULL,
            sqn BIGINT NOT NULL,
            ind_bits BIGINT NOT NULL,
            akma_allowed BIGINT NOT NULL,
            routing_id TEXT,
            updated_at BIGINT NOT NULL
          );
          CREATE TABLE auth_events (
            id TEXT PRIMARY KEY,
            supi TEXT NOT NULL,
            nf_instance_id TEXT NOT NULL,
            success BIGINT NOT NULL,
            time_stamp TEXT NOT NULL,
            auth_type TEXT NOT NULL,
            serving_network_name TEXT NOT NULL,
            created_at BIGINT NOT NULL
          );
          CREATE INDEX auth_events_supi ON auth_events (supi)",
    },
    Migration {
        version: 2,
        description: "idempotency key of the provisioning that wrote a subscription",
        sql: "ALTER TABLE subscribers ADD COLUMN idempotency_key TEXT",
    },
];

/// A subscriber as the ARPF needs it.
pub struct Subscriber {
    /// SUPI, as written in TS 29.571.
    pub supi: String,
    /// 5G AKA or EAP-AKA'.
    pub auth_method: AuthType,
    /// MILENAGE bound to K and OP_c.
    pub milenage: Milenage,
    /// AMF.
    pub amf: [u8; 2],
    /// SQN_HE.
    pub sqn: Sqn,
    /// Length of IND.
    pub ind_bits: u32,
    /// AKMA subscription.
    pub akma_allowed: bool,
    /// Routing indicator.
    pub routing_id: Option<String>,
}

/// What is written when a subscription is provisioned.
pub struct NewSubscriber<'a> {
    /// SUPI.
    pub supi: &'a str,
    /// Method.
    pub auth_method: AuthType,
    /// K.
    pub k: &'a K,
    /// OP_c.
    pub opc: &'a Opc,
    /// AMF.
    pub amf: [u8; 2],
    /// Initial SQN_HE.
    pub sqn: Sqn,
    /// IND length.
    pub ind_bits: u32,
    /// AKMA.
    pub akma_allowed: bool,
    /// Routing indicator.
    pub routing_id: Option<&'a str>,
    /// The provisioner's idempotency key (a repeated PUT with it changes nothing).
    pub idempotency_key: Option<&'a str>,
}

/// Summary of a stored subscription, without keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriberInfo {
    /// SUPI.
    pub supi: String,
    /// Method.
    pub auth_method: AuthType,
    /// AMF.
    pub amf: [u8; 2],
    /// SQN_HE.
    pub sqn: Sqn,
    /// IND length.
    pub ind_bits: u32,
    /// AKMA.
    pub akma_allowed: bool,
    /// Routing indicator.
    pub routing_id: Option<String>,
}

fn method_str(m: AuthType) -> &'static str {
    match m {
        AuthType::FiveGAka => "5G_AKA",
        AuthType::EapAkaPrime => "EAP_AKA_PRIME",
    }
}

fn method_from(s: &str) -> Result<AuthType, StoreError> {
    match s {
        "5G_AKA" => Ok(AuthType::FiveGAka),
        "EAP_AKA_PRIME" => Ok(AuthType::EapAkaPrime),
        _ => Err(StoreError::Config(format!(
            "unknown auth method {s:?} in store"
        ))),
    }
}

fn aad(supi: &str, what: &str) -> String {
    format!("subscribers/{supi}/{what}")
}

/// The subscriber repository of one store.
#[derive(Clone, Debug)]
pub struct Subscribers {
    store: Store,
}

/// Whether a provisioning call created or replaced the subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upsert {
    /// Created.
    Created,
    /// Replaced.
    Replaced,
}

impl Subscribers {
    /// Repository over `store` (migrated with [`MIGRATIONS`]).
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates or replaces a subscription (PUT semantics: idempotent).
    pub async fn upsert(&self, s: &NewSubscriber<'_>) -> Result<Upsert, StoreError> {
        let sealer = self.store.sealer();
        let k = sealer.seal(&aad(s.supi, "k"), s.k.expose());
        let opc = sealer.seal(&aad(s.supi, "opc"), s.opc.expose());
        let mut tx = self.store.pool().begin().await?;
        let existed = sqlx::query("DELETE FROM subscribers WHERE supi = $1")
            .bind(s.supi)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        sqlx::query(
            "INSERT INTO subscribers (supi, auth_method, k, opc, amf, algorithm_id, sqn, ind_bits, akma_allowed, routing_id, updated_at, idempotency_key)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(s.supi)
        .bind(method_str(s.auth_method))
        .bind(k)
        .bind(opc)
        .bind(hex::encode(s.amf))
        .bind("milenage")
        .bind(s.sqn.value() as i64)
        .bind(i64::from(s.ind_bits))
        .bind(i64::from(s.akma_allowed))
        .bind(s.routing_id)
        .bind(now_ms())
        .bind(s.idempotency_key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(if existed {
            Upsert::Replaced
        } else {
            Upsert::Created
        })
    }

    /// The idempotency key of the provisioning that wrote `supi`'s subscription, if any
    /// (outer `None`: no subscription).
    pub async fn idempotency_key(&self, supi: &str) -> Result<Option<Option<String>>, StoreError> {
        let row: Option<(Option<String>,)> =
            sqlx::query_as("SELECT idempotency_key FROM subscribers WHERE supi = $1")
                .bind(supi)
                .fetch_optional(self.store.pool())
                .await?;
        Ok(row.map(|r| r.0))
    }

    /// Deletes a subscription; false if there was none.
    pub async fn delete(&self, supi: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM subscribers WHERE supi = $1")
            .bind(supi)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    /// The subscription without its keys.
    pub async fn info(&self, supi: &str) -> Result<Option<SubscriberInfo>, StoreError> {
        let row = sqlx::query(
            "SELECT supi, auth_method, amf, sqn, ind_bits, akma_allowed, routing_id FROM subscribers WHERE supi = $1",
        )
        .bind(supi)
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|r| -> Result<SubscriberInfo, StoreError> {
            Ok(SubscriberInfo {
                supi: r.try_get("supi")?,
                auth_method: method_from(&r.try_get::<String, _>("auth_method")?)?,
                amf: parse_amf(&r.try_get::<String, _>("amf")?)?,
                sqn: Sqn::new(r.try_get::<i64, _>("sqn")? as u64)
                    .map_err(|e| StoreError::Config(e.to_string()))?,
                ind_bits: r.try_get::<i64, _>("ind_bits")? as u32,
                akma_allowed: r.try_get::<i64, _>("akma_allowed")? != 0,
                routing_id: r.try_get("routing_id")?,
            })
        })
        .transpose()
    }

    /// The subscriber with its keys opened.
    pub async fn get(&self, supi: &str) -> Result<Option<Subscriber>, StoreError> {
        let row = sqlx::query(
            "SELECT auth_method, k, opc, amf, sqn, ind_bits, akma_allowed, routing_id FROM subscribers WHERE supi = $1",
        )
        .bind(supi)
        .fetch_optional(self.store.pool())
        .await?;
        let Some(r) = row else { return Ok(None) };
        let sealer = self.store.sealer();
        let k = sealer.open_array::<16>(&aad(supi, "k"), &r.try_get::<Vec<u8>, _>("k")?)?;
        let opc = sealer.open_array::<16>(&aad(supi, "opc"), &r.try_get::<Vec<u8>, _>("opc")?)?;
        Ok(Some(Subscriber {
            supi: supi.to_owned(),
            auth_method: method_from(&r.try_get::<String, _>("auth_method")?)?,
            milenage: Milenage::new(&K::new(*k), &Opc::new(*opc)),
            amf: parse_amf(&r.try_get::<String, _>("amf")?)?,
            sqn: Sqn::new(r.try_get::<i64, _>("sqn")? as u64)
                .map_err(|e| StoreError::Config(e.to_string()))?,
            ind_bits: r.try_get::<i64, _>("ind_bits")? as u32,
            akma_allowed: r.try_get::<i64, _>("akma_allowed")? != 0,
            routing_id: r.try_get("routing_id")?,
        }))
    }

    /// Atomically replaces SQN_HE by `f(SQN_HE)` and returns the new value (TS 33.102 C.3):
    /// a compare-and-swap loop, so concurrent callers each get a distinct SQN. `known` is
    /// the subscriber as just read (its SQN and IND length), which saves the first read.
    pub async fn update_sqn(
        &self,
        supi: &str,
        known: Option<(Sqn, u32)>,
        f: impl Fn(Sqn, SqnGenerator) -> Result<Sqn, snpn_crypto::Error>,
    ) -> Result<Option<Sqn>, StoreError> {
        let mut current = known.map(|(s, b)| (s.value() as i64, i64::from(b)));
        for _ in 0..1000 {
            let (cur, ind_bits) = match current.take() {
                Some(c) => c,
                None => {
                    let row: Option<(i64, i64)> =
                        sqlx::query_as("SELECT sqn, ind_bits FROM subscribers WHERE supi = $1")
                            .bind(supi)
                            .fetch_optional(self.store.pool())
                            .await?;
                    match row {
                        Some(r) => r,
                        None => return Ok(None),
                    }
                }
            };
            let gen = SqnGenerator::new(SqnConfig {
                ind_bits: ind_bits as u32,
                ..SqnConfig::default()
            });
            let cur_sqn = Sqn::new(cur as u64).map_err(|e| StoreError::Config(e.to_string()))?;
            let next = f(cur_sqn, gen).map_err(|e| StoreError::Config(e.to_string()))?;
            let n = sqlx::query(
                "UPDATE subscribers SET sqn = $1, updated_at = $2 WHERE supi = $3 AND sqn = $4",
            )
            .bind(next.value() as i64)
            .bind(now_ms())
            .bind(supi)
            .bind(cur)
            .execute(self.store.pool())
            .await?
            .rows_affected();
            if n == 1 {
                return Ok(Some(next));
            }
        }
        Err(StoreError::Config("SQN update did not converge".into()))
    }

    /// Records an authentication event (TS 29.503 §5.4.2.2, ConfirmAuth).
    pub async fn add_auth_event(
        &self,
        supi: &str,
        ev: &snpn_models::ueau::AuthEvent,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO auth_events (id, supi, nf_instance_id, success, time_stamp, auth_type, serving_network_name, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(supi)
        .bind(&ev.nf_instance_id)
        .bind(i64::from(ev.success))
        .bind(&ev.time_stamp)
        .bind(method_str(ev.auth_type))
        .bind(&ev.serving_network_name)
        .bind(now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(id)
    }

    /// Removes an authentication event; false if unknown.
    pub async fn remove_auth_event(&self, supi: &str, id: &str) -> Result<bool, StoreError> {
        let n = sqlx::query("DELETE FROM auth_events WHERE supi = $1 AND id = $2")
            .bind(supi)
            .bind(id)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        Ok(n > 0)
    }
}

fn parse_amf(s: &str) -> Result<[u8; 2], StoreError> {
    let mut a = [0u8; 2];
    hex::decode_to_slice(s, &mut a).map_err(|_| StoreError::Config("bad AMF in store".into()))?;
    Ok(a)
}
