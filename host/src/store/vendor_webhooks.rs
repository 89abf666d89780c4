//! Vendor webhooks in: the subscriptions the host registered at vendors
//! (`webhook_registrations`, `tenant/connection/id`), the unguessable route token of each
//! (`webhook_routes`, token -> registration), their signing secrets sealed in `secrets`, the
//! delivery ids seen (`webhook_dedup`, for replays), and verified deliveries waiting for their
//! plugin (`inbound_webhooks`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::{Aad, Sled, StoreError, scoped_key};

/// A vendor-side subscription the host made for a connection.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookRegistration {
    /// `wh_` and random characters.
    pub id: String,
    /// The tenant.
    pub tenant: String,
    /// The connection.
    pub connection: String,
    /// The connector.
    pub connector: String,
    /// The token in the receiver URL (`/webhooks/v1/{connector}/{route}`); the API never
    /// shows it (see `api::vendor_webhooks::WebhookView`).
    pub route: String,
    /// The vendor's id of the subscription.
    pub vendor_id: String,
    /// The container it covers, when the vendor scopes it.
    pub container_id: Option<String>,
    /// The event types it subscribes to.
    pub events: Vec<String>,
    /// When the vendor expires it.
    pub expires_at: Option<String>,
    /// When it was created.
    pub created_at: String,
}

/// Who a route token belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookRoute {
    /// The tenant.
    pub tenant: String,
    /// The connection.
    pub connection: String,
    /// The connector.
    pub connector: String,
    /// The registration.
    pub registration: String,
}

/// A verified delivery waiting for its plugin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboundDelivery {
    /// Its place in the queue.
    pub seq: u64,
    /// The connector it came for.
    pub connector: String,
    /// The connection, when the route named it (connection-signed deliveries).
    pub route: Option<WebhookRoute>,
    /// Its headers, minus authorization and cookies.
    pub headers: Vec<(String, String)>,
    /// Base64 of the body as received.
    body: String,
    /// The vendor's delivery id.
    pub delivery_id: Option<String>,
    /// When it was received (Unix milliseconds).
    pub received_at_ms: u64,
    /// Processing attempts so far.
    pub attempts: u32,
}

impl InboundDelivery {
    /// A delivery received now.
    pub fn new(
        seq: u64,
        connector: &str,
        route: Option<WebhookRoute>,
        headers: Vec<(String, String)>,
        body: &[u8],
        delivery_id: Option<String>,
        received_at_ms: u64,
    ) -> Self {
        Self {
            seq,
            connector: connector.to_owned(),
            route,
            headers,
            body: STANDARD.encode(body),
            delivery_id,
            received_at_ms,
            attempts: 0,
        }
    }

    /// The body as received.
    pub fn body(&self) -> Vec<u8> {
        STANDARD.decode(&self.body).unwrap_or_default()
    }
}

pub(super) fn secret_aad(tenant: &str, connection: &str, registration: &str) -> Aad {
    Aad::new(
        tenant,
        connection,
        &format!("webhook-secret:{registration}"),
    )
}

impl Sled {
    /// Stores a registration with its route and sealed secret; app-signed registrations
    /// (`secret` none) share the app route and have neither.
    pub async fn create_registration(
        &self,
        registration: &WebhookRegistration,
        secret: Option<&str>,
    ) -> Result<(), StoreError> {
        if let Some(secret) = secret {
            let aad = secret_aad(
                &registration.tenant,
                &registration.connection,
                &registration.id,
            );
            self.secrets
                .insert(aad.storage_key(), self.keys.seal(&aad, secret.as_bytes())?)?;
            let route = WebhookRoute {
                tenant: registration.tenant.clone(),
                connection: registration.connection.clone(),
                connector: registration.connector.clone(),
                registration: registration.id.clone(),
            };
            self.webhook_routes
                .insert(registration.route.as_bytes(), serde_json::to_vec(&route)?)?;
        }
        self.webhook_registrations.insert(
            scoped_key(
                &registration.tenant,
                &format!("{}/{}", registration.connection, registration.id),
            ),
            serde_json::to_vec(registration)?,
        )?;
        self.flush().await
    }

    /// The registrations of a connection.
    pub fn registrations(
        &self,
        tenant: &str,
        connection: &str,
    ) -> Result<Vec<WebhookRegistration>, StoreError> {
        self.webhook_registrations
            .scan_prefix(scoped_key(tenant, &format!("{connection}/")))
            .values()
            .map(|bytes| Ok(serde_json::from_slice(&bytes?)?))
            .collect()
    }

