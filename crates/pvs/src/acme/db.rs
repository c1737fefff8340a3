//! The ACME state in the PVS store: accounts (bound to the onboarding SUPI of the channel
//! that created them), orders, authorizations, challenges, certificates issued over ACME.
//! Status changes are conditional updates (`WHERE status = $from`), so concurrent requests
//! cannot both move a resource.

use snpn_acme::types::{Identifier, Status};
use snpn_store::sqlx::{self, Row};
use snpn_store::{Migration, Store, StoreError};

/// Schema of the ACME state (versions 100–199 of the PVS store).
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 100,
    description: "ACME accounts, orders, authorizations, challenges, certificates",
    sql: "CREATE TABLE acme_accounts (
            id TEXT PRIMARY KEY,
            thumbprint TEXT NOT NULL UNIQUE,
            jwk TEXT NOT NULL,
            supi TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            a_kid TEXT NOT NULL,
            status TEXT NOT NULL,
            contact TEXT NOT NULL,
            eab TEXT,
            created_at BIGINT NOT NULL
          );
          CREATE INDEX acme_accounts_supi ON acme_accounts (supi);
          CREATE TABLE acme_orders (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            status TEXT NOT NULL,
            identifiers TEXT NOT NULL,
            expires BIGINT NOT NULL,
            error TEXT,
            cert_id TEXT,
            created_at BIGINT NOT NULL
          );
          CREATE INDEX acme_orders_account ON acme_orders (account_id);
          CREATE TABLE acme_authzs (
            id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            position BIGINT NOT NULL,
            id_type TEXT NOT NULL,
            id_value TEXT NOT NULL,
            status TEXT NOT NULL,
            expires BIGINT NOT NULL
          );
          CREATE INDEX acme_authzs_order ON acme_authzs (order_id);
          CREATE TABLE acme_challenges (
            id TEXT PRIMARY KEY,
            authz_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            token TEXT NOT NULL,
            status TEXT NOT NULL,
            validated BIGINT,
            error TEXT
          );
          CREATE INDEX acme_challenges_authz ON acme_challenges (authz_id);
          CREATE TABLE acme_certs (
            id TEXT PRIMARY KEY,
            account_id TEXT NOT NULL,
            order_id TEXT NOT NULL,
            owner_id TEXT NOT NULL,
            serial TEXT NOT NULL,
            chain_pem TEXT NOT NULL,
            created_at BIGINT NOT NULL
          );
          CREATE INDEX acme_certs_serial ON acme_certs (serial)",
}];

/// An account.
#[derive(Clone, Debug)]
pub struct AccountRow {
    /// Id (last URL segment).
    pub id: String,
    /// RFC 7638 thumbprint of its key.
    pub thumbprint: String,
    /// Its JWK, JSON.
    pub jwk: String,
    /// Onboarding SUPI of the device whose channel created it.
    pub supi: String,
    /// That device's owner.
    pub owner_id: String,
    /// Status.
    pub status: Status,
    /// Contact URLs.
    pub contact: Vec<String>,
}

/// An order.
#[derive(Clone, Debug)]
pub struct OrderRow {
    /// Id.
    pub id: String,
    /// Account.
    pub account_id: String,
    /// Status.
    pub status: Status,
    /// Identifiers.
    pub identifiers: Vec<Identifier>,
    /// Expiry, Unix seconds.
    pub expires: i64,
    /// Error document, JSON.
    pub error: Option<String>,
    /// Issued certificate.
    pub cert_id: Option<String>,
}

/// An authorization.
#[derive(Clone, Debug)]
pub struct AuthzRow {
    /// Id.
    pub id: String,
    /// Order.
    pub order_id: String,
    /// Account.
    pub account_id: String,
    /// Identifier.
    pub identifier: Identifier,
    /// Status.
    pub status: Status,
    /// Expiry, Unix seconds.
    pub expires: i64,
}

