//! Credentials the host obtains and keeps valid itself: the OAuth 2.0 authorization-code flow
//! with PKCE and signed state, token refresh that never races, and revocation.

mod clients;
mod oauth_flow;
mod pkce;
mod refresher;
mod signed_state;
mod token_client;

pub use clients::{OAuthClient, OAuthClientConfig, OAuthEndpoints};
pub use oauth_flow::{Authorization, AuthorizeRequest, CallbackOutcome, OAuthError, OAuthFlow};
pub use refresher::{RefreshError, Refresher};
pub use token_client::{TokenClient, TokenError, TokenResponse};
