//! The `definition` import of 0.3.2: hands the declarative interpreter the manifest of the
//! connector its call runs. The manifest was validated and normalised by the host when it was
//! loaded; the interpreter reads it afresh in every sandbox, since nothing survives a call.

use super::call_state::CallState;
use super::contract::wit_definition::definition;

impl definition::Host for CallState {
    async fn manifest(&mut self) -> String {
        // Copied into the guest's memory, under the store's hostcall fuel like any other answer.
        self.definition.as_deref().unwrap_or_default().to_owned()
    }
}