/// A challenge.
#[derive(Clone, Debug)]
pub struct ChallengeRow {
    /// Id.
    pub id: String,
    /// Authorization.
    pub authz_id: String,
    /// Type.
    pub kind: String,
    /// Token.
    pub token: String,
    /// Status.
    pub status: Status,
    /// Validated at, Unix seconds.
    pub validated: Option<i64>,
    /// Error document, JSON.
    pub error: Option<String>,
}

/// A certificate issued over ACME.
#[derive(Clone, Debug)]
pub struct CertRow {
    /// Id.
    pub id: String,
    /// Account.
    pub account_id: String,
    /// Owner whose CA issued it.
    pub owner_id: String,
    /// Serial, hexadecimal as in the certificates table.
    pub serial: String,
    /// Leaf and CA certificates, PEM.
    pub chain_pem: String,
}

/// A challenge to create: `(id, type, token)`.
pub type NewChallenge = (String, String, String);

/// A new order with its authorizations, each with its challenges.
pub struct NewOrderRows<'a> {
    /// The order.
    pub order: &'a OrderRow,
    /// Authorizations with their challenges `(id, kind, token)`.
    pub authzs: Vec<(AuthzRow, Vec<NewChallenge>)>,
}

fn status(s: String) -> Result<Status, StoreError> {
    Status::parse(&s).ok_or_else(|| StoreError::Config(format!("stored ACME status {s:?}")))
}

fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Config(format!("stored ACME JSON: {e}"))
}

/// The ACME repository.
#[derive(Clone)]
pub struct AcmeDb {
    store: Store,
}

fn account_from(r: &sqlx::any::AnyRow) -> Result<AccountRow, StoreError> {
    Ok(AccountRow {
        id: r.try_get("id")?,
        thumbprint: r.try_get("thumbprint")?,
        jwk: r.try_get("jwk")?,
        supi: r.try_get("supi")?,
        owner_id: r.try_get("owner_id")?,
        status: status(r.try_get("status")?)?,
        contact: serde_json::from_str(&r.try_get::<String, _>("contact")?).map_err(json_err)?,
    })
}

fn order_from(r: &sqlx::any::AnyRow) -> Result<OrderRow, StoreError> {
    Ok(OrderRow {
        id: r.try_get("id")?,
        account_id: r.try_get("account_id")?,
        status: status(r.try_get("status")?)?,
        identifiers: serde_json::from_str(&r.try_get::<String, _>("identifiers")?)
            .map_err(json_err)?,
        expires: r.try_get("expires")?,
        error: r.try_get("error")?,
        cert_id: r.try_get("cert_id")?,
    })
}

fn authz_from(r: &sqlx::any::AnyRow) -> Result<AuthzRow, StoreError> {
    Ok(AuthzRow {
        id: r.try_get("id")?,
        order_id: r.try_get("order_id")?,
        account_id: r.try_get("account_id")?,
        identifier: Identifier {
            kind: r.try_get("id_type")?,
            value: r.try_get("id_value")?,
        },
        status: status(r.try_get("status")?)?,
        expires: r.try_get("expires")?,
    })
}

fn challenge_from(r: &sqlx::any::AnyRow) -> Result<ChallengeRow, StoreError> {
    Ok(ChallengeRow {
        id: r.try_get("id")?,
        authz_id: r.try_get("authz_id")?,
        kind: r.try_get("kind")?,
        token: r.try_get("token")?,
        status: status(r.try_get("status")?)?,
        validated: r.try_get("validated")?,
        error: r.try_get("error")?,
    })
}

