//! Test support: the store back ends every storage test runs on.
//!
//! SQLite always (a fresh file in the temporary directory). PostgreSQL when
//! `SNPN_TEST_POSTGRES_URL` is set (each test gets its own schema); if
//! `SNPN_REQUIRE_POSTGRES=1` is set and the URL is not, the test fails instead of quietly
//! running on SQLite alone. `tools/test` (the README's test command) starts a PostgreSQL
//! server and sets both.

use std::sync::atomic::{AtomicU64, Ordering};

use rand_core::{OsRng, RngCore};

use crate::{Backend, Kek, Sealer, Store};

/// Where a test store lives.
#[derive(Clone, Debug)]
pub struct TestBackend {
    /// Engine.
    pub backend: Backend,
    /// URL to connect to.
    pub url: String,
    /// Schema to use (PostgreSQL) — unique per call.
    pub schema: String,
}

impl TestBackend {
    /// Connects a store with a fresh random KEK.
    pub async fn connect(&self) -> Store {
        Store::connect(&self.url, &self.schema, Sealer::new(&Kek::generate()))
            .await
            .unwrap_or_else(|e| panic!("connect {:?}: {e}", self.backend))
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{:08x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        OsRng.next_u32()
    )
}

/// The PostgreSQL URL for tests, if configured; panics when PostgreSQL is required but not
/// configured.
pub fn postgres_url() -> Option<String> {
    match std::env::var("SNPN_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("SNPN_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("SNPN_REQUIRE_POSTGRES=1 but SNPN_TEST_POSTGRES_URL is not set");
            }
            eprintln!(
                "note: SNPN_TEST_POSTGRES_URL not set; PostgreSQL variant not run (use tools/test)"
            );
            None
        }
    }
}

/// A fresh SQLite test back end.
pub fn sqlite() -> TestBackend {
    let name = unique("snpn_test");
    let path = std::env::temp_dir().join(format!("{name}.db"));
    TestBackend {
        backend: Backend::Sqlite,
        url: format!("sqlite://{}", path.display()),
        schema: "main".into(),
    }
}

/// Every back end a storage test must pass on: SQLite, and PostgreSQL when configured.
pub fn backends() -> Vec<TestBackend> {
    let mut v = vec![sqlite()];
    if let Some(url) = postgres_url() {
        v.push(TestBackend {
            backend: Backend::Postgres,
            url,
            schema: unique("t"),
        });
    }
    v
}
