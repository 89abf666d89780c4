//! What a statement may do, decided before it reaches the database by PostgreSQL's own parser
//! (libpg_query, through the `pg_query` crate), never by matching text: a comment, a quoted
//! identifier or a dollar-quoted string cannot hide anything from it.
//!
//! A read-only transaction alone is not a boundary: it still lets a statement write large
//! objects (`lo_from_bytea`, `lo_put`, `lo_unlink`), end other sessions
//! (`pg_terminate_backend`), write through a second session (`dblink_exec`), or, with a
//! privileged login, run programs and write files (`COPY ... TO PROGRAM`). So:
//! - **always**, one statement per call, and none of the statement kinds or functions that
//!   reach beyond the statement's own transaction: server files and programs (`COPY`,
//!   `pg_read_file`, `lo_import`/`lo_export`, ...), other sessions and the server
//!   (`pg_terminate_backend`, `pg_reload_conf`, `dblink*`, `ALTER SYSTEM`, `LOAD`, `DO`),
//!   and session state that would outlive the call (`SET`, `LISTEN`, `PREPARE`, cursors,
//!   session advisory locks, `set_config`);
//! - **without `allow_writes`**, only `SELECT` (with `VALUES`, `WITH`, set operations),
//!   `EXPLAIN` of one and `SHOW`; no data-modifying `WITH`, `SELECT INTO` or row locks; and
//!   none of the functions that change data anyway (large objects, sequences, `pg_notify`,
//!   statistics resets).
//!
//! What this does not cover: the body of a function the database defines (a PL/pgSQL
//! function the login may call runs as written; PostgreSQL's read-only transaction still
//! stops its table writes). The host also refuses logins that are superusers or members of
//! `pg_execute_server_program`, `pg_write_server_files` or `pg_read_server_files` unless the
//! operator allows them (`sql.allow_privileged_roles`).

use serde_json::Value as Json;

use super::SqlError;

/// Statement kinds (libpg_query node names) refused with or without writes.
const NEVER_KINDS: &[&str] = &[
    "CopyStmt",
    "DoStmt",
    "LoadStmt",
    "AlterSystemStmt",
    "CheckPointStmt",
    "VariableSetStmt",
    "ListenStmt",
    "UnlistenStmt",
    "NotifyStmt",
    "TransactionStmt",
    "PrepareStmt",
    "ExecuteStmt",
    "DeallocateStmt",
    "DeclareCursorStmt",
    "ClosePortalStmt",
    "FetchStmt",
    "DiscardStmt",
    "CreateRoleStmt",
    "AlterRoleStmt",
    "AlterRoleSetStmt",
    "DropRoleStmt",
    "GrantRoleStmt",
    "AlterDatabaseSetStmt",
    "CreateSubscriptionStmt",
    "AlterSubscriptionStmt",
    "CreateForeignServerStmt",
    "AlterForeignServerStmt",
    "CreateUserMappingStmt",
    "AlterUserMappingStmt",
    "CreateExtensionStmt",
];

/// The statement kinds a read-only connection runs (anything else named `...Stmt` anywhere in
/// the tree is refused, which catches data-modifying `WITH` and `EXPLAIN ANALYZE` of a write).
const READ_KINDS: &[&str] = &["SelectStmt", "ExplainStmt", "VariableShowStmt"];

/// Functions refused with or without writes: files and programs on the server, other
/// sessions and the server itself, connections elsewhere, session state.
const NEVER_FUNCTIONS: &[&str] = &[
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "pg_ls_logdir",
    "pg_ls_waldir",
    "pg_ls_tmpdir",
    "pg_ls_archive_statusdir",
    "pg_ls_logicalmapdir",
    "pg_ls_logicalsnapdir",
    "pg_ls_replslotdir",
    "pg_ls_summariesdir",
    "pg_file_write",
    "pg_file_rename",
    "pg_file_unlink",
    "pg_file_sync",
    "pg_logdir_ls",
    "lo_import",
    "lo_export",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_log_backend_memory_contexts",
    "pg_promote",
    "pg_switch_wal",
    "pg_create_restore_point",
    "pg_backup_start",
    "pg_backup_stop",
    "pg_create_physical_replication_slot",
    "pg_create_logical_replication_slot",
    "pg_drop_replication_slot",
    "pg_copy_physical_replication_slot",
    "pg_copy_logical_replication_slot",
    "pg_logical_emit_message",
    "pg_wal_replay_pause",
    "pg_wal_replay_resume",
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    "set_config",
    "pg_advisory_lock",
    "pg_advisory_lock_shared",
    "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared",
    "pg_advisory_unlock",
    "pg_advisory_unlock_shared",
    "pg_advisory_unlock_all",
];

/// Prefixes of function families refused with or without writes.
const NEVER_PREFIXES: &[&str] = &["dblink", "pg_replication_origin_"];

