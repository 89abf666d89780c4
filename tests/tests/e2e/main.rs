//! End-to-end tests: the real runtime and server against loopback fakes. One binary, one module
//! per concern.

mod agent_tools;
mod api_flow;
mod asana;
mod atlassian_setup;
mod bad_input;
mod bounded_server;
mod cluster;
mod cluster_caps;
mod cluster_processes;
mod cluster_registry;
mod compile_cache;
mod confluence;
mod connect_in_run;
mod console;
mod contract_v0_3;
mod credential_binding;
mod datadog;
mod declarative;
mod declarative_oauth;
mod declarative_webhooks;
mod egress;
mod fair_slots;
mod figma;
mod github;
mod hostile_plugin;
mod hot_load;
mod isolation;
mod jira;
mod key_rotation;
mod mcp_authorization;
mod mcp_conformance;
mod notion;
mod oauth;
mod oauth_binding;
mod pagerduty;
mod postgres;
mod process;
mod public_surfaces;
mod quotas_and_keys;
mod realistic_pages;
mod salesforce;
mod sandbox;
mod scaffolded_manifest;
mod sdk_calls;
mod secrets;
mod server;
mod slack;
mod status_writes;
mod store_backends;
mod syncs;
mod telemetry;
mod tenant_connectors;
mod tenant_webhooks;
mod tool_packs_and_meta;
mod tool_policy;
mod tool_search;
mod trello;
mod usage;
mod vendor_webhooks;
mod zendesk;

use connector_host::egress::{Credential, EgressPolicy};
use connector_host::runtime::{
    CallContext, CallError, Operation, OperationOutput, Runtime, RuntimeLimits, wit::PageRequest,
};
use connector_tests::fakes::ProbeVendor;
use connector_tests::harness;

/// The probe plugin loaded into a fresh runtime, with its vendor fake running.
pub struct ProbeSetup {
    pub runtime: Runtime,
    pub vendor: ProbeVendor,
}

impl ProbeSetup {
    pub async fn start() -> Self {
        Self::with(harness::loopback_policy(), harness::test_limits()).await
    }

    pub async fn with(policy: EgressPolicy, limits: RuntimeLimits) -> Self {
        let vendor = ProbeVendor::start().await;
        let runtime = harness::runtime(policy, limits, None);
        runtime
            .load_file(&harness::plugin_path("probe"))
            .await
            .expect("probe loads");
        Self { runtime, vendor }
    }

    /// A context for a connection to the fake with a bearer token.
    pub fn context(&self) -> CallContext {
        harness::probe_context(
            &self.vendor.origin(),
            Some(Credential::Bearer {
                token: "probe-token".into(),
            }),
        )
    }

    /// Runs a probe command through `search` and returns the result body.
    pub async fn command(&self, context: CallContext, command: &str) -> Result<String, CallError> {
        let output = self
            .runtime
            .call(
                "probe",
                context,
                Operation::Search {
                    query: command.to_owned(),
                    page: page(None, 10),
                },
            )
            .await?;
        match output {
            OperationOutput::Items(page) => Ok(page.entries[0].body.clone().unwrap_or_default()),
            other => panic!("search returned {other:?}"),
        }
    }
}

pub fn page(cursor: Option<String>, limit: u32) -> PageRequest {
    PageRequest {
        cursor,
        limit,
        include_raw: true,
    }
}

/// The fault cause code of an error, or a panic naming what came instead.
pub fn fault_code(error: &CallError) -> &'static str {
    match error {
        CallError::Fault { cause, .. } => cause.code(),
        other => panic!("expected a plugin fault, got {other:?}"),
    }
}
