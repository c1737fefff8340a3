//! Authentication contexts: created with a vector, single-use, expiring; XRES(*), K_AUSF
//! and K_aut sealed at rest.

use snpn_crypto::secret::{KAut, Kausf};
use snpn_models::ueau::AuthType;
use snpn_store::sqlx::{self, Row};
use snpn_store::{now_ms, Migration, Store, StoreError};

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    description: "authentication contexts",
    sql: "CREATE TABLE auth_contexts (
            id TEXT PRIMARY KEY,
            supi TEXT NOT NULL,
            snn TEXT NOT NULL,
            auth_type TEXT NOT NULL,
            state TEXT NOT NULL,
            rand TEXT NOT NULL,
            secrets {bytes} NOT NULL,
            eap_id BIGINT NOT NULL,
            akma_ind BIGINT NOT NULL,
            routing_id TEXT,
            hnid TEXT NOT NULL,
            route TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
          );
          CREATE INDEX auth_contexts_expiry ON auth_contexts (expires_at)",
}];

/// An authentication context (its non-secret part).
#[derive(Clone, Debug)]
pub struct Context {
    /// authCtxId.
    pub id: String,
    /// SUPI.
    pub supi: String,
    /// Serving network name.
    pub snn: String,
    /// Method.
    pub auth_type: AuthType,
    /// RAND of the current challenge.
    pub rand: [u8; 16],
    /// EAP identifier of the current request.
    pub eap_id: u8,
    /// AKMA subscription.
    pub akma_ind: bool,
    /// Routing indicator.
    pub routing_id: Option<String>,
    /// Home network identifier (A-KID realm).
    pub hnid: String,
    /// Route name (which UDM).
    pub route: String,
}

/// The secret part of a context.
pub enum ContextSecrets {
    /// 5G AKA: XRES* and K_AUSF.
    FiveG {
        /// XRES*.
        xres_star: [u8; 16],
        /// K_AUSF.
        kausf: Kausf,
    },
    /// EAP-AKA': XRES, K_aut and K_AUSF (from EMSK).
    Eap {
        /// XRES.
        xres: [u8; 8],
        /// K_aut.
        k_aut: KAut,
        /// K_AUSF.
        kausf: Kausf,
    },
}

impl ContextSecrets {
    fn to_bytes(&self) -> zeroize::Zeroizing<Vec<u8>> {
        let mut v = zeroize::Zeroizing::new(Vec::with_capacity(73));
        match self {
            ContextSecrets::FiveG { xres_star, kausf } => {
                v.push(1);
                v.extend_from_slice(xres_star);
                v.extend_from_slice(kausf.expose());
            }
            ContextSecrets::Eap { xres, k_aut, kausf } => {
                v.push(2);
                v.extend_from_slice(xres);
                v.extend_from_slice(k_aut.expose());
                v.extend_from_slice(kausf.expose());
            }
        }
        v
    }

    fn from_bytes(b: &[u8]) -> Result<Self, StoreError> {
        match (b.first(), b.len()) {
            (Some(1), 49) => Ok(ContextSecrets::FiveG {
                xres_star: b[1..17].try_into().expect("16"),
                kausf: Kausf::from_slice(&b[17..49]).expect("32"),
            }),
            (Some(2), 73) => Ok(ContextSecrets::Eap {
                xres: b[1..9].try_into().expect("8"),
                k_aut: KAut::from_slice(&b[9..41]).expect("32"),
                kausf: Kausf::from_slice(&b[41..73]).expect("32"),
            }),
            _ => Err(StoreError::Sealing),
        }
    }
}

fn type_str(t: AuthType) -> &'static str {
    match t {
        AuthType::FiveGAka => "5G_AKA",
        AuthType::EapAkaPrime => "EAP_AKA_PRIME",
    }
}

fn aad(id: &str) -> String {
    format!("auth_contexts/{id}")
}

/// The context repository.
#[derive(Clone, Debug)]
pub struct Contexts {
    store: Store,
}

impl Contexts {
    /// Migrates `store` and wraps it.
    pub async fn new(store: Store) -> Result<Self, StoreError> {
        store.migrate(MIGRATIONS).await?;
        Ok(Self { store })
    }

