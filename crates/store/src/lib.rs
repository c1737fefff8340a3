//! # snpn-store
//!
//! The one storage interface of snpn's network functions: an embedded SQLite database by
//! default, PostgreSQL when several stateless instances of a function share one database.
//! Both run the same SQL through sqlx's `Any` driver (placeholders `$1, $2, …`; integers as
//! `BIGINT`; octets as `{bytes}`, which becomes `BLOB` or `BYTEA`).
//!
//! Each network function owns its store: its own SQLite file, or its own PostgreSQL schema
//! (`search_path`), so that no function reaches into another's tables. Secrets are sealed
//! with AES-256-GCM under a key-encryption key before they are written ([`seal`]).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod seal;
pub mod testing;

use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use seal::{Kek, Sealer};
pub use sqlx;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed an operation.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A sealed secret did not open (altered, other key, or bound to another row).
    #[error("a sealed secret failed to open")]
    Sealing,
    /// The store configuration is unusable.
    #[error("store configuration: {0}")]
    Config(String),
}

impl StoreError {
    /// Whether this is a violation of a unique or primary-key constraint.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// Which database engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// One schema migration: a version number and SQL statements separated by `;`.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// Strictly increasing version.
    pub version: i64,
    /// What it does.
    pub description: &'static str,
    /// Portable SQL; `{bytes}` becomes the engine's octet-string type.
    pub sql: &'static str,
}

/// A network function's store: a connection pool, its engine, and its sealer.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    sealer: Arc<Sealer>,
}

static DRIVERS: Once = Once::new();

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`). For PostgreSQL, `schema` names
    /// the schema this function owns; it is created if missing and set as `search_path` on
    /// every connection. SQLite files and their directories are created if missing.
    pub async fn connect(url: &str, schema: &str, sealer: Sealer) -> Result<Self, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config(format!(
                "unsupported store URL scheme in {:?}; use sqlite:// or postgres://",
                redact_url(url)
            )));
        };
        if !schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            || schema.is_empty()
        {
            return Err(StoreError::Config(format!(
                "invalid schema name {schema:?}"
            )));
        }
        let pool = match backend {
            Backend::Sqlite => {
                let url = sqlite_url(url)?;
                let opts = AnyConnectOptions::from_str(&url)?;
                AnyPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
            Backend::Postgres => {
                let opts = AnyConnectOptions::from_str(url)?;
                // Create the schema with a plain connection first.
                {
                    let admin = AnyPoolOptions::new()
                        .max_connections(1)
                        .connect_with(opts.clone())
                        .await?;
                    admin
                        .execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str())
                        .await?;
                    admin.close().await;
                }
                let set_path = format!("SET search_path TO \"{schema}\"");
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(move |conn, _| {
                        let set_path = set_path.clone();
                        Box::pin(async move {
                            conn.execute(set_path.as_str()).await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
        };
        Ok(Self {
            pool,
            backend,
            sealer: Arc::new(sealer),
        })
    }

    /// Applies the migrations not yet applied, in order, each in a transaction.
    pub async fn migrate(&self, migrations: &[Migration]) -> Result<(), StoreError> {
        self.pool
            .execute(
                "CREATE TABLE IF NOT EXISTS snpn_migrations (\
                 version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
            )
            .await?;
        for m in migrations {
            let mut tx = self.pool.begin().await?;
            let done: Option<(i64,)> =
                sqlx::query_as("SELECT version FROM snpn_migrations WHERE version = $1")
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                continue;
            }
            let sql = m.sql.replace("{bytes}", self.bytes_type());
            for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                tx.execute(stmt).await?;
            }
            let inserted = sqlx::query(
                "INSERT INTO snpn_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.description)
            .bind(now_ms())
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => tx.commit().await?,
                // Another instance applied it concurrently.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => continue,
                Err(e) => return Err(e.into()),
            }
            tracing::info!(
                version = m.version,
                description = m.description,
                "migration applied"
            );
        }
        Ok(())
    }

    /// The connection pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The sealer for secrets at rest.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The octet-string column type of this engine.
    pub fn bytes_type(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "BLOB",
            Backend::Postgres => "BYTEA",
        }
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Turns `sqlite://relative/path.db` into a URL that creates the file (and its directory).
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:" && !path.is_empty() {
        if let Some(dir) = Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Config(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
    }
    let mut query: Vec<&str> = query.split('&').filter(|q| !q.is_empty()).collect();
    if !query.iter().any(|q| q.starts_with("mode=")) {
        query.push("mode=rwc");
    }
    Ok(format!("sqlite://{path}?{}", query.join("&")))
}

/// A URL with its password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            redact_url("postgres://snpn:secret@127.0.0.1/db"),
            "postgres://snpn:***@127.0.0.1/db"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        let dir = std::env::temp_dir().join(format!("snpn-store-url-{}", std::process::id()));
        let url = format!("sqlite://{}/a/b.db", dir.display());
        assert!(sqlite_url(&url).unwrap().ends_with("b.db?mode=rwc"));
        assert!(dir.join("a").is_dir());
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// How a function finds its store and its key-encryption key.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite://path` or `postgres://user@host/db`.
    pub url: String,
    /// PostgreSQL schema this function owns (ignored for SQLite).
    #[serde(default)]
    pub schema: Option<String>,
    /// File holding the KEK as 64 hex digits (mode 0600). If absent, the environment
    /// variable `SNPN_KEK` is used.
    #[serde(default)]
    pub kek_file: Option<std::path::PathBuf>,
}

impl StoreConfig {
    /// Loads the KEK: from `kek_file`, else from `SNPN_KEK`.
    pub fn kek(&self) -> Result<Kek, StoreError> {
        if let Some(path) = &self.kek_file {
            let text =
                zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                    StoreError::Config(format!("KEK file {}: {e}", path.display()))
                })?);
            return Kek::from_hex(&text);
        }
        match std::env::var("SNPN_KEK") {
            Ok(v) => Kek::from_hex(&zeroize::Zeroizing::new(v)),
            Err(_) => Err(StoreError::Config(
                "no key-encryption key: set store.kek_file or SNPN_KEK".into(),
            )),
        }
    }

    /// Connects with this configuration; `default_schema` names the function.
    pub async fn open(&self, default_schema: &str) -> Result<Store, StoreError> {
        let schema = self.schema.as_deref().unwrap_or(default_schema);
        Store::connect(&self.url, schema, Sealer::new(&self.kek()?)).await
    }
}
