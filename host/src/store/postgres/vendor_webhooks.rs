//! Vendor webhooks in: registrations, their route tokens and sealed secrets, delivery ids
//! seen (replays), and verified deliveries waiting for their plugin, claimed by one host at a
//! time (`FOR UPDATE SKIP LOCKED`); a claim lapses after [`CLAIM_MS`] if its host died.

use super::connections::put_secret;
use super::{Postgres, decode, encode, execute, int, uint};
use crate::store::vendor_webhooks::secret_aad;
use crate::store::{InboundDelivery, StoreError, WebhookRegistration, WebhookRoute, unix_now_ms};

/// How long a host holds the inbound deliveries it took: longer than a plugin call.
const CLAIM_MS: u64 = 5 * 60 * 1000;

impl Postgres {
    pub async fn create_registration(
        &self,
        registration: &WebhookRegistration,
        secret: Option<&str>,
    ) -> Result<(), StoreError> {
        let sealed = secret
            .map(|secret| {
                let aad = secret_aad(
                    &registration.tenant,
                    &registration.connection,
                    &registration.id,
                );
                self.seal(&aad, secret.as_bytes())
                    .map(|sealed| (aad, sealed))
            })
            .transpose()?;
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        if let Some((aad, sealed)) = &sealed {
            put_secret(&tx, aad, sealed).await?;
            let route = WebhookRoute {
                tenant: registration.tenant.clone(),
                connection: registration.connection.clone(),
                connector: registration.connector.clone(),
                registration: registration.id.clone(),
            };
            execute(
                &tx,
                "INSERT INTO webhook_routes (route, tenant, connection, registration, record)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (route) DO UPDATE SET tenant = excluded.tenant,
                     connection = excluded.connection, registration = excluded.registration,
                     record = excluded.record",
                &[
                    &registration.route,
                    &registration.tenant,
                    &registration.connection,
                    &registration.id,
                    &encode(&route)?,
                ],
            )
            .await?;
        }
        execute(
            &tx,
            "INSERT INTO webhook_registrations (tenant, connection, id, record)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant, connection, id) DO UPDATE SET record = excluded.record",
            &[
                &registration.tenant,
                &registration.connection,
                &registration.id,
                &encode(registration)?,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn registrations(
        &self,
        tenant: &str,
        connection: &str,
    ) -> Result<Vec<WebhookRegistration>, StoreError> {
        self.rows(
            "SELECT record FROM webhook_registrations WHERE tenant = $1 AND connection = $2
             ORDER BY id",
            &[&tenant, &connection],
        )
        .await?
        .iter()
        .map(|row| decode(row, "record"))
        .collect()
    }

    pub async fn registration(
        &self,
        tenant: &str,
        connection: &str,
        id: &str,
    ) -> Result<Option<WebhookRegistration>, StoreError> {
        self.one(
            "SELECT record FROM webhook_registrations
             WHERE tenant = $1 AND connection = $2 AND id = $3",
            &[&tenant, &connection, &id],
        )
        .await?
        .map(|row| decode(&row, "record"))
        .transpose()
    }

    pub async fn webhook_route(&self, route: &str) -> Result<Option<WebhookRoute>, StoreError> {
        self.one(
            "SELECT record FROM webhook_routes WHERE route = $1",
            &[&route],
        )
        .await?
        .map(|row| decode(&row, "record"))
        .transpose()
    }

    pub async fn registration_secret(
        &self,
        tenant: &str,
        connection: &str,
        registration: &str,
    ) -> Result<String, StoreError> {
        let plain = self
            .open_secret(&secret_aad(tenant, connection, registration))
            .await?;
        String::from_utf8(plain.to_vec()).map_err(|_| StoreError::Corrupt("webhook secret".into()))
    }

    pub async fn delete_registration(
        &self,
        registration: &WebhookRegistration,
    ) -> Result<(), StoreError> {
        let aad = secret_aad(
            &registration.tenant,
            &registration.connection,
            &registration.id,
        );
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Only a route of its own: the shared app route is no registration's.
        execute(
            &tx,
            "DELETE FROM webhook_routes WHERE route = $1 AND registration = $2",
            &[&registration.route, &registration.id],
        )
        .await?;
        execute(
            &tx,
            "DELETE FROM secrets WHERE tenant = $1 AND owner = $2 AND field = $3",
            &[&aad.tenant, &aad.connection, &aad.field],
        )
        .await?;
        execute(
            &tx,
            "DELETE FROM webhook_registrations WHERE tenant = $1 AND connection = $2 AND id = $3",
            &[
                &registration.tenant,
                &registration.connection,
                &registration.id,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a delivery id; `false` when it was seen before and is still kept (a replay).
    /// One statement, so two hosts receiving the same delivery agree on which saw it first.
    pub async fn first_delivery(
        &self,
        scope: &str,
        delivery_id: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<bool, StoreError> {
        let key = format!("{scope}/{delivery_id}");
        Ok(self
            .execute(
                "INSERT INTO webhook_dedup (key, until_ms) VALUES ($1, $3)
                 ON CONFLICT (key) DO UPDATE SET until_ms = excluded.until_ms
                 WHERE webhook_dedup.until_ms <= $2",
                &[&key, &int(now_ms), &int(until_ms)],
            )
            .await?
            > 0)
    }

    pub async fn sweep_delivery_ids(&self, now_ms: u64) -> Result<usize, StoreError> {
        Ok(self
            .execute(
                "DELETE FROM webhook_dedup WHERE until_ms <= $1",
                &[&int(now_ms)],
            )
            .await? as usize)
    }

    pub async fn queue_inbound(&self, delivery: &InboundDelivery) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO inbound_webhooks (seq, record) VALUES ($1, $2)
             ON CONFLICT (seq) DO UPDATE SET record = excluded.record, claimed_until_ms = 0",
            &[&int(delivery.seq), &encode(delivery)?],
        )
        .await?;
        Ok(())
    }

    pub async fn next_inbound_seq(&self) -> Result<u64, StoreError> {
        self.next_id().await
    }

    /// Claims the oldest waiting deliveries no other host holds.
    pub async fn inbound(&self, limit: usize) -> Result<Vec<InboundDelivery>, StoreError> {
        let now = unix_now_ms();
        self.rows(
            "UPDATE inbound_webhooks SET claimed_until_ms = $2
             WHERE seq IN (SELECT seq FROM inbound_webhooks WHERE claimed_until_ms <= $3
                           ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
             RETURNING seq, record",
            &[&int(limit as u64), &int(now + CLAIM_MS), &int(now)],
        )
        .await?
        .iter()
        .map(|row| Ok((uint(row.get(0)), decode::<InboundDelivery>(row, "record")?)))
        .collect::<Result<Vec<_>, StoreError>>()
        .map(|mut claimed| {
            claimed.sort_by_key(|(seq, _)| *seq);
            claimed.into_iter().map(|(_, delivery)| delivery).collect()
        })
    }

    pub async fn take_inbound(&self, seq: u64) -> Result<bool, StoreError> {
        Ok(self
            .execute("DELETE FROM inbound_webhooks WHERE seq = $1", &[&int(seq)])
            .await?
            > 0)
    }

    /// Writes a delivery back after a failed attempt; its claim ends.
    pub async fn put_inbound(&self, delivery: &InboundDelivery) -> Result<(), StoreError> {
        self.execute(
            "UPDATE inbound_webhooks SET record = $2, claimed_until_ms = 0 WHERE seq = $1",
            &[&int(delivery.seq), &encode(delivery)?],
        )
        .await?;
        Ok(())
    }
}