/// Functions that change data although a read-only transaction lets them run (or that take
/// locks or wake other sessions), refused without writes.
const WRITE_FUNCTIONS: &[&str] = &[
    "loread",
    "lowrite",
    "nextval",
    "setval",
    "pg_notify",
    "txid_current",
    "pg_current_xact_id",
    "pg_advisory_xact_lock",
    "pg_advisory_xact_lock_shared",
    "pg_try_advisory_xact_lock",
    "pg_try_advisory_xact_lock_shared",
    "pg_stat_statements_reset",
];

/// Prefixes of function families refused without writes (every large-object function,
/// statistics resets).
const WRITE_PREFIXES: &[&str] = &["lo_", "pg_stat_reset"];

/// Checks one statement against the boundary of a connection with or without `writes`.
pub fn check(text: &str, writes: bool) -> Result<(), SqlError> {
    let parsed = pg_query::parse(text, 0).map_err(|error| {
        SqlError::InvalidStatement(format!("PostgreSQL's parser refused it: {error}"))
    })?;
    if parsed.protobuf.stmts.len() != 1 {
        return Err(SqlError::InvalidStatement(format!(
            "one statement at a time ({} given)",
            parsed.protobuf.stmts.len()
        )));
    }
    // The whole tree, every field: pg_query's own walker skips some (a `LIMIT` expression).
    let tree = serde_json::to_value(&parsed.protobuf)
        .map_err(|error| SqlError::InvalidStatement(format!("the parse tree: {error}")))?;
    let mut found = Found::default();
    walk(&tree, &mut found);
    let denied = |why: String| Err(SqlError::Denied(why));
    if let Some(kind) = found
        .kinds
        .iter()
        .find(|k| NEVER_KINDS.contains(&k.as_str()))
    {
        return denied(format!(
            "`{}` reaches beyond the statement's own transaction; the host does not run it",
            statement_name(kind)
        ));
    }
    for function in &found.functions {
        if NEVER_FUNCTIONS.contains(&function.as_str())
            || NEVER_PREFIXES.iter().any(|p| function.starts_with(p))
        {
            return denied(format!(
                "`{function}` reaches server files, other sessions or session state; the host \
                 does not run it"
            ));
        }
    }
    if writes {
        return Ok(());
    }
    let needs_writes = |what: String| {
        denied(format!(
            "{what} needs a connection that allows writes (config `allow_writes`)"
        ))
    };
    if let Some(kind) = found
        .kinds
        .iter()
        .find(|k| !READ_KINDS.contains(&k.as_str()))
    {
        return needs_writes(format!("`{}`", statement_name(kind)));
    }
    if found.select_into {
        return needs_writes("`SELECT ... INTO`".into());
    }
    if found.row_locks {
        return needs_writes("`SELECT ... FOR UPDATE/SHARE`".into());
    }
    for function in &found.functions {
        if WRITE_FUNCTIONS.contains(&function.as_str())
            || WRITE_PREFIXES.iter().any(|p| function.starts_with(p))
        {
            return needs_writes(format!("`{function}`"));
        }
    }
    Ok(())
}

/// What the walk found in a parse tree.
#[derive(Default)]
struct Found {
    /// Every node named `...Stmt`.
    kinds: Vec<String>,
    /// Every function called, by its last name, lower-cased (quoted or schema-qualified names
    /// are refused like plain ones).
    functions: Vec<String>,
    select_into: bool,
    row_locks: bool,
}

fn walk(value: &Json, found: &mut Found) {
    match value {
        Json::Object(map) => {
            for (key, inner) in map {
                if key.ends_with("Stmt") && key.chars().next().is_some_and(char::is_uppercase) {
                    found.kinds.push(key.clone());
                    if key == "SelectStmt" {
                        found.select_into |= inner.get("into_clause").is_some_and(|v| !v.is_null());
                        found.row_locks |= inner
                            .get("locking_clause")
                            .and_then(Json::as_array)
                            .is_some_and(|locks| !locks.is_empty());
                    }
                }
                if key == "FuncCall"
                    && let Some(name) = function_name(inner)
                {
                    found.functions.push(name);
                }
                walk(inner, found);
            }
        }
        Json::Array(items) => items.iter().for_each(|item| walk(item, found)),
        _ => {}
    }
}

/// The last part of a `FuncCall`'s name, lower-cased.
fn function_name(call: &Json) -> Option<String> {
    call.get("funcname")?
        .as_array()?
        .iter()
        .filter_map(|part| part.pointer("/node/String/sval")?.as_str())
        .next_back()
        .map(str::to_lowercase)
}

