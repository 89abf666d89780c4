//! A restart loads plugins from the compile cache instead of recompiling them.

use connector_host::runtime::{CompileSource, Runtime};
use connector_tests::harness;

#[tokio::test]
async fn a_second_runtime_reuses_the_compiled_artifact() {
    let cache = tempfile::tempdir().unwrap();
    let path = harness::plugin_path("probe");

    let first = harness::runtime(
        harness::loopback_policy(),
        harness::test_limits(),
        Some(cache.path().to_owned()),
    );
    let compiled = first.load_file(&path).await.unwrap();
    assert_eq!(compiled.compiled, CompileSource::Compiled);
    drop(first);

    let restarted = harness::runtime(
        harness::loopback_policy(),
        harness::test_limits(),
        Some(cache.path().to_owned()),
    );
    let cached = restarted.load_file(&path).await.unwrap();
    assert_eq!(
        cached.compiled,
        CompileSource::Cache,
        "no recompilation after a restart"
    );
    assert_eq!(cached.sha256, compiled.sha256);
}

#[tokio::test]
async fn a_corrupt_cache_entry_is_recompiled_not_trusted() {
    let cache = tempfile::tempdir().unwrap();
    let path = harness::plugin_path("probe");
    let first = harness::runtime(
        harness::loopback_policy(),
        harness::test_limits(),
        Some(cache.path().to_owned()),
    );
    first.load_file(&path).await.unwrap();
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"not machine code").unwrap();
    }
    let again = harness::runtime(
        harness::loopback_policy(),
        harness::test_limits(),
        Some(cache.path().to_owned()),
    );
    let plugin = again.load_file(&path).await.unwrap();
    assert_eq!(plugin.compiled, CompileSource::Compiled);
}

#[tokio::test]
async fn a_planted_artifact_never_runs_it_is_discarded_and_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let first = harness::runtime(
        harness::loopback_policy(),
        harness::test_limits(),
        Some(cache.path().to_owned()),
    );
    let probe = first
        .load_file(&harness::plugin_path("probe"))
        .await
        .unwrap();
    let legacy = first
        .load_file(&harness::plugin_path("legacy"))
        .await
        .unwrap();
    drop(first);
    // Plant the legacy fixture's machine code (and its valid MAC file) under the probe's name.
    let named = |plugin: &connector_host::runtime::Plugin, ext: &str| {
        std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with(&plugin.sha256) && name.ends_with(ext)
            })
            .unwrap()
    };
    for ext in [".cwasm", ".cwasm.mac"] {
        std::fs::copy(named(&legacy, ext), named(&probe, ext)).unwrap();
    }
    let again = harness::runtime(
        harness::loopback_policy(),
        harness::test_limits(),
        Some(cache.path().to_owned()),
    );
    let loaded = again
        .load_file(&harness::plugin_path("probe"))
        .await
        .unwrap();
    assert_eq!(loaded.id(), "probe", "the planted code never ran");
    assert_eq!(
        loaded.compiled,
        CompileSource::Compiled,
        "recompiled from the wasm"
    );

    // An artifact MAC'd under another key is not trusted either.
    let other_key = connector_host::runtime::RuntimeOptions {
        limits: harness::test_limits(),
        cache_dir: Some(cache.path().to_owned()),
        cache_key: Some(connector_host::runtime::CacheKey::new(
            zeroize::Zeroizing::new([7u8; 32]),
        )),
        ..Default::default()
    };
    let foreign = Runtime::new(
        other_key,
        connector_host::egress::EgressClient::new(harness::loopback_policy()).unwrap(),
    )
    .unwrap();
    let loaded = foreign
        .load_file(&harness::plugin_path("probe"))
        .await
        .unwrap();
    assert_eq!(loaded.compiled, CompileSource::Compiled);
}

#[cfg(unix)]
#[tokio::test]
async fn the_cache_dir_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("cache");
    let runtime = harness::runtime(
        harness::loopback_policy(),
        harness::test_limits(),
        Some(dir.clone()),
    );
    runtime
        .load_file(&harness::plugin_path("probe"))
        .await
        .unwrap();
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}
