//! The `http` and `log` imports of the frozen 0.1.0 and 0.2.0 contracts: the same shapes as
//! 0.3.0's under another package version, so one adapter, stamped out per version, converts
//! field by field and delegates to the 0.3.0 implementations in `runtime::host_imports`.

/// Implements `http::Host` and `log::Host` of an older contract for `CallState`. Invoke it
/// where `http` and `log` name that version's interface modules.
macro_rules! serve_older_http_and_log {
    () => {
        impl http::Host for CallState {
            async fn send(
                &mut self,
                request: http::Request,
            ) -> Result<http::Response, http::HttpError> {
                wit::http::Host::send(self, request_to_current(request))
                    .await
                    .map(response_from_current)
                    .map_err(error_from_current)
            }

            async fn send_many(
                &mut self,
                requests: Vec<http::Request>,
            ) -> Vec<Result<http::Response, http::HttpError>> {
                let requests = requests.into_iter().map(request_to_current).collect();
                wit::http::Host::send_many(self, requests)
                    .await
                    .into_iter()
                    .map(|result| {
                        result
                            .map(response_from_current)
                            .map_err(error_from_current)
                    })
                    .collect()
            }
        }

        fn request_to_current(request: http::Request) -> wit::http::Request {
            use wit::http::{Auth, Method};
            wit::http::Request {
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
                auth: match request.auth {
                    http::Auth::None => Auth::None,
                    http::Auth::Connection => Auth::Connection,
                },
                timeout_ms: request.timeout_ms,
            }
        }

        fn response_from_current(response: wit::http::Response) -> http::Response {
            http::Response {
                status: response.status,
                headers: response.headers,
                body: response.body,
            }
        }

        fn error_from_current(error: wit::http::HttpError) -> http::HttpError {
            use wit::http::HttpError as Current;
            match error {
                Current::Denied(message) => http::HttpError::Denied(message),
                Current::InvalidRequest(message) => http::HttpError::InvalidRequest(message),
                Current::Timeout => http::HttpError::Timeout,
                Current::ConnectionFailed(message) => http::HttpError::ConnectionFailed(message),
                Current::TooLarge(max) => http::HttpError::TooLarge(max),
                Current::BudgetExhausted => http::HttpError::BudgetExhausted,
            }
        }

        impl log::Host for CallState {
            async fn log(
                &mut self,
                level: log::Level,
                message: String,
                fields: Vec<(String, String)>,
            ) {
                use wit::connector::plugin::log::Level;
                let level = match level {
                    log::Level::Trace => Level::Trace,
                    log::Level::Debug => Level::Debug,
                    log::Level::Info => Level::Info,
                    log::Level::Warn => Level::Warn,
                    log::Level::Error => Level::Error,
                };
                wit::connector::plugin::log::Host::log(self, level, message, fields).await
            }
        }
    };
}

pub(crate) use serve_older_http_and_log;
