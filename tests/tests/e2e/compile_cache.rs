//! A restart loads plugins from the compile cache instead of recompiling them.

use connector_host::runtime::CompileSource;
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
