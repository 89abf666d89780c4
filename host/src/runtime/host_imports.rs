//! The capabilities a 0.3.0 connector imports: `http` and `log`. (Its connection comes with
//! each call; the `config` import of older contracts lives in `contract::v0_2`.)

use std::time::Duration;

use futures::StreamExt as _;

use super::call_state::{CallState, Violation};
use super::contract::wit::connector::plugin::{log, manifest, types, webhooks};
use super::contract::wit::http;
use super::log_text::{escaped, escaped_fields};
use crate::egress::{EgressError, EgressRequest, EgressResponse, Method};

/// Requests of one `send-many` in flight at once.
const SEND_MANY_CONCURRENCY: usize = 8;
/// Longest log message kept; the rest is cut.
const MAX_LOG_MESSAGE: usize = 2_048;

impl types::Host for CallState {}
impl manifest::Host for CallState {}
impl webhooks::Host for CallState {}

impl http::Host for CallState {
    async fn send(&mut self, request: http::Request) -> Result<http::Response, http::HttpError> {
        if !self.take_request_budget() {
            return Err(http::HttpError::BudgetExhausted);
        }
        let result = self
            .egress
            .send(
                &self.scope,
                egress_request(request),
                self.deadline,
                self.max_response_bytes,
                &self.network,
            )
            .await;
        self.finish_request(result)
    }

    async fn send_many(
        &mut self,
        requests: Vec<http::Request>,
    ) -> Vec<Result<http::Response, http::HttpError>> {
        let mut allowed = Vec::with_capacity(requests.len());
        let mut over_budget = 0usize;
        for request in requests {
            if self.take_request_budget() {
                allowed.push(request);
            } else {
                over_budget += 1;
            }
        }
        let (egress, scope, deadline, max_bytes, network) = (
            self.egress.clone(),
            &self.scope,
            self.deadline,
            self.max_response_bytes,
            self.network.clone(),
        );
        // Every request of the fan-out draws on the call's one byte budget while it reads, so
        // the answers together can never hold more than that in the host.
        let results: Vec<_> = futures::stream::iter(allowed)
            .map(|request| {
                egress.send(
                    scope,
                    egress_request(request),
                    deadline,
                    max_bytes,
                    &network,
                )
            })
            .buffered(SEND_MANY_CONCURRENCY)
            .collect()
            .await;
        let mut answers: Vec<_> = results
            .into_iter()
            .map(|r| self.finish_request(r))
            .collect();
        answers.extend(std::iter::repeat_n(
            Err(http::HttpError::BudgetExhausted),
            over_budget,
        ));
        answers
    }
}

impl CallState {
    /// Counts one request against the call's budget; `false` (and a recorded violation) when
    /// the budget is spent.
    fn take_request_budget(&mut self) -> bool {
        if self.network.take_request() {
            return true;
        }
        self.record(Violation::RequestBudget(self.max_requests));
        false
    }

    fn finish_request(
        &mut self,
        result: Result<EgressResponse, EgressError>,
    ) -> Result<http::Response, http::HttpError> {
        match result {
            Ok(response) => Ok(http::Response {
                status: response.status,
                headers: response.headers,
                body: response.body,
            }),
            Err(error) => {
                tracing::debug!(
                    tenant = %self.labels.tenant,
                    connection = %self.labels.connection,
                    plugin = %self.labels.plugin,
                    %error,
                    "plugin request refused or failed"
                );
                Err(match error {
                    EgressError::Denied(why) => {
                        self.record(Violation::EgressDenied(why.clone()));
                        http::HttpError::Denied(why)
                    }
                    EgressError::TooLarge(limit) => {
                        self.record(Violation::ResponseTooLarge(limit));
                        http::HttpError::TooLarge(limit)
                    }
                    EgressError::BudgetExhausted => {
                        self.record(Violation::RequestBudget(self.max_requests));
                        http::HttpError::BudgetExhausted
                    }
                    EgressError::CallBytesExhausted(limit) => {
                        self.record(Violation::ResponseTooLarge(limit));
                        http::HttpError::TooLarge(limit)
                    }
                    EgressError::InvalidRequest(why) => http::HttpError::InvalidRequest(why),
                    EgressError::Timeout => http::HttpError::Timeout,
                    EgressError::ConnectionFailed(why) => http::HttpError::ConnectionFailed(why),
                })
            }
        }
    }
}

fn egress_request(request: http::Request) -> EgressRequest {
    EgressRequest {
        method: match request.method {
            http::Method::Get => Method::Get,
            http::Method::Head => Method::Head,
            http::Method::Post => Method::Post,
            http::Method::Put => Method::Put,
            http::Method::Patch => Method::Patch,
            http::Method::Delete => Method::Delete,
        },
        url: request.url,
        headers: request.headers,
        body: request.body,
        with_credential: matches!(request.auth, http::Auth::Connection),
        timeout: request
            .timeout_ms
            .map(|ms| Duration::from_millis(u64::from(ms))),
    }
}

macro_rules! plugin_event {
    ($level:expr, $state:expr, $fields:expr, $message:expr) => {
        tracing::event!(
            target: "plugin",
            $level,
            tenant = %$state.labels.tenant,
            connection = %$state.labels.connection,
            plugin = %$state.labels.plugin,
            fields = %$fields,
            "{}",
            $message
        )
    };
}

impl log::Host for CallState {
    async fn log(&mut self, level: log::Level, message: String, fields: Vec<(String, String)>) {
        if self.log_lines_left == 0 {
            self.log_lines_dropped += 1;
            return;
        }
        self.log_lines_left -= 1;
        let message = escaped(&message, MAX_LOG_MESSAGE);
        let fields = escaped_fields(&fields, MAX_LOG_MESSAGE);
        let level_name = match level {
            log::Level::Trace => "trace",
            log::Level::Debug => "debug",
            log::Level::Info => "info",
            log::Level::Warn => "warn",
            log::Level::Error => "error",
        };
        // With telemetry on, the line is also an event of the call's span, so a connector
        // author sees when it was written inside the call: the same escaped, capped text the
        // host log gets (a guest never holds a credential to write), at most
        // `max_log_lines_per_call` of them (and 128 per span, the SDK's limit).
        if crate::telemetry::enabled() {
            tracing::event!(
                target: "otel",
                tracing::Level::INFO,
                plugin.log.level = level_name,
                plugin.log.fields = %fields,
                "{}",
                message
            );
        }
        match level {
            log::Level::Trace => plugin_event!(tracing::Level::TRACE, self, fields, message),
            log::Level::Debug => plugin_event!(tracing::Level::DEBUG, self, fields, message),
            log::Level::Info => plugin_event!(tracing::Level::INFO, self, fields, message),
            log::Level::Warn => plugin_event!(tracing::Level::WARN, self, fields, message),
            log::Level::Error => plugin_event!(tracing::Level::ERROR, self, fields, message),
        }
    }
}