impl AcmeDb {
    /// Over a migrated store.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Creates an account; false if its key is taken.
    pub async fn insert_account(
        &self,
        a: &AccountRow,
        a_kid: &str,
        eab: &str,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT INTO acme_accounts (id, thumbprint, jwk, supi, owner_id, a_kid, status, contact, eab, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&a.id)
        .bind(&a.thumbprint)
        .bind(&a.jwk)
        .bind(&a.supi)
        .bind(&a.owner_id)
        .bind(a_kid)
        .bind(a.status.as_str())
        .bind(serde_json::to_string(&a.contact).map_err(json_err)?)
        .bind(eab)
        .bind(snpn_store::now_ms())
        .execute(self.store.pool())
        .await;
        match r {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// An account by id.
    pub async fn account(&self, id: &str) -> Result<Option<AccountRow>, StoreError> {
        sqlx::query("SELECT id, thumbprint, jwk, supi, owner_id, status, contact FROM acme_accounts WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }

    /// An account by key thumbprint.
    pub async fn account_by_key(&self, thumbprint: &str) -> Result<Option<AccountRow>, StoreError> {
        sqlx::query("SELECT id, thumbprint, jwk, supi, owner_id, status, contact FROM acme_accounts WHERE thumbprint = $1")
            .bind(thumbprint)
            .fetch_optional(self.store.pool())
            .await?
            .as_ref()
            .map(account_from)
            .transpose()
    }

    /// Replaces an account's key if it still has `old` (false: changed concurrently, or
    /// the new key is taken).
    pub async fn change_key(
        &self,
        id: &str,
        old: &str,
        new: &str,
        jwk: &str,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "UPDATE acme_accounts SET thumbprint = $3, jwk = $4 WHERE id = $1 AND thumbprint = $2",
        )
        .bind(id)
        .bind(old)
        .bind(new)
        .bind(jwk)
        .execute(self.store.pool())
        .await;
        match r {
            Ok(r) => Ok(r.rows_affected() == 1),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Updates an account's status and contacts.
    pub async fn update_account(
        &self,
        id: &str,
        status: Status,
        contact: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE acme_accounts SET status = $2, contact = $3 WHERE id = $1")
            .bind(id)
            .bind(status.as_str())
            .bind(serde_json::to_string(contact).map_err(json_err)?)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Creates an order with its authorizations and challenges, in one transaction.
    pub async fn insert_order(&self, n: &NewOrderRows<'_>) -> Result<(), StoreError> {
        let now = snpn_store::now_ms();
        let o = n.order;
        let mut tx = self.store.pool().begin().await?;
        sqlx::query(
            "INSERT INTO acme_orders (id, account_id, status, identifiers, expires, error, cert_id, created_at)
             VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6)",
        )
        .bind(&o.id)
        .bind(&o.account_id)
        .bind(o.status.as_str())
        .bind(serde_json::to_string(&o.identifiers).map_err(json_err)?)
        .bind(o.expires)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (i, (a, challenges)) in n.authzs.iter().enumerate() {
            sqlx::query(
                "INSERT INTO acme_authzs (id, order_id, account_id, position, id_type, id_value, status, expires)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&a.id)
            .bind(&a.order_id)
            .bind(&a.account_id)
            .bind(i as i64)
            .bind(&a.identifier.kind)
            .bind(&a.identifier.value)
            .bind(a.status.as_str())
            .bind(a.expires)
            .execute(&mut *tx)
            .await?;
            for (id, kind, token) in challenges {
                sqlx::query(
                    "INSERT INTO acme_challenges (id, authz_id, kind, token, status, validated, error)
                     VALUES ($1, $2, $3, $4, 'pending', NULL, NULL)",
                )
                .bind(id)
                .bind(&a.id)
                .bind(kind)
                .bind(token)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// An order.
    pub async fn order(&self, id: &str) -> Result<Option<OrderRow>, StoreError> {
        sqlx::query("SELECT id, account_id, status, identifiers, expires, error, cert_id FROM acme_orders WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?
            .as_ref()
            .map(order_from)
            .transpose()
    }

    /// The order ids of an account, newest first.
    pub async fn orders_of(&self, account_id: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM acme_orders WHERE account_id = $1 ORDER BY created_at DESC LIMIT 1000",
        )
        .bind(account_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// Moves an order from `from` to `to` (with an error document or a certificate).
    pub async fn set_order(
        &self,
        id: &str,
        from: Status,
        to: Status,
        error: Option<&str>,
        cert_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE acme_orders SET status = $3, error = COALESCE($4, error), cert_id = COALESCE($5, cert_id)
             WHERE id = $1 AND status = $2",
        )
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(error)
        .bind(cert_id)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// The authorizations of an order, in order.
    pub async fn authzs_of(&self, order_id: &str) -> Result<Vec<AuthzRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, order_id, account_id, id_type, id_value, status, expires FROM acme_authzs
             WHERE order_id = $1 ORDER BY position",
        )
        .bind(order_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(authz_from).collect()
    }

    /// An authorization.
    pub async fn authz(&self, id: &str) -> Result<Option<AuthzRow>, StoreError> {
        sqlx::query("SELECT id, order_id, account_id, id_type, id_value, status, expires FROM acme_authzs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?
            .as_ref()
            .map(authz_from)
            .transpose()
    }

    /// Moves an authorization from `from` to `to`.
    pub async fn set_authz(&self, id: &str, from: Status, to: Status) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE acme_authzs SET status = $3 WHERE id = $1 AND status = $2")
            .bind(id)
            .bind(from.as_str())
            .bind(to.as_str())
            .execute(self.store.pool())
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// The challenges of an authorization.
    pub async fn challenges_of(&self, authz_id: &str) -> Result<Vec<ChallengeRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, authz_id, kind, token, status, validated, error FROM acme_challenges WHERE authz_id = $1 ORDER BY kind",
        )
        .bind(authz_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(challenge_from).collect()
    }

    /// A challenge.
    pub async fn challenge(&self, id: &str) -> Result<Option<ChallengeRow>, StoreError> {
        sqlx::query("SELECT id, authz_id, kind, token, status, validated, error FROM acme_challenges WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?
            .as_ref()
            .map(challenge_from)
            .transpose()
    }

    /// Moves a challenge from `from` to `to`.
    pub async fn set_challenge(
        &self,
        id: &str,
        from: Status,
        to: Status,
        validated: Option<i64>,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE acme_challenges SET status = $3, validated = $4, error = $5 WHERE id = $1 AND status = $2",
        )
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(validated)
        .bind(error)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records a certificate issued for an order.
    pub async fn insert_cert(&self, c: &CertRow, order_id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO acme_certs (id, account_id, order_id, owner_id, serial, chain_pem, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&c.id)
        .bind(&c.account_id)
        .bind(order_id)
        .bind(&c.owner_id)
        .bind(&c.serial)
        .bind(&c.chain_pem)
        .bind(snpn_store::now_ms())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// A certificate issued over ACME.
    pub async fn cert(&self, id: &str) -> Result<Option<CertRow>, StoreError> {
        let r = sqlx::query(
            "SELECT id, account_id, owner_id, serial, chain_pem FROM acme_certs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?;
        r.map(|r| {
            Ok(CertRow {
                id: r.try_get("id")?,
                account_id: r.try_get("account_id")?,
                owner_id: r.try_get("owner_id")?,
                serial: r.try_get("serial")?,
                chain_pem: r.try_get("chain_pem")?,
            })
        })
        .transpose()
    }

    /// The record of an issued certificate (any protocol) by serial: (owner, SUPI, DER,
    /// revoked).
    pub async fn issued(
        &self,
        serial: &str,
    ) -> Result<Option<(String, String, Vec<u8>, bool)>, StoreError> {
        let r = sqlx::query(
            "SELECT owner_id, supi, der, revoked_at FROM certificates WHERE serial = $1",
        )
        .bind(serial)
        .fetch_optional(self.store.pool())
        .await?;
        r.map(|r| {
            Ok((
                r.try_get("owner_id")?,
                r.try_get("supi")?,
                r.try_get("der")?,
                r.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
            ))
        })
        .transpose()
    }
}
