//! What one plugin call may still spend on the network, shared by every request it sends (one
//! `send`, the requests of a `send-many` in flight together, and each redirect hop): a count of
//! requests and a total of response bytes, both taken while reading, so a fan-out of many large
//! answers stops at the call's budget instead of being buffered first.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A call's remaining requests and response bytes.
#[derive(Debug)]
pub struct EgressBudget {
    requests_left: AtomicU32,
    bytes_left: AtomicU64,
    /// The request count it started with, for what was spent.
    request_limit: u32,
    /// The byte total it started with, for error messages.
    byte_limit: u64,
}

impl EgressBudget {
    /// A budget of `requests` requests and `bytes` bytes of response bodies.
    pub fn new(requests: u32, bytes: u64) -> Self {
        Self {
            requests_left: AtomicU32::new(requests),
            bytes_left: AtomicU64::new(bytes),
            request_limit: requests,
            byte_limit: bytes,
        }
    }

    /// For the host's own requests (token endpoints), which are bounded otherwise.
    pub fn unlimited() -> Self {
        Self::new(u32::MAX, u64::MAX)
    }

    /// Takes one request (or redirect hop); `false` when none is left.
    pub fn take_request(&self) -> bool {
        self.requests_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }

    /// Takes `bytes` of response; `false` when that would go past the total.
    pub fn take_bytes(&self, bytes: u64) -> bool {
        self.bytes_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(bytes)
            })
            .is_ok()
    }

    /// Requests (and redirect hops) taken so far.
    pub fn requests_taken(&self) -> u32 {
        self.request_limit - self.requests_left.load(Ordering::SeqCst)
    }

    /// Response bytes taken so far.
    pub fn bytes_taken(&self) -> u64 {
        self.byte_limit - self.bytes_left.load(Ordering::SeqCst)
    }

    /// The total response bytes of the call.
    pub fn byte_limit(&self) -> u64 {
        self.byte_limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_bytes_run_out_and_stay_out() {
        let budget = EgressBudget::new(2, 100);
        assert!(budget.take_request() && budget.take_request());
        assert!(!budget.take_request());
        assert!(budget.take_bytes(60));
        assert!(!budget.take_bytes(41), "past the total");
        assert!(budget.take_bytes(40), "a refused take spends nothing");
        assert!(!budget.take_bytes(1));
        assert_eq!((budget.requests_taken(), budget.bytes_taken()), (2, 100));
    }
}
