//! The job queue's claim on both backends: the embedded SQLite file always, and Postgres when
//! the suite runs under `scripts/pg-throwaway.sh` (`ORCHESTRION_TEST_DATABASE_URL`). Concurrent
//! claimers never take the same job; on Postgres a claimer passes a row another transaction
//! holds (`FOR UPDATE SKIP LOCKED`) instead of waiting for it; training jobs prefer GPU workers.

use crate::common;

use std::collections::HashSet;
use std::time::Duration;

use orchestrion_studio::auth::{LOCAL_USER_ID, ensure_local_user};
use orchestrion_studio::db::{Backend, Db};
use orchestrion_studio::jobs::queue::{self, Claimant, NewJob};

/// A fresh database of each backend this run can reach; the temp folder keeps SQLite's alive.
async fn databases() -> (tempfile::TempDir, Vec<Db>) {
    let dir = tempfile::tempdir().unwrap();
    let mut dbs = vec![
        Db::open_sqlite(&dir.path().join("queue.sqlite"))
            .await
            .unwrap(),
    ];
    match common::database::postgres_admin_url() {
        Some(admin) => {
            let url = common::database::fresh_postgres_database(&admin).await;
            dbs.push(Db::open(&url).await.unwrap());
        }
        None => eprintln!(
            "Postgres part skipped: ORCHESTRION_TEST_DATABASE_URL is not set (run under \
             scripts/pg-throwaway.sh)"
        ),
    }
    for db in &dbs {
        ensure_local_user(db).await.unwrap();
    }
    (dir, dbs)
}

async fn enqueue(db: &Db, queue_name: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut tx = db.begin().await.unwrap();
        let job = queue::enqueue(
            &mut tx,
            NewJob {
                queue: queue_name,
                payload: serde_json::json!({ "n": i }),
                owner_id: LOCAL_USER_ID,
                resource_type: "composition",
                resource_id: &format!("c{i}"),
                max_attempts: 3,
            },
            u32::MAX,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        ids.push(job.id);
    }
    ids
}

