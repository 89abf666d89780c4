//! Syncs, their sealed checkpoints, what they saw, their runs and leases, and the changes
//! feed. A page commit locks the sync's lease row and checks its tenure, then numbers its
//! changes from the connection's counter row (locked until the commit, so numbers appear in
//! commit order), all in one transaction.

use deadpool_postgres::GenericClient;

use super::{Postgres, count, decode, encode, execute, int, one, rows, uint};
use crate::store::changes::{self, ChangeKind, NewChange, change_id};
use crate::store::syncs::{checkpoint_aad, run_seq};
use crate::store::{
    ChangesPage, EventType, PageCommit, RunRecord, SeenRecord, StoreError, SyncCheckpoint,
    SyncRecord, Tenure,
};

impl Postgres {
    /// This process's name as a lease holder: hosts share the database, so each host is its
    /// own holder (a restarted host waits for its old leases to lapse).
    pub async fn instance_id(&self) -> Result<String, StoreError> {
        Ok(self.instance.clone())
    }

    pub async fn create_sync(&self, sync: &SyncRecord) -> Result<(), StoreError> {
        let inserted = self
            .execute(
                "INSERT INTO syncs (tenant, connection, id, record, next_run_at_ms, paused)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT DO NOTHING",
                &[
                    &sync.tenant,
                    &sync.connection,
                    &sync.id,
                    &encode(sync)?,
                    &int(sync.next_run_at_ms),
                    &sync.paused,
                ],
            )
            .await?;
        if inserted == 0 {
            return Err(StoreError::Conflict);
        }
        Ok(())
    }

    pub async fn sync(
        &self,
        tenant: &str,
        connection: &str,
        id: &str,
    ) -> Result<Option<SyncRecord>, StoreError> {
        self.one(
            "SELECT record FROM syncs WHERE tenant = $1 AND connection = $2 AND id = $3",
            &[&tenant, &connection, &id],
        )
        .await?
        .map(|row| decode(&row, "record"))
        .transpose()
    }

    pub async fn syncs_of(
        &self,
        tenant: &str,
        connection: &str,
    ) -> Result<Vec<SyncRecord>, StoreError> {
        self.rows(
            "SELECT record FROM syncs WHERE tenant = $1 AND connection = $2 ORDER BY id",
            &[&tenant, &connection],
        )
        .await?
        .iter()
        .map(|row| decode(row, "record"))
        .collect()
    }

    pub async fn all_syncs(&self) -> Result<Vec<SyncRecord>, StoreError> {
        self.rows(
            "SELECT record FROM syncs ORDER BY tenant, connection, id",
            &[],
        )
        .await?
        .iter()
        .map(|row| decode(row, "record"))
        .collect()
    }