    /// One registration.
    pub fn registration(
        &self,
        tenant: &str,
        connection: &str,
        id: &str,
    ) -> Result<Option<WebhookRegistration>, StoreError> {
        match self
            .webhook_registrations
            .get(scoped_key(tenant, &format!("{connection}/{id}")))?
        {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Removes a registration's route, if it has one of its own (not the shared app route).
    fn remove_route_of(&self, registration: &WebhookRegistration) -> Result<(), StoreError> {
        if let Some(route) = self.webhook_route(&registration.route)?
            && route.registration == registration.id
        {
            self.webhook_routes.remove(registration.route.as_bytes())?;
        }
        Ok(())
    }

    /// Who a route token belongs to.
    pub fn webhook_route(&self, route: &str) -> Result<Option<WebhookRoute>, StoreError> {
        match self.webhook_routes.get(route.as_bytes())? {
            Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
            None => Ok(None),
        }
    }

    /// A registration's signing secret, opened.
    pub fn registration_secret(
        &self,
        tenant: &str,
        connection: &str,
        registration: &str,
    ) -> Result<String, StoreError> {
        let aad = secret_aad(tenant, connection, registration);
        let sealed = self
            .secrets
            .get(aad.storage_key())?
            .ok_or(StoreError::NotFound)?;
        String::from_utf8(self.keys.open(&aad, &sealed)?.to_vec())
            .map_err(|_| StoreError::Corrupt("webhook secret".into()))
    }

    /// Deletes a registration, its route and its secret.
    pub async fn delete_registration(
        &self,
        registration: &WebhookRegistration,
    ) -> Result<(), StoreError> {
        self.remove_route_of(registration)?;
        self.secrets.remove(
            secret_aad(
                &registration.tenant,
                &registration.connection,
                &registration.id,
            )
            .storage_key(),
        )?;
        self.webhook_registrations.remove(scoped_key(
            &registration.tenant,
            &format!("{}/{}", registration.connection, registration.id),
        ))?;
        self.flush().await
    }

    /// Records a delivery id; `false` when it was seen before (a replay). Ids are kept until
    /// `until_ms`.
    pub fn first_delivery(
        &self,
        scope: &str,
        delivery_id: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<bool, StoreError> {
        let key = format!("{scope}/{delivery_id}").into_bytes();
        loop {
            let current = self.webhook_dedup.get(&key)?;
            if let Some(bytes) = &current {
                let mut buf = [0u8; 8];
                if bytes.len() == 8 {
                    buf.copy_from_slice(bytes);
                }
                if u64::from_be_bytes(buf) > now_ms {
                    return Ok(false);
                }
            }
            if self
                .webhook_dedup
                .compare_and_swap(&key, current, Some(&until_ms.to_be_bytes()[..]))?
                .is_ok()
            {
                return Ok(true);
            }
        }
    }

    /// Forgets delivery ids past their time.
    pub fn sweep_delivery_ids(&self, now_ms: u64) -> Result<usize, StoreError> {
        let mut swept = 0;
        for entry in self.webhook_dedup.iter() {
            // Keys are `scope/delivery id`, values the expiry.
            let (key, bytes) = entry?;
            let mut buf = [0u8; 8];
            if bytes.len() == 8 {
                buf.copy_from_slice(&bytes);
            }
            if u64::from_be_bytes(buf) <= now_ms {
                self.webhook_dedup.remove(key)?;
                swept += 1;
            }
        }
        Ok(swept)
    }

    /// Queues a verified delivery (durable when this returns).
    pub async fn queue_inbound(&self, delivery: &InboundDelivery) -> Result<(), StoreError> {
        self.inbound_webhooks
            .insert(delivery.seq.to_be_bytes(), serde_json::to_vec(delivery)?)?;
        self.flush().await
    }

    /// A fresh inbound sequence number.
    pub fn next_inbound_seq(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }

    /// The oldest waiting deliveries.
    pub fn inbound(&self, limit: usize) -> Result<Vec<InboundDelivery>, StoreError> {
        self.inbound_webhooks
            .iter()
            .values()
            .take(limit)
            .map(|bytes| Ok(serde_json::from_slice(&bytes?)?))
            .collect()
    }

    /// Removes the registrations of a connection with their routes (the connection is being
    /// deleted; its secrets go with its other secrets).
    pub(crate) fn delete_registrations_of(
        &self,
        tenant: &str,
        connection: &str,
    ) -> Result<(), StoreError> {
        for registration in self.registrations(tenant, connection)? {
            self.remove_route_of(&registration)?;
            self.webhook_registrations.remove(scoped_key(
                tenant,
                &format!("{connection}/{}", registration.id),
            ))?;
        }
        Ok(())
    }

    /// Removes a processed delivery; `false` when another worker already did.
    pub fn take_inbound(&self, seq: u64) -> Result<bool, StoreError> {
        Ok(self.inbound_webhooks.remove(seq.to_be_bytes())?.is_some())
    }

    /// Writes a delivery back after a failed attempt.
    pub fn put_inbound(&self, delivery: &InboundDelivery) -> Result<(), StoreError> {
        self.inbound_webhooks
            .insert(delivery.seq.to_be_bytes(), serde_json::to_vec(delivery)?)?;
        Ok(())
    }
}
