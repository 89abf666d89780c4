//! Which traces are kept. A trace started here is kept by its (random) trace id, the SDK's
//! ratio sampler; a trace continued from a client's sampled `traceparent` is kept by the host's
//! own random draw at the same ratio, because the client chose that id: ids picked to fall
//! under the threshold would otherwise make every request of an unauthenticated flood
//! exported at any ratio.

use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{
    ParentBasedSampler, Sampler, SamplingDecision, SamplingResult, ShouldSample,
};

/// The host's sampler for `ratio` (0.0 to 1.0): local parents are followed as the
/// specification says (a child of a kept span is kept).
pub fn for_ratio(ratio: f64) -> ParentBasedSampler {
    Sampler::parent_based(Sampler::TraceIdRatioBased(ratio))
        .with_remote_parent_sampled(RandomDraw { ratio })
}

/// Keeps a span with probability `ratio`, whatever its trace id.
#[derive(Debug, Clone)]
struct RandomDraw {
    ratio: f64,
}

impl ShouldSample for RandomDraw {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let keep = self.ratio >= 1.0
            || (self.ratio > 0.0 && {
                let draw = getrandom::u64().unwrap_or(u64::MAX);
                (draw as f64) < self.ratio * (u64::MAX as f64)
            });
        SamplingResult {
            decision: if keep {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            },
            attributes: Vec::new(),
            trace_state: parent_context
                .map(|cx| cx.span().span_context().trace_state().clone())
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceState};

    use super::*;

    fn remote_parent(trace_id: TraceId) -> Context {
        Context::new().with_remote_span_context(SpanContext::new(
            trace_id,
            SpanId::from_bytes([1; 8]),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ))
    }

    fn kept(sampler: &ParentBasedSampler, parent: Option<&Context>, trace_id: TraceId) -> bool {
        sampler
            .should_sample(parent, trace_id, "span", &SpanKind::Server, &[], &[])
            .decision
            == SamplingDecision::RecordAndSample
    }

    #[test]
    fn a_client_cannot_pick_trace_ids_that_are_always_kept() {
        let sampler = for_ratio(0.01);
        // The ratio sampler keeps an id whose low 64 bits are under the threshold: this one
        // would be kept every time if the client's id decided.
        let mut bytes = [0; 16];
        bytes[0] = 1; // valid, and its low 64 bits (what the ratio sampler reads) are zero
        let chosen = TraceId::from_bytes(bytes);
        let roots = (0..1000).filter(|_| kept(&sampler, None, chosen)).count();
        assert_eq!(roots, 1000, "the ratio sampler alone keeps it");
        let parent = remote_parent(chosen);
        let continued = (0..1000)
            .filter(|_| kept(&sampler, Some(&parent), chosen))
            .count();
        assert!(continued < 100, "kept {continued} of 1000 at 1%");
    }

    #[test]
    fn the_ratio_bounds_keep_all_or_none() {
        let parent = remote_parent(TraceId::from_bytes([7; 16]));
        assert!(kept(
            &for_ratio(1.0),
            Some(&parent),
            TraceId::from_bytes([7; 16])
        ));
        assert!(!kept(
            &for_ratio(0.0),
            Some(&parent),
            TraceId::from_bytes([7; 16])
        ));
    }
}