fn claimant(worker: &str, gpu: bool) -> Claimant<'_> {
    Claimant {
        worker,
        lease: Duration::from_secs(120),
        allow_train: true,
        gpu,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_never_take_the_same_job() {
    let (_dir, dbs) = databases().await;
    for db in dbs {
        let jobs: HashSet<String> = enqueue(&db, queue::COMPOSE, 60).await.into_iter().collect();
        let claimers: Vec<_> = (0..6)
            .map(|w| {
                let db = db.clone();
                tokio::spawn(async move {
                    let worker = format!("claimer-{w}");
                    let mut taken = Vec::new();
                    while let Some(c) = queue::claim_as(&db, claimant(&worker, false))
                        .await
                        .unwrap()
                    {
                        assert_eq!(c.worker, worker);
                        assert_eq!(c.job.lease_owner.as_deref(), Some(worker.as_str()));
                        taken.push(c.job.id);
                    }
                    taken
                })
            })
            .collect();
        let mut all = Vec::new();
        let mut busy_claimers = 0;
        for c in claimers {
            let taken = c.await.unwrap();
            busy_claimers += usize::from(!taken.is_empty());
            all.extend(taken);
        }
        let distinct: HashSet<String> = all.iter().cloned().collect();
        assert_eq!(
            all.len(),
            distinct.len(),
            "{:?}: a job was claimed twice",
            db.backend()
        );
        assert_eq!(distinct, jobs, "{:?}: every job claimed once", db.backend());
        // How many claimers got work depends on scheduling (on a loaded machine the first may
        // drain the queue alone); it is reported, not asserted.
        eprintln!(
            "{:?}: {busy_claimers} of 6 claimers took jobs",
            db.backend()
        );
        let (running,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE status = 'running' AND attempts = 1")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(running, 60);
        db.close().await;
    }
}

#[tokio::test]
async fn a_postgres_claim_passes_a_row_another_transaction_holds() {
    let (_dir, dbs) = databases().await;
    let Some(db) = dbs.into_iter().find(|d| d.backend() == Backend::Postgres) else {
        eprintln!("skipping: needs Postgres");
        return;
    };
    let ids = enqueue(&db, queue::COMPOSE, 2).await;
    // Another session locks the job a claim would take first, and keeps the lock.
    let mut holder = db.begin().await.unwrap();
    let (locked,): (String,) = sqlx::query_as(
        "SELECT id FROM jobs ORDER BY priority DESC, run_at, created_at LIMIT 1 FOR UPDATE",
    )
    .fetch_one(&mut *holder)
    .await
    .unwrap();
    assert_eq!(locked, ids[0]);
    // Without SKIP LOCKED the claim would wait for `holder`; with it, it takes the other job.
    let claimed = tokio::time::timeout(
        Duration::from_secs(5),
        queue::claim_as(&db, claimant("w", false)),
    )
    .await
    .expect("the claim waited on a locked row")
    .unwrap()
    .expect("a job");
    assert_eq!(claimed.job.id, ids[1]);
    let none = tokio::time::timeout(
        Duration::from_secs(5),
        queue::claim_as(&db, claimant("w2", false)),
    )
    .await
    .expect("the claim waited on a locked row")
    .unwrap();
    assert!(none.is_none(), "the locked job must not be handed out");
    holder.rollback().await.unwrap();
    let after = queue::claim_as(&db, claimant("w3", false))
        .await
        .unwrap()
        .expect("the released job");
    assert_eq!(after.job.id, ids[0]);
    db.close().await;
}

#[tokio::test]
async fn training_jobs_wait_for_a_live_gpu_worker_for_a_while() {
    let (_dir, dbs) = databases().await;
    for db in dbs {
        let backend = db.backend();
        // No GPU worker alive: anyone takes a training job at once.
        let first = enqueue(&db, queue::TRAIN, 1).await;
        let c = queue::claim_as(&db, claimant("cpu-1", false))
            .await
            .unwrap()
            .expect("no gpu worker alive, so the cpu worker trains");
        assert_eq!(c.job.id, first[0], "{backend:?}");

        // A GPU worker is alive: a CPU worker leaves a fresh training job alone but still takes
        // compose jobs; the GPU worker takes the training job.
        queue::announce_worker(&db, "gpu-box-1", "gpu-box", &["gpu".to_string()])
            .await
            .unwrap();
        assert_eq!(queue::live_workers(&db).await.unwrap(), (1, 1));
        let train = enqueue(&db, queue::TRAIN, 1).await;
        let compose = enqueue(&db, queue::COMPOSE, 1).await;
        let c = queue::claim_as(&db, claimant("cpu-1", false))
            .await
            .unwrap()
            .expect("the compose job");
        assert_eq!(c.job.id, compose[0], "{backend:?}");
        assert!(
            queue::claim_as(&db, claimant("cpu-1", false))
                .await
                .unwrap()
                .is_none(),
            "{backend:?}: a cpu worker took a training job a gpu worker could run"
        );
        let c = queue::claim_as(&db, claimant("gpu-box-1-w0", true))
            .await
            .unwrap()
            .expect("the gpu worker trains");
        assert_eq!(c.job.id, train[0], "{backend:?}");

        // A training job that waited past the preference goes to whoever asks.
        let waited = enqueue(&db, queue::TRAIN, 1).await;
        let long_ago =
            orchestrion_studio::db::now_ms() - queue::GPU_PREFERENCE.as_millis() as i64 - 1000;
        sqlx::query("UPDATE jobs SET run_at = $1 WHERE id = $2")
            .bind(long_ago)
            .bind(&waited[0])
            .execute(db.pool())
            .await
            .unwrap();
        let c = queue::claim_as(&db, claimant("cpu-2", false))
            .await
            .unwrap()
            .expect("the job waited long enough");
        assert_eq!(c.job.id, waited[0], "{backend:?}");

        // Once the GPU worker is gone, training jobs go to CPU workers at once again.
        let fresh = enqueue(&db, queue::TRAIN, 1).await;
        queue::retire_worker(&db, "gpu-box-1").await.unwrap();
        assert_eq!(queue::live_workers(&db).await.unwrap(), (0, 0));
        let c = queue::claim_as(&db, claimant("cpu-2", false))
            .await
            .unwrap()
            .expect("no gpu worker any more");
        assert_eq!(c.job.id, fresh[0], "{backend:?}");
        db.close().await;
    }
}
