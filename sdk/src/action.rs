//! Actions: named operations beyond the unified shape (`close_issue`), which agents see as
//! tools. Declare them in [`crate::ConnectorInfo`] with [`Action::new`]; run them in
//! [`crate::Connector::invoke`], decoding the input with [`input`].
//!
//! ```
//! use connector_sdk::action::Action;
//! use serde_json::json;
//! let close = Action::new("close_issue", "Close an issue")
//!     .description("Closes an open issue; closing a closed one changes nothing.")
//!     .input_schema(json!({
//!         "type": "object",
//!         "required": ["issue"],
//!         "properties": {"issue": {"type": "string"}},
//!         "additionalProperties": false
//!     }))
//!     .idempotent();
//! assert!(close.annotations.idempotent && !close.annotations.read_only);
//! ```

use serde::de::DeserializeOwned;

use crate::ConnectorError;
pub use crate::bindings::connector::plugin::manifest::{Action, ActionAnnotations};

impl Action {
    /// An action with an input of any object, no output schema, and no annotations: it may
    /// write, is not idempotent, and reaches only the connection's own data.
    pub fn new(name: &str, title: &str) -> Self {
        Self {
            name: name.to_owned(),
            title: title.to_owned(),
            description: String::new(),
            input_schema: r#"{"type":"object"}"#.to_owned(),
            output_schema: None,
            annotations: ActionAnnotations {
                read_only: false,
                destructive: false,
                idempotent: false,
                open_world: false,
            },
        }
    }

    /// What it does and when to use it, for people and agents.
    pub fn description(mut self, description: &str) -> Self {
        self.description = description.to_owned();
        self
    }

    /// JSON Schema of the input object; the host checks input against it before your code
    /// runs.
    pub fn input_schema(mut self, schema: serde_json::Value) -> Self {
        self.input_schema = schema.to_string();
        self
    }

    /// JSON Schema of the output.
    pub fn output_schema(mut self, schema: serde_json::Value) -> Self {
        self.output_schema = Some(schema.to_string());
        self
    }

    /// It only reads.
    pub fn read_only(mut self) -> Self {
        self.annotations.read_only = true;
        self
    }

    /// It may destroy or overwrite data.
    pub fn destructive(mut self) -> Self {
        self.annotations.destructive = true;
        self
    }

    /// Running it twice has the effect of running it once.
    pub fn idempotent(mut self) -> Self {
        self.annotations.idempotent = true;
        self
    }

    /// It reaches beyond the connection's own data.
    pub fn open_world(mut self) -> Self {
        self.annotations.open_world = true;
        self
    }
}

/// Decodes an action's input into `T` (the host has checked it against the schema; this
/// catches a schema and a type that disagree).
pub fn input<T: DeserializeOwned>(input: serde_json::Value) -> Result<T, ConnectorError> {
    serde_json::from_value(input)
        .map_err(|e| ConnectorError::invalid_input(format!("action input: {e}")))
}
