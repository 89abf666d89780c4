//! Hostile plugins are stopped with the right typed fault, and the host keeps serving other
//! calls while they run.

use std::time::{Duration, Instant};

use connector_host::runtime::{CallError, FaultCause, Operation};

use super::{ProbeSetup, fault_code, page};

#[tokio::test]
async fn an_infinite_loop_hits_the_deadline_while_other_calls_go_on() {
    let setup = ProbeSetup::start().await;
    let spinning = {
        let runtime = setup.runtime.clone();
        let context = setup.context();
        tokio::spawn(async move {
            let started = Instant::now();
            let op = Operation::Search {
                query: "spin".into(),
                page: page(None, 1),
            };
            (runtime.call("probe", context, op).await, started.elapsed())
        })
    };
    // While the guest spins, other calls on the same plugin are answered.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..5 {
        let op = Operation::Containers {
            parent: None,
            page: page(None, 2),
        };
        setup
            .runtime
            .call("probe", setup.context(), op)
            .await
            .expect("served while another call spins");
    }
    assert!(
        !spinning.is_finished(),
        "the spinning call is still running meanwhile"
    );
    let (result, elapsed) = spinning.await.unwrap();
    let error = result.unwrap_err();
    assert_eq!(fault_code(&error), "deadline", "{error}");
    assert!(
        elapsed < Duration::from_secs(10),
        "stopped near its 3 s deadline, took {elapsed:?}"
    );
}

#[tokio::test]
async fn a_memory_bomb_hits_the_memory_cap() {
    let setup = ProbeSetup::start().await;
    let error = setup.command(setup.context(), "hog").await.unwrap_err();
    assert!(
        matches!(&error, CallError::Fault { cause: FaultCause::MemoryLimit { bytes }, .. } if *bytes == 32 << 20),
        "{error:?}"
    );
    let op = Operation::Containers {
        parent: None,
        page: page(None, 2),
    };
    setup
        .runtime
        .call("probe", setup.context(), op)
        .await
        .expect("the next call gets a fresh sandbox");
}

#[tokio::test]
async fn deep_recursion_overflows_the_stack_and_is_contained() {
    let setup = ProbeSetup::start().await;
    let error = setup.command(setup.context(), "recurse").await.unwrap_err();
    assert_eq!(fault_code(&error), "stack_overflow", "{error}");
}

#[tokio::test]
async fn a_panic_becomes_a_fault_carrying_its_message() {
    let setup = ProbeSetup::start().await;
    let error = setup.command(setup.context(), "panic").await.unwrap_err();
    match &error {
        CallError::Fault {
            plugin,
            cause: FaultCause::Panic { message },
        } => {
            assert_eq!(plugin, "probe");
            assert!(message.contains("probe panicked on purpose"), "{message}");
        }
        other => panic!("expected a panic fault, got {other:?}"),
    }
}

#[tokio::test]
async fn a_request_flood_exhausts_the_per_call_budget() {
    let setup = ProbeSetup::start().await;
    let url = format!("{}/ok", setup.vendor.origin());
    let error = setup
        .command(setup.context(), &format!("burst:20:{url}"))
        .await
        .unwrap_err();
    assert_eq!(fault_code(&error), "request_budget", "{error}");
    assert_eq!(
        setup.vendor.recorder.to_path("/ok").len(),
        5,
        "no request past the budget left the host"
    );
}

#[tokio::test]
async fn send_many_fans_out_within_the_budget() {
    let setup = ProbeSetup::start().await;
    let url = format!("{}/ok", setup.vendor.origin());
    let body = setup
        .command(setup.context(), &format!("many:4:{url}"))
        .await
        .unwrap();
    assert_eq!(body, "4 of 4 ok");
    let error = setup
        .command(setup.context(), &format!("many:8:{url}"))
        .await
        .unwrap();
    assert_eq!(
        error, "5 of 8 ok",
        "requests over the budget are refused, not sent"
    );
}

#[tokio::test]
async fn a_response_over_the_cap_is_refused_with_or_without_content_length() {
    let setup = ProbeSetup::start().await;
    let origin = setup.vendor.origin();
    for url in [
        format!("{origin}/big?bytes=200000"),
        format!("{origin}/big?bytes=200000&chunked=1"),
    ] {
        let error = setup
            .command(setup.context(), &format!("get:{url}"))
            .await
            .unwrap_err();
        assert_eq!(fault_code(&error), "response_too_large", "{url}: {error}");
    }
    let small = setup
        .command(setup.context(), &format!("get:{origin}/big?bytes=1000"))
        .await
        .unwrap();
    assert_eq!(small.len(), 1000);
}

#[tokio::test]
async fn a_stalled_vendor_is_cut_off_at_the_call_deadline() {
    let setup = ProbeSetup::start().await;
    let started = Instant::now();
    let result = setup
        .command(
            setup.context(),
            &format!("get:{}/slow", setup.vendor.origin()),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    // The host clamps the request to the call's remaining time: the guest sees a timeout and
    // reports it as a transient vendor error, or the whole call hits its deadline.
    match result {
        Err(CallError::Connector(_)) => {}
        Err(error) => assert_eq!(fault_code(&error), "deadline", "{error}"),
        Ok(body) => panic!("the stalled request answered: {body}"),
    }
}

#[tokio::test]
async fn a_log_flood_is_rate_limited_not_fatal() {
    let setup = ProbeSetup::start().await;
    assert_eq!(
        setup.command(setup.context(), "chatter").await.unwrap(),
        "chattered"
    );
}