    pub async fn update_sync(
        &self,
        tenant: &str,
        connection: &str,
        id: &str,
        change: impl Fn(&mut SyncRecord),
    ) -> Result<Option<SyncRecord>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(row) = one(
            &tx,
            "SELECT record FROM syncs WHERE tenant = $1 AND connection = $2 AND id = $3
             FOR UPDATE",
            &[&tenant, &connection, &id],
        )
        .await?
        else {
            return Ok(None);
        };
        let mut record: SyncRecord = decode(&row, "record")?;
        change(&mut record);
        execute(
            &tx,
            "UPDATE syncs SET record = $4, next_run_at_ms = $5, paused = $6
             WHERE tenant = $1 AND connection = $2 AND id = $3",
            &[
                &tenant,
                &connection,
                &id,
                &encode(&record)?,
                &int(record.next_run_at_ms),
                &record.paused,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    pub async fn delete_sync(
        &self,
        tenant: &str,
        connection: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let existed = execute(
            &tx,
            "DELETE FROM syncs WHERE tenant = $1 AND connection = $2 AND id = $3",
            &[&tenant, &connection, &id],
        )
        .await?
            > 0;
        for statement in [
            "DELETE FROM sync_state WHERE tenant = $1 AND connection = $2 AND sync = $3",
            "DELETE FROM sync_seen WHERE tenant = $1 AND connection = $2 AND sync = $3",
            "DELETE FROM sync_runs WHERE tenant = $1 AND connection = $2 AND sync = $3",
            "DELETE FROM leases WHERE tenant = $1 AND connection = $2 AND sync = $3",
        ] {
            execute(&tx, statement, &[&tenant, &connection, &id]).await?;
        }
        tx.commit().await?;
        Ok(existed)
    }

    pub async fn sync_checkpoint(&self, sync: &SyncRecord) -> Result<SyncCheckpoint, StoreError> {
        let aad = checkpoint_aad(&sync.tenant, &sync.connection, &sync.id);
        match self
            .one(
                "SELECT sealed FROM sync_state WHERE tenant = $1 AND connection = $2 AND sync = $3",
                &[&sync.tenant, &sync.connection, &sync.id],
            )
            .await?
        {
            Some(row) => Ok(serde_json::from_slice(&self.open(&aad, row.get(0))?)?),
            None => Ok(SyncCheckpoint::default()),
        }
    }

    pub async fn seen(
        &self,
        sync: &SyncRecord,
        item: &str,
    ) -> Result<Option<SeenRecord>, StoreError> {
        self.one(
            "SELECT record FROM sync_seen
             WHERE tenant = $1 AND connection = $2 AND sync = $3 AND item = $4",
            &[&sync.tenant, &sync.connection, &sync.id, &item],
        )
        .await?
        .map(|row| decode(&row, "record"))
        .transpose()
    }

    pub async fn seen_count(&self, sync: &SyncRecord) -> Result<u64, StoreError> {
        Ok(count(
            self.one(
                "SELECT count(*) FROM sync_seen WHERE tenant = $1 AND connection = $2 AND sync = $3",
                &[&sync.tenant, &sync.connection, &sync.id],
            )
            .await?,
        )? as u64)
    }

    pub async fn unseen_in_pass(
        &self,
        sync: &SyncRecord,
        pass: u64,
    ) -> Result<Vec<(String, SeenRecord)>, StoreError> {
        self.rows(
            "SELECT item, record FROM sync_seen
             WHERE tenant = $1 AND connection = $2 AND sync = $3 AND pass <> $4 ORDER BY item",
            &[&sync.tenant, &sync.connection, &sync.id, &int(pass)],
        )
        .await?
        .iter()
        .map(|row| Ok((row.get(0), decode(row, "record")?)))
        .collect()
    }

    pub async fn next_run_id(&self) -> Result<String, StoreError> {
        Ok(format!("run_{}", self.next_id().await?))
    }

    pub async fn next_pass_id(&self) -> Result<u64, StoreError> {
        self.next_id().await
    }

    pub async fn put_run(&self, sync: &SyncRecord, run: &RunRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        put_run(&client, sync, run).await
    }

    pub async fn trim_runs(&self, sync: &SyncRecord, keep: usize) -> Result<usize, StoreError> {
        Ok(self
            .execute(
                "DELETE FROM sync_runs WHERE tenant = $1 AND connection = $2 AND sync = $3
                 AND seq NOT IN (SELECT seq FROM sync_runs
                     WHERE tenant = $1 AND connection = $2 AND sync = $3
                     ORDER BY seq DESC LIMIT $4)",
                &[&sync.tenant, &sync.connection, &sync.id, &int(keep as u64)],
            )
            .await? as usize)
    }

    pub async fn run(
        &self,
        sync: &SyncRecord,
        run_id: &str,
    ) -> Result<Option<RunRecord>, StoreError> {
        let Some(seq) = run_seq(run_id) else {
            return Ok(None);
        };
        self.one(
            "SELECT record FROM sync_runs
             WHERE tenant = $1 AND connection = $2 AND sync = $3 AND seq = $4",
            &[&sync.tenant, &sync.connection, &sync.id, &int(seq)],
        )
        .await?
        .map(|row| decode(&row, "record"))
        .transpose()
    }

    pub async fn runs(
        &self,
        sync: &SyncRecord,
        before: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, StoreError> {
        let upper = before.and_then(run_seq).map_or(i64::MAX, int);
        self.rows(
            "SELECT record FROM sync_runs
             WHERE tenant = $1 AND connection = $2 AND sync = $3 AND seq < $4
             ORDER BY seq DESC LIMIT $5",
            &[
                &sync.tenant,
                &sync.connection,
                &sync.id,
                &upper,
                &int(limit as u64),
            ],
        )
        .await?
        .iter()
        .map(|row| decode(row, "record"))
        .collect()
    }

    pub async fn commit_page(&self, commit: PageCommit<'_>) -> Result<Vec<String>, StoreError> {
        let sync = commit.sync;
        let aad = checkpoint_aad(&sync.tenant, &sync.connection, &sync.id);
        let checkpoint = self.seal(&aad, &serde_json::to_vec(commit.checkpoint)?)?;
        let event_seq = self.next_id().await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // A sync (or its connection) deleted during the run gets nothing more written.
        if one(
            &tx,
            "SELECT 1 FROM syncs WHERE tenant = $1 AND connection = $2 AND id = $3",
            &[&sync.tenant, &sync.connection, &sync.id],
        )
        .await?
        .is_none()
        {
            return Err(StoreError::NotFound);
        }
        // The fence, under the lease row's lock until the commit.
        check_tenure(&tx, sync, commit.tenure).await?;
        if !commit.seen.is_empty() {
            let items: Vec<&str> = commit.seen.iter().map(|(item, _)| item.as_str()).collect();
            let passes: Vec<i64> = commit.seen.iter().map(|(_, r)| int(r.pass)).collect();
            let records = commit
                .seen
                .iter()
                .map(|(_, record)| encode(record))
                .collect::<Result<Vec<_>, _>>()?;
            execute(
                &tx,
                "INSERT INTO sync_seen (tenant, connection, sync, item, pass, record)
                 SELECT $1, $2, $3, item, pass, record
                 FROM unnest($4::text[], $5::bigint[], $6::bytea[]) AS t(item, pass, record)
                 ON CONFLICT (tenant, connection, sync, item)
                 DO UPDATE SET pass = excluded.pass, record = excluded.record",
                &[
                    &sync.tenant,
                    &sync.connection,
                    &sync.id,
                    &items,
                    &passes,
                    &records,
                ],
            )
            .await?;
        }
        if !commit.forget.is_empty() {
            execute(
                &tx,
                "DELETE FROM sync_seen WHERE tenant = $1 AND connection = $2 AND sync = $3
                 AND item = ANY($4)",
                &[&sync.tenant, &sync.connection, &sync.id, &commit.forget],
            )
            .await?;
        }
        let ids = append(&tx, &sync.tenant, &sync.connection, &commit.changes).await?;
        put_checkpoint(&tx, sync, &checkpoint).await?;
        put_run(&tx, sync, commit.run).await?;
        if !ids.is_empty() {
            let counted =
                |kind: ChangeKind| commit.changes.iter().filter(|c| c.kind == kind).count();
            let data = serde_json::json!({
                "connection_id": sync.connection,
                "sync_id": sync.id,
                "container_id": sync.container,
                "change_ids": ids,
                "counts": {
                    "created": counted(ChangeKind::Created),
                    "updated": counted(ChangeKind::Updated),
                    "deleted": counted(ChangeKind::Deleted),
                },
            });
            self.put_event(
                &tx,
                event_seq,
                &sync.tenant,
                EventType::RecordsChanged,
                data,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn finish_run(
        &self,
        sync: &SyncRecord,
        tenure: &Tenure,
        checkpoint: &SyncCheckpoint,
        run: &RunRecord,
        event: Option<(EventType, serde_json::Value)>,
        update: impl Fn(&mut SyncRecord, &RunRecord),
    ) -> Result<(), StoreError> {
        let aad = checkpoint_aad(&sync.tenant, &sync.connection, &sync.id);
        let sealed = self.seal(&aad, &serde_json::to_vec(checkpoint)?)?;
        let event_seq = self.next_id().await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // A sync deleted during its run stays deleted.
        let Some(row) = one(
            &tx,
            "SELECT record FROM syncs WHERE tenant = $1 AND connection = $2 AND id = $3
             FOR UPDATE",
            &[&sync.tenant, &sync.connection, &sync.id],
        )
        .await?
        else {
            return Ok(());
        };
        check_tenure(&tx, sync, tenure).await?;
        let mut current: SyncRecord = decode(&row, "record")?;
        update(&mut current, run);
        execute(
            &tx,
            "UPDATE syncs SET record = $4, next_run_at_ms = $5, paused = $6
             WHERE tenant = $1 AND connection = $2 AND id = $3",
            &[
                &sync.tenant,
                &sync.connection,
                &sync.id,
                &encode(&current)?,
                &int(current.next_run_at_ms),
                &current.paused,
            ],
        )
        .await?;
        put_checkpoint(&tx, sync, &sealed).await?;
        put_run(&tx, sync, run).await?;
        if let Some((kind, data)) = event {
            self.put_event(&tx, event_seq, &sync.tenant, kind, data)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn claim_due_syncs(
        &self,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
        limit: usize,
        running: &[String],
    ) -> Result<Vec<(SyncRecord, Tenure)>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Rows another host is dequeuing are skipped, not waited for; the turn order is the
        // embedded backend's (`turn_order`).
        let due = rows(
            &tx,
            "WITH due AS (
                 SELECT s.tenant, s.connection, s.id, s.next_run_at_ms,
                        row_number() OVER (PARTITION BY s.tenant
                                           ORDER BY s.next_run_at_ms, s.connection, s.id) AS turn
                 FROM syncs s
                 LEFT JOIN leases l
                     ON l.tenant = s.tenant AND l.connection = s.connection AND l.sync = s.id
                 WHERE NOT s.paused AND s.next_run_at_ms <= $1
                   AND (coalesce(l.until_ms, 0) <= $1 OR l.holder = $4)
                   AND NOT (s.tenant || '/' || s.connection || '/' || s.id = ANY($2))
             )
             SELECT s.record FROM syncs s
             JOIN due ON due.tenant = s.tenant AND due.connection = s.connection AND due.id = s.id
             ORDER BY due.turn, due.next_run_at_ms, s.tenant, s.connection, s.id
             LIMIT $3
             FOR UPDATE OF s SKIP LOCKED",
            &[&int(now_ms), &running, &(limit as i64), &holder],
        )
        .await?;
        let mut claimed = Vec::new();
        for row in &due {
            let sync: SyncRecord = decode(row, "record")?;
            if let Some(row) = one(
                &tx,
                TAKE_LEASE,
                &[
                    &sync.tenant,
                    &sync.connection,
                    &sync.id,
                    &holder,
                    &int(now_ms),
                    &int(until_ms),
                ],
            )
            .await?
            {
                let tenure = Tenure {
                    holder: holder.to_owned(),
                    epoch: uint(row.get(0)),
                };
                claimed.push((sync, tenure));
            }
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Takes or renews a sync's lease in one statement: a row another holder's unexpired lease
    /// occupies is left alone (no row returned); a holder's running lease keeps its epoch; a
    /// lapsed one starts the next epoch.
    pub async fn take_lease(
        &self,
        tenant: &str,
        connection: &str,
        sync: &str,
        holder: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<Option<Tenure>, StoreError> {
        Ok(self
            .one(
                TAKE_LEASE,
                &[
                    &tenant,
                    &connection,
                    &sync,
                    &holder,
                    &int(now_ms),
                    &int(until_ms),
                ],
            )
            .await?
            .map(|row| Tenure {
                holder: holder.to_owned(),
                epoch: uint(row.get(0)),
            }))
    }

    pub async fn renew_lease(
        &self,
        tenant: &str,
        connection: &str,
        sync: &str,
        tenure: &Tenure,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<bool, StoreError> {
        Ok(self
            .execute(
                "UPDATE leases SET until_ms = $7
                 WHERE tenant = $1 AND connection = $2 AND sync = $3
                 AND holder = $4 AND epoch = $5 AND until_ms > $6",
                &[
                    &tenant,
                    &connection,
                    &sync,
                    &tenure.holder,
                    &int(tenure.epoch),
                    &int(now_ms),
                    &int(until_ms),
                ],
            )
            .await?
            > 0)
    }

    pub async fn release_lease(
        &self,
        tenant: &str,
        connection: &str,
        sync: &str,
        tenure: &Tenure,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE leases SET until_ms = 0
             WHERE tenant = $1 AND connection = $2 AND sync = $3 AND holder = $4 AND epoch = $5",
            &[
                &tenant,
                &connection,
                &sync,
                &tenure.holder,
                &int(tenure.epoch),
            ],
        )
        .await?;
        Ok(())
    }

    pub async fn changes(
        &self,
        tenant: &str,
        connection: &str,
        after: u64,
        limit: usize,
    ) -> Result<ChangesPage, StoreError> {
        let rows = self
            .rows(
                "SELECT seq, record FROM changes WHERE tenant = $1 AND connection = $2 AND seq > $3
                 ORDER BY seq LIMIT $4",
                &[&tenant, &connection, &int(after), &int(limit as u64 + 1)],
            )
            .await?;
        let has_more = rows.len() > limit;
        let entries = rows
            .iter()
            .take(limit)
            .map(|row| Ok((uint(row.get(0)), changes::decode(row.get(1))?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(ChangesPage { entries, has_more })
    }

    pub async fn changes_floor(&self, tenant: &str, connection: &str) -> Result<u64, StoreError> {
        Ok(self
            .one(
                "SELECT floor FROM change_counters WHERE tenant = $1 AND connection = $2",
                &[&tenant, &connection],
            )
            .await?
            .map_or(0, |row| uint(row.get(0))))
    }

    pub async fn last_change(&self, tenant: &str, connection: &str) -> Result<u64, StoreError> {
        Ok(self
            .one(
                "SELECT last FROM change_counters WHERE tenant = $1 AND connection = $2",
                &[&tenant, &connection],
            )
            .await?
            .map_or(0, |row| uint(row.get(0))))
    }

    /// Deletes changes recorded before `cutoff_ms` and raises each feed's floor to the highest
    /// number deleted, in one statement.
    pub async fn prune_changes(&self, cutoff_ms: u64) -> Result<usize, StoreError> {
        let row = self
            .one(
                "WITH pruned AS (
                     DELETE FROM changes WHERE recorded_at_ms < $1
                     RETURNING tenant, connection, seq
                 ), floors AS (
                     UPDATE change_counters c SET floor = greatest(c.floor, p.top)
                     FROM (SELECT tenant, connection, max(seq) AS top FROM pruned
                           GROUP BY tenant, connection) p
                     WHERE c.tenant = p.tenant AND c.connection = p.connection
                     RETURNING 1
                 )
                 SELECT count(*) FROM pruned",
                &[&int(cutoff_ms)],
            )
            .await?;
        count(row)
    }

    pub async fn append_changes(
        &self,
        tenant: &str,
        connection: &str,
        changes: &[NewChange],
        vendor: serde_json::Value,
        inbound: Option<u64>,
    ) -> Result<Vec<String>, StoreError> {
        let changed_seq = self.next_id().await?;
        let vendor_seq = self.next_id().await?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if let Some(seq) = inbound
            && execute(
                &tx,
                "DELETE FROM inbound_webhooks WHERE seq = $1",
                &[&int(seq)],
            )
            .await?
                == 0
        {
            return Err(StoreError::Conflict);
        }
        let ids = append(&tx, tenant, connection, changes).await?;
        if !ids.is_empty() {
            self.put_event(
                &tx,
                changed_seq,
                tenant,
                EventType::RecordsChanged,
                serde_json::json!({"connection_id": connection, "change_ids": ids}),
            )
            .await?;
        }
        let mut data = vendor;
        data["change_ids"] = serde_json::json!(ids);
        self.put_event(&tx, vendor_seq, tenant, EventType::VendorEvent, data)
            .await?;
        tx.commit().await?;
        Ok(ids)
    }
}

/// `LeaseLost` unless `tenure` still holds the sync's lease; the row stays locked until the
/// caller's transaction ends, so no new tenure can begin before the write commits.
/// Takes or renews a lease (see `take_lease`): tenant, connection, sync, holder, now, until.
const TAKE_LEASE: &str = "INSERT INTO leases (tenant, connection, sync, holder, until_ms, epoch)
     VALUES ($1, $2, $3, $4, $6, 1)
     ON CONFLICT (tenant, connection, sync) DO UPDATE
     SET holder = excluded.holder, until_ms = excluded.until_ms,
         epoch = CASE WHEN leases.holder = excluded.holder AND leases.until_ms > $5
                      THEN leases.epoch ELSE leases.epoch + 1 END
     WHERE leases.holder = excluded.holder OR leases.until_ms <= $5
     RETURNING epoch";

async fn check_tenure<C: GenericClient>(
    client: &C,
    sync: &SyncRecord,
    tenure: &Tenure,
) -> Result<(), StoreError> {
    let held = one(
        client,
        "SELECT holder, epoch FROM leases WHERE tenant = $1 AND connection = $2 AND sync = $3
         FOR UPDATE",
        &[&sync.tenant, &sync.connection, &sync.id],
    )
    .await?
    .is_some_and(|row| row.get::<_, &str>(0) == tenure.holder && uint(row.get(1)) == tenure.epoch);
    if held {
        Ok(())
    } else {
        Err(StoreError::LeaseLost)
    }
}

async fn put_checkpoint<C: GenericClient>(
    client: &C,
    sync: &SyncRecord,
    sealed: &[u8],
) -> Result<(), StoreError> {
    execute(
        client,
        "INSERT INTO sync_state (tenant, connection, sync, sealed) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant, connection, sync) DO UPDATE SET sealed = excluded.sealed",
        &[&sync.tenant, &sync.connection, &sync.id, &sealed],
    )
    .await?;
    Ok(())
}

async fn put_run<C: GenericClient>(
    client: &C,
    sync: &SyncRecord,
    run: &RunRecord,
) -> Result<(), StoreError> {
    let seq = run_seq(&run.id).ok_or_else(|| StoreError::Corrupt("run id".into()))?;
    execute(
        client,
        "INSERT INTO sync_runs (tenant, connection, sync, seq, record) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant, connection, sync, seq) DO UPDATE SET record = excluded.record",
        &[
            &sync.tenant,
            &sync.connection,
            &sync.id,
            &int(seq),
            &encode(run)?,
        ],
    )
    .await?;
    Ok(())
}

/// Appends `changes` to a connection's feed inside the caller's transaction: the counter row
/// is raised (and locked until the commit) first, so concurrent writers number in commit
/// order and no reader ever sees a gap fill in later.
async fn append<C: GenericClient>(
    client: &C,
    tenant: &str,
    connection: &str,
    changes: &[NewChange],
) -> Result<Vec<String>, StoreError> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let n = int(changes.len() as u64);
    let last = one(
        client,
        "INSERT INTO change_counters (tenant, connection, last) VALUES ($1, $2, $3)
         ON CONFLICT (tenant, connection) DO UPDATE SET last = change_counters.last + $3
         RETURNING last",
        &[&tenant, &connection, &n],
    )
    .await?
    .map_or(0, |row| uint(row.get(0)));
    let first = last + 1 - changes.len() as u64;
    let encoded = changes::encode(changes, first)?;
    let seqs: Vec<i64> = encoded.iter().map(|(seq, _)| int(*seq)).collect();
    let records: Vec<&[u8]> = encoded.iter().map(|(_, bytes)| bytes.as_slice()).collect();
    let now_ms = int(crate::store::unix_now_ms());
    execute(
        client,
        "INSERT INTO changes (tenant, connection, seq, recorded_at_ms, record)
         SELECT $1, $2, seq, $3, record FROM unnest($4::bigint[], $5::bytea[]) AS t(seq, record)",
        &[&tenant, &connection, &now_ms, &seqs, &records],
    )
    .await?;
    Ok(encoded.iter().map(|(seq, _)| change_id(*seq)).collect())
}
