//! Plugin loads as clients see them: the operator's uploads (`/admin/v1/plugins`) and a
//! tenant's own connectors share one answer for a refused load.

use axum::http::StatusCode;

use crate::error::{ApiError, ErrorCode};
use crate::loader::LoadFailure;
use crate::runtime::LoadError;

/// The answer to a refused load: which check refused it (`details.stage`), where in a
/// manifest (`details.pointer`), and the status that check's refusal gets.
pub fn load_refusal(failure: LoadFailure, id: &str) -> ApiError {
    let stage = failure.stage();
    let message = format!("plugin `{id}` not loaded: {failure}");
    let details = match &failure {
        LoadFailure::ManifestChanged { changes } => {
            serde_json::json!({ "stage": stage, "changes": changes })
        }
        LoadFailure::Plugin(error) if error.pointer().is_some() => {
            serde_json::json!({ "stage": stage, "pointer": error.pointer() })
        }
        _ => serde_json::json!({ "stage": stage }),
    };
    match failure {
        LoadFailure::ManifestChanged { .. } | LoadFailure::IdTaken(_) => {
            ApiError::new(ErrorCode::Conflict, message)
        }
        LoadFailure::TooLarge { .. } => {
            ApiError::new(ErrorCode::Validation, message).with_status(StatusCode::PAYLOAD_TOO_LARGE)
        }
        LoadFailure::Signature(_) => ApiError::new(ErrorCode::Forbidden, message),
        LoadFailure::Plugin(LoadError::Internal(_)) => {
            ApiError::new(ErrorCode::InternalError, message)
        }
        LoadFailure::Store(error) => ApiError::from(error),
        _ => ApiError::new(ErrorCode::Validation, message),
    }
    .with_details(details)
}