    /// Stores a new pending context.
    pub async fn insert(
        &self,
        c: &Context,
        secrets: &ContextSecrets,
        lifetime_ms: i64,
    ) -> Result<(), StoreError> {
        let sealed = self.store.sealer().seal(&aad(&c.id), &secrets.to_bytes());
        let now = now_ms();
        sqlx::query(
            "INSERT INTO auth_contexts (id, supi, snn, auth_type, state, rand, secrets, eap_id, akma_ind, routing_id, hnid, route, created_at, expires_at)
             VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&c.id)
        .bind(&c.supi)
        .bind(&c.snn)
        .bind(type_str(c.auth_type))
        .bind(hex::encode(c.rand))
        .bind(sealed)
        .bind(i64::from(c.eap_id))
        .bind(i64::from(c.akma_ind))
        .bind(&c.routing_id)
        .bind(&c.hnid)
        .bind(&c.route)
        .bind(now)
        .bind(now + lifetime_ms)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    fn decode(
        &self,
        id: &str,
        r: &snpn_store::sqlx::any::AnyRow,
    ) -> Result<(Context, ContextSecrets), StoreError> {
        let mut rand = [0u8; 16];
        hex::decode_to_slice(r.try_get::<String, _>("rand")?, &mut rand)
            .map_err(|_| StoreError::Config("bad RAND in store".into()))?;
        let auth_type = match r.try_get::<String, _>("auth_type")?.as_str() {
            "5G_AKA" => AuthType::FiveGAka,
            _ => AuthType::EapAkaPrime,
        };
        let secrets = self
            .store
            .sealer()
            .open(&aad(id), &r.try_get::<Vec<u8>, _>("secrets")?)?;
        Ok((
            Context {
                id: id.to_owned(),
                supi: r.try_get("supi")?,
                snn: r.try_get("snn")?,
                auth_type,
                rand,
                eap_id: r.try_get::<i64, _>("eap_id")? as u8,
                akma_ind: r.try_get::<i64, _>("akma_ind")? != 0,
                routing_id: r.try_get("routing_id")?,
                hnid: r.try_get("hnid")?,
                route: r.try_get("route")?,
            },
            ContextSecrets::from_bytes(&secrets)?,
        ))
    }

    /// A pending, unexpired context of this method, without consuming it.
    pub async fn peek(
        &self,
        id: &str,
        t: AuthType,
    ) -> Result<Option<(Context, ContextSecrets)>, StoreError> {
        let row = sqlx::query(
            "SELECT supi, snn, auth_type, rand, secrets, eap_id, akma_ind, routing_id, hnid, route
             FROM auth_contexts WHERE id = $1 AND state = 'pending' AND auth_type = $2 AND expires_at > $3",
        )
        .bind(id)
        .bind(type_str(t))
        .bind(now_ms())
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|r| self.decode(id, &r)).transpose()
    }

    /// Consumes a pending, unexpired context (single use): only one caller ever gets it.
    pub async fn claim(
        &self,
        id: &str,
        t: AuthType,
    ) -> Result<Option<(Context, ContextSecrets)>, StoreError> {
        let row = sqlx::query(
            "UPDATE auth_contexts SET state = 'claimed'
             WHERE id = $1 AND state = 'pending' AND auth_type = $2 AND expires_at > $3
             RETURNING supi, snn, auth_type, rand, secrets, eap_id, akma_ind, routing_id, hnid, route",
        )
        .bind(id)
        .bind(type_str(t))
        .bind(now_ms())
        .fetch_optional(self.store.pool())
        .await?;
        row.map(|r| self.decode(id, &r)).transpose()
    }

    /// Records the outcome of a claimed context.
    pub async fn finish(&self, id: &str, success: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE auth_contexts SET state = $1 WHERE id = $2 AND state = 'claimed'")
            .bind(if success { "success" } else { "failure" })
            .bind(id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Replaces the challenge of a pending EAP context after resynchronisation; false if the
    /// context moved on meanwhile.
    pub async fn renew(
        &self,
        id: &str,
        old_eap_id: u8,
        new_eap_id: u8,
        rand: &[u8; 16],
        secrets: &ContextSecrets,
        lifetime_ms: i64,
    ) -> Result<bool, StoreError> {
        let sealed = self.store.sealer().seal(&aad(id), &secrets.to_bytes());
        let n = sqlx::query(
            "UPDATE auth_contexts SET rand = $1, secrets = $2, eap_id = $3, expires_at = $4
             WHERE id = $5 AND state = 'pending' AND eap_id = $6",
        )
        .bind(hex::encode(rand))
        .bind(sealed)
        .bind(i64::from(new_eap_id))
        .bind(now_ms() + lifetime_ms)
        .bind(id)
        .bind(i64::from(old_eap_id))
        .execute(self.store.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Deletes a context; false if unknown.
    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("DELETE FROM auth_contexts WHERE id = $1")
            .bind(id)
            .execute(self.store.pool())
            .await?
            .rows_affected()
            > 0)
    }

    /// Removes contexts that expired more than an hour ago (kept a while for audit).
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM auth_contexts WHERE expires_at <= $1")
                .bind(now_ms() - 3_600_000)
                .execute(self.store.pool())
                .await?
                .rows_affected(),
        )
    }
}
