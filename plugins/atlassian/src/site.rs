use connector_sdk::Connection;
use connector_sdk::config::{self, Config};
use connector_sdk::http::Request;
use connector_sdk::prelude::*;
use connector_sdk::{ClientAuth, Oauth2};
use serde::Deserialize;

/// Where OAuth 2.0 (3LO) calls go; `api_url` in the config overrides it (proxies, test fakes).
const GATEWAY: &str = "https://api.atlassian.com";

/// Which product's gateway path to use.
#[derive(Debug, Clone, Copy)]
pub enum Product {
    Jira,
    Confluence,
}

impl Product {
    /// The product's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jira => "Jira",
            Self::Confluence => "Confluence",
        }
    }

    fn gateway_segment(self) -> &'static str {
        match self {
            Self::Jira => "jira",
            Self::Confluence => "confluence",
        }
    }
}

/// The Atlassian 3LO endpoints, with `offline_access` for refresh tokens.
pub fn oauth_endpoints(scopes: &[&str]) -> Oauth2 {
    let mut endpoints = Oauth2::endpoints(
        "https://auth.atlassian.com/authorize",
        "https://auth.atlassian.com/oauth/token",
    );
    endpoints.default_scopes = scopes
        .iter()
        .map(|s| (*s).to_owned())
        .chain(["offline_access".to_owned()])
        .collect();
    endpoints.extra_authorize_params = vec![
        ("audience".into(), "api.atlassian.com".into()),
        ("prompt".into(), "consent".into()),
    ];
    endpoints.client_auth = ClientAuth::Body;
    // Atlassian documents 3LO as a confidential-client exchange (client secret, code,
    // redirect URI) with no PKCE parameters, so none are sent.
    endpoints.pkce = false;
    endpoints
}

/// One connection's view of its Atlassian site.
#[derive(Debug, Clone)]
pub struct Site {
    /// `https://your-domain.atlassian.net`, from config `site_url`.
    pub origin: String,
    /// The OAuth gateway origin.
    pub gateway: String,
    /// Whether the connection authenticates with OAuth 2.0 (calls go through the gateway).
    pub oauth: bool,
    /// The site's cloud id, discovered when connecting with OAuth.
    cloud_id: Option<String>,
    product: Product,
}

#[derive(Deserialize)]
struct AccessibleResource {
    id: String,
    url: String,
}

impl Site {
    /// A site reached directly (API token, no OAuth gateway), as a connection to `origin`.
    pub fn direct(origin: &str, product: Product) -> Self {
        Self {
            origin: origin.trim_end_matches('/').to_owned(),
            gateway: GATEWAY.to_owned(),
            oauth: false,
            cloud_id: None,
            product,
        }
    }

    /// Reads `site_url` (and `api_url`) from `config`, for a credential of `auth_method`.
    pub fn from_config(
        config: &Config,
        auth_method: Option<&str>,
        product: Product,
    ) -> Result<Self, ConnectorError> {
        let origin = config::require_origin(config, "site_url")?;
        let gateway = match config.get("api_url") {
            Some(_) => config::require_origin(config, "api_url")?,
            None => GATEWAY.to_owned(),
        };
        Ok(Self {
            origin,
            gateway,
            oauth: auth_method == Some("oauth"),
            cloud_id: None,
            product,
        })
    }

    /// The site of the connection a call is for.
    pub fn from_connection(
        connection: &Connection,
        product: Product,
    ) -> Result<Self, ConnectorError> {
        let mut site = Self::from_config(connection.config(), connection.auth_method(), product)?;
        site.cloud_id = connection.value("cloud_id").map(str::to_owned);
        Ok(site)
    }

    /// Base URL of REST calls: the site for API tokens, `/ex/{product}/{cloudId}` on the gateway
    /// for OAuth.
    pub fn api_base(&self) -> Result<String, ConnectorError> {
        if !self.oauth {
            return Ok(self.origin.clone());
        }
        let cloud_id = self.cloud_id.as_deref().ok_or_else(|| {
            ConnectorError::invalid_input("connection value `cloud_id` is missing; connect again")
        })?;
        Ok(format!(
            "{}/ex/{}/{cloud_id}",
            self.gateway,
            self.product.gateway_segment()
        ))
    }

    /// For OAuth: the cloud id of the configured site among the grant's accessible resources.
    /// Never "the first one": a grant may cover several sites.
    pub fn discover_cloud_id(&self) -> Result<String, ConnectorError> {
        self.discover().map(|(cloud_id, _)| cloud_id)
    }

    /// The site's cloud id and its URL as Atlassian states them in accessible-resources, under
    /// the connection's own grant. The host routes app-signed deliveries by these values, never
    /// by config a tenant types.
    pub fn discover(&self) -> Result<(String, String), ConnectorError> {
        let resources: Vec<AccessibleResource> =
            Request::get(format!("{}/oauth/token/accessible-resources", self.gateway))
                .send_json()?;
        let wanted = self.origin.trim_end_matches('/');
        resources
            .iter()
            .find(|r| r.url.trim_end_matches('/').eq_ignore_ascii_case(wanted))
            .map(|r| (r.id.clone(), r.url.trim_end_matches('/').to_owned()))
            .ok_or_else(|| {
                let covered: Vec<&str> = resources.iter().map(|r| r.url.as_str()).collect();
                ConnectorError::InvalidConfig(format!(
                    "this authorization does not cover {wanted}; it covers: {}",
                    if covered.is_empty() {
                        "no sites".to_owned()
                    } else {
                        covered.join(", ")
                    }
                ))
            })
    }

    /// A link a person can open: the site's origin followed by `path`, given in pieces so a
    /// page of entries builds each link in one allocation (no `format!` per entry).
    pub fn browse_url(&self, path: &[&str]) -> String {
        let length = self.origin.len() + path.iter().map(|piece| piece.len()).sum::<usize>();
        let mut url = String::with_capacity(length);
        url.push_str(&self.origin);
        path.iter().for_each(|piece| url.push_str(piece));
        url
    }
}
