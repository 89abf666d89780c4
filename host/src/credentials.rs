//! Credentials the host obtains and keeps valid itself: the origin each is bound to, the OAuth
//! 2.0 authorization-code flow with PKCE and signed state, token refresh that never races, and
//! revocation.

pub mod binding;
mod clients;
mod oauth_flow;
mod pkce;
mod refresher;
mod signed_state;
mod token_client;

pub use clients::{OAuthClient, OAuthClientConfig, OAuthEndpoints};
pub use oauth_flow::{
    Authorization, AuthorizeRequest, CallbackCaller, CallbackOutcome, OAuthError, OAuthFlow,
    StartPage,
};
pub use refresher::{RefreshError, Refresher};
pub use token_client::{TokenClient, TokenError, TokenResponse, unix_now};