/// `CopyStmt` as the SQL a reader knows: `COPY`.
fn statement_name(kind: &str) -> String {
    let known = [
        ("CopyStmt", "COPY"),
        ("DoStmt", "DO"),
        ("LoadStmt", "LOAD"),
        ("AlterSystemStmt", "ALTER SYSTEM"),
        ("VariableSetStmt", "SET"),
        ("ListenStmt", "LISTEN"),
        ("NotifyStmt", "NOTIFY"),
        ("TransactionStmt", "BEGIN/COMMIT/ROLLBACK"),
        ("InsertStmt", "INSERT"),
        ("UpdateStmt", "UPDATE"),
        ("DeleteStmt", "DELETE"),
        ("MergeStmt", "MERGE"),
        ("CallStmt", "CALL"),
        ("CreateStmt", "CREATE TABLE"),
        ("CreateTableAsStmt", "CREATE TABLE AS"),
    ];
    known.iter().find(|(node, _)| *node == kind).map_or_else(
        || kind.trim_end_matches("Stmt").to_owned(),
        |(_, sql)| (*sql).to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str, writes: bool) -> String {
        match check(text, writes) {
            Err(SqlError::Denied(why)) => why,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn reads_pass_without_writes() {
        for text in [
            "SELECT 1",
            "SELECT c.relname FROM pg_catalog.pg_class c WHERE has_table_privilege(c.oid, 'SELECT')",
            "WITH x AS (SELECT 1 AS n) SELECT n FROM x UNION ALL SELECT 2",
            "VALUES (1), (2)",
            "EXPLAIN SELECT * FROM t",
            "SHOW server_version",
            "SELECT pg_sleep(1)",
            "SELECT 'lo_unlink(1)' AS text_not_a_call -- lo_put(1, 0, 'x')",
        ] {
            assert!(
                check(text, false).is_ok(),
                "{text}: {:?}",
                check(text, false)
            );
        }
    }

    #[test]
    fn what_read_only_transactions_let_through_is_refused() {
        for text in [
            "SELECT lo_from_bytea(0, 'x')",
            "SELECT lo_put(16385, 0, 'x')",
            "SELECT lo_unlink(16385)",
            "SELECT * FROM pg_catalog.lo_from_bytea(0, 'x')",
            "SELECT \"LO_UNLINK\"(1)",
            "SELECT 1 LIMIT lo_unlink(16385)",
            "SELECT 1 WHERE EXISTS (SELECT lo_create(0))",
            "WITH x AS (SELECT lo_put(1, 0, 'x')) SELECT * FROM x",
            "SELECT nextval('s')",
            "SELECT pg_notify('c', 'x')",
            "WITH gone AS (DELETE FROM t RETURNING id) SELECT count(*) FROM gone",
            "SELECT 1 INTO new_table",
            "SELECT * FROM t FOR UPDATE",
            "INSERT INTO t VALUES (1)",
            "EXPLAIN ANALYZE DELETE FROM t",
            "CALL p()",
        ] {
            let why = refused(text, false);
            assert!(why.contains("allow_writes"), "{text}: {why}");
        }
    }

    #[test]
    fn what_reaches_beyond_the_transaction_is_refused_even_with_writes() {
        for text in [
            "COPY t TO PROGRAM 'id'",
            "COPY (SELECT 1) TO '/tmp/x'",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity",
            "SELECT pg_cancel_backend(1)",
            "SELECT dblink_exec('dbname=x', 'DELETE FROM t')",
            "SELECT * FROM dblink('dbname=x', 'SELECT 1') AS t(n int)",
            "SELECT pg_read_file('/etc/passwd')",
            "SELECT lo_import('/etc/passwd')",
            "SELECT lo_export(1, '/tmp/x')",
            "SELECT query_to_xml('DELETE FROM t', true, true, '')",
            "SELECT set_config('search_path', 'evil', false)",
            "SELECT pg_advisory_lock(1)",
            "SET search_path = evil",
            "LISTEN c",
            "DO $$ BEGIN PERFORM 1; END $$",
            "ALTER SYSTEM SET work_mem = '1GB'",
            "LOAD 'evil'",
            "COMMIT",
            "PREPARE p AS SELECT 1",
            "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        ] {
            let why = refused(text, true);
            assert!(!why.contains("allow_writes"), "{text}: {why}");
        }
    }

    #[test]
    fn writes_pass_where_allowed() {
        assert!(check("INSERT INTO t (a) VALUES ($1) RETURNING id", true).is_ok());
        assert!(check("SELECT nextval('s')", true).is_ok());
    }

    #[test]
    fn several_statements_or_unparsable_text_are_refused() {
        assert!(matches!(
            check("SELECT 1; SELECT lo_unlink(1)", false),
            Err(SqlError::InvalidStatement(_))
        ));
        assert!(matches!(
            check("SELEC 1", false),
            Err(SqlError::InvalidStatement(_))
        ));
        assert!(matches!(
            check("SELECT 1\0", false),
            Err(SqlError::InvalidStatement(_))
        ));
    }
}
