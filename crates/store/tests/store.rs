//! The storage interface's behaviour, on SQLite and on PostgreSQL.

use std::sync::Arc;

use snpn_store::testing::{backends, TestBackend};
use snpn_store::{Backend, Migration, Store};

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "counters and secrets",
        sql: "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
              CREATE TABLE secrets (id TEXT PRIMARY KEY, sealed {bytes} NOT NULL)",
    },
    Migration {
        version: 2,
        description: "an index",
        sql: "CREATE INDEX counters_value ON counters (value)",
    },
];

async fn store(b: &TestBackend) -> Store {
    let s = b.connect().await;
    s.migrate(MIGRATIONS).await.unwrap();
    s
}

#[tokio::test]
async fn migrations_are_applied_once() {
    for b in backends() {
        let s = store(&b).await;
        // Applying again is a no-op, from this instance and from a second one.
        s.migrate(MIGRATIONS).await.unwrap();
        b.connect().await.migrate(MIGRATIONS).await.unwrap();
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM snpn_migrations")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(n, 2, "{:?}", b.backend);
    }
}

#[tokio::test]
async fn sealed_secrets_round_trip_through_the_database() {
    for b in backends() {
        let s = store(&b).await;
        let sealed = s.sealer().seal("secrets/k1", &[0xab; 16]);
        sqlx::query("INSERT INTO secrets (id, sealed) VALUES ($1, $2)")
            .bind("k1")
            .bind(&sealed)
            .execute(s.pool())
            .await
            .unwrap();
        let (raw,): (Vec<u8>,) = sqlx::query_as("SELECT sealed FROM secrets WHERE id = $1")
            .bind("k1")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert!(!raw.windows(16).any(|w| w == [0xab; 16]), "stored in clear");
        let opened = s.sealer().open_array::<16>("secrets/k1", &raw).unwrap();
        assert_eq!(*opened, [0xab; 16]);
        assert!(s.sealer().open("secrets/k2", &raw).is_err());
    }
}

#[tokio::test]
async fn unique_violations_are_recognised() {
    for b in backends() {
        let s = store(&b).await;
        let insert = || {
            sqlx::query("INSERT INTO counters (name, value) VALUES ($1, $2)")
                .bind("c")
                .bind(0i64)
                .execute(s.pool())
        };
        insert().await.unwrap();
        let err: snpn_store::StoreError = insert().await.unwrap_err().into();
        assert!(err.is_unique_violation(), "{:?}: {err}", b.backend);
    }
}

/// Compare-and-swap increments from many tasks: no update is lost and no value is handed
/// out twice. The UDM's SQN allocation relies on this.
#[tokio::test]
async fn concurrent_compare_and_swap_loses_nothing() {
    for b in backends() {
        let s = Arc::new(store(&b).await);
        sqlx::query("INSERT INTO counters (name, value) VALUES ('sqn', 0)")
            .execute(s.pool())
            .await
            .unwrap();
        let tasks = 16;
        let per_task = 25;
        let mut handles = Vec::new();
        for _ in 0..tasks {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..per_task {
                    loop {
                        let (cur,): (i64,) =
                            sqlx::query_as("SELECT value FROM counters WHERE name = 'sqn'")
                                .fetch_one(s.pool())
                                .await
                                .unwrap();
                        let next = cur + 1;
                        let done = sqlx::query(
                            "UPDATE counters SET value = $1 WHERE name = 'sqn' AND value = $2",
                        )
                        .bind(next)
                        .bind(cur)
                        .execute(s.pool())
                        .await
                        .unwrap()
                        .rows_affected();
                        if done == 1 {
                            got.push(next);
                            break;
                        }
                    }
                }
                got
            }));
        }
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.await.unwrap());
        }
        all.sort();
        all.dedup();
        assert_eq!(all.len(), tasks * per_task, "{:?}", b.backend);
        let (v,): (i64,) = sqlx::query_as("SELECT value FROM counters WHERE name = 'sqn'")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(v as usize, tasks * per_task);
    }
}

#[tokio::test]
async fn rolled_back_transactions_change_nothing() {
    for b in backends() {
        let s = store(&b).await;
        let mut tx = s.pool().begin().await.unwrap();
        sqlx::query("INSERT INTO counters (name, value) VALUES ('x', 1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        let n: Option<(i64,)> = sqlx::query_as("SELECT value FROM counters WHERE name = 'x'")
            .fetch_optional(s.pool())
            .await
            .unwrap();
        assert!(n.is_none());
    }
}

#[tokio::test]
async fn postgres_schemas_isolate_functions() {
    let Some(url) = snpn_store::testing::postgres_url() else {
        return;
    };
    let a = TestBackend {
        backend: Backend::Postgres,
        url: url.clone(),
        schema: format!("iso_a_{}", std::process::id()),
    };
    let b2 = TestBackend {
        backend: Backend::Postgres,
        url,
        schema: format!("iso_b_{}", std::process::id()),
    };
    let (sa, sb) = (store(&a).await, store(&b2).await);
    sqlx::query("INSERT INTO counters (name, value) VALUES ('only-a', 1)")
        .execute(sa.pool())
        .await
        .unwrap();
    let n: Option<(i64,)> = sqlx::query_as("SELECT value FROM counters WHERE name = 'only-a'")
        .fetch_optional(sb.pool())
        .await
        .unwrap();
    assert!(n.is_none());
}

#[tokio::test]
async fn bad_urls_are_configuration_errors() {
    let sealer = snpn_store::Sealer::new(&snpn_store::Kek::generate());
    let e = Store::connect("mysql://x", "s", sealer.clone())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("unsupported store URL"));
    let e = Store::connect("sqlite://x.db", "Bad-Schema", sealer)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("invalid schema"));
}
