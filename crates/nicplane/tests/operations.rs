//! Operating the server: shell completions, the config file's precedence
//! (flag > env > file > default) and its errors, and backup and restore of
//! the SQLite store while the server takes writes.

mod common;

use common::*;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Run the binary with `args`, without any NICPLANE_ setting but the ones given.
fn nicplane(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nicplane"));
    for (k, _) in std::env::vars() {
        if k.starts_with("NICPLANE_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).envs(env.iter().copied());
    cmd.output().expect("run nicplane")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Write `text` as `nicplane.toml` in a fresh directory; return its path.
fn config_file(text: &str) -> String {
    let path = temp_dir("cfg").join("nicplane.toml");
    std::fs::write(&path, text).expect("write config");
    path.to_string_lossy().into_owned()
}

/// The name of the data center the server's bootstrap created.
fn data_center_name(s: &Server) -> String {
    let dcs = s.admin().data_centers().expect("data centers");
    assert_eq!(dcs.len(), 1);
    dcs[0].name.clone()
}

// ----- completions ----------------------------------------------------------

#[test]
fn completions_name_the_real_subcommands_in_every_shell() {
    for (shell, marker, option) in [
        ("bash", "complete -F _nicplane", "--config-file"),
        ("zsh", "#compdef nicplane", "--config-file"),
        ("fish", "complete -c nicplane", "-l config-file"),
    ] {
        let o = nicplane(&["completions", shell], &[]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        assert!(script.contains(marker), "{shell} script lacks {marker}");
        // Subcommands and a nested one, as each shell spells them.
        for word in ["serve", "backup", "restore", "public-ip", "security-group"] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
        assert!(script.contains(option), "{shell}: serve's options");
    }
    let dir = temp_dir("completions");
    let path = dir.join("nicplane.bash");
    std::fs::write(&path, stdout(&nicplane(&["completions", "bash"], &[]))).unwrap();
    let check = Command::new("bash")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("run bash");
    assert!(
        check.status.success(),
        "bash -n refused the script: {}",
        stderr(&check)
    );
}

#[test]
fn completions_refuse_an_unknown_shell() {
    let o = nicplane(&["completions", "tcsh"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: invalid value 'tcsh' for '<SHELL>'"),
        "{}",
        stderr(&o)
    );
}

// ----- config file precedence ----------------------------------------------

#[test]
fn config_file_beats_default() {
    let file = config_file("data-center = \"file-dc\"\n");
    let s = Server::start(&["--config-file", &file]);
    assert_eq!(data_center_name(&s), "file-dc");
}

#[test]
fn env_beats_config_file() {
    // The file named by its variable rather than the flag.
    let file = config_file("data-center = \"file-dc\"\n");
    let s = Server::start_in_env(
        temp_dir("srv"),
        &[],
        &[
            ("NICPLANE_CONFIG_FILE", Some(&file)),
            ("NICPLANE_DATA_CENTER", Some("env-dc")),
        ],
    );
    assert_eq!(data_center_name(&s), "env-dc");
}

#[test]
fn flag_beats_env_and_config_file() {
    let file = config_file("data-center = \"file-dc\"\n");
    let s = Server::start_in_env(
        temp_dir("srv"),
        &["--config-file", &file, "--data-center", "flag-dc"],
        &[("NICPLANE_DATA_CENTER", Some("env-dc"))],
    );
    assert_eq!(data_center_name(&s), "flag-dc");
}

#[test]
fn config_file_sets_lists_and_flags() {
    // A list (repeatable option) and a boolean flag from the file.
    let file = config_file(
        "data-center = \"lists\"\nquota-default = [\"network=7\", \"port=9\"]\ndemo = true\n",
    );
    let s = Server::start(&["--config-file", &file]);
    let admin = s.admin();
    let projects = admin.projects().expect("projects");
    assert!(
        projects.iter().any(|p| p.name == "demo"),
        "demo = true seeds the demo project"
    );
    let project = admin
        .project_create("quota-from-file")
        .unwrap()
        .id
        .to_string();
    let q = admin.quota_show(&project).expect("quota");
    let limit = |r: &str| {
        q.quotas
            .iter()
            .find(|u| u.resource.to_string() == r)
            .map(|u| u.limit)
    };
    assert_eq!(limit("network"), Some(7));
    assert_eq!(limit("port"), Some(9));
    assert_eq!(limit("subnet"), Some(100), "unset keys keep their default");
}

#[test]
fn the_example_config_file_starts_a_server() {
    // dist/nicplane.toml as shipped; the harness's flags (listen, data-dir)
    // override its system paths, as flags do.
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../dist/nicplane.toml");
    let s = Server::start(&["--config-file", file]);
    assert_eq!(data_center_name(&s), "dc1");
}

#[test]
fn unknown_key_in_config_file_is_a_startup_error() {
    let file = config_file("listen = \"127.0.0.1:0\"\nlisen = \"127.0.0.1:0\"\n");
    let o = nicplane(&["serve", "--config-file", &file], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!("error: config file {file}: unknown key `lisen` (the keys are the long options of `nicplane serve`)\n")
    );
}

#[test]
fn bad_value_in_config_file_names_the_key() {
    for (text, message) in [
        (
            "interface-limit = 0\n",
            "invalid value '0' for key `interface-limit`: must be at least 1",
        ),
        (
            "interface-limit = \"five\"\n",
            "invalid value 'five' for key `interface-limit`: 'five' is not a whole number",
        ),
        (
            "sqlite-synchronous = \"off\"\n",
            "invalid value 'off' for key `sqlite-synchronous`: Invalid value for sqlite synchronous: 'off' is not one of full, normal.",
        ),
        (
            "quota-default = [\"port=many\"]\n",
            "invalid value 'port=many' for key `quota-default`: the quota of port must be an integer, got many",
        ),
        ("demo = \"yes\"\n", "the key `demo` takes true or false"),
        (
            "listen = [\"127.0.0.1:1\"]\n",
            "the key `listen` takes one value, not a list",
        ),
    ] {
        let file = config_file(text);
        let o = nicplane(&["serve", "--config-file", &file], &[]);
        assert_eq!(o.status.code(), Some(2), "{text}");
        assert_eq!(
            stderr(&o),
            format!("error: config file {file}: {message}\n"),
            "{text}"
        );
    }
}

#[test]
fn bad_value_in_environment_is_not_hidden_by_the_file() {
    // The variable wins over the file, so its bad value is the one refused.
    let file = config_file("interface-limit = 3\n");
    let o = nicplane(
        &["serve", "--config-file", &file],
        &[("NICPLANE_INTERFACE_LIMIT", "0")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with(
            "error: invalid value '0' for '--interface-limit <INTERFACE_LIMIT>': must be at least 1\n"
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn serve_refuses_the_cli_session_flag() {
    let file = config_file("data-center = \"x\"\n");
    let o = nicplane(&["serve", "--config", &file], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: serve reads its settings from --config-file FILE; --config names the CLI's session file\n"
    );
}

// ----- backup and restore ---------------------------------------------------

/// Writer threads, each creating VMs until told to stop (at most this many).
const WRITERS: usize = 4;
const WRITES_PER_WRITER: usize = 150;
/// Writes acknowledged before the backup starts.
const WRITES_BEFORE_BACKUP: usize = 40;

fn integrity(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).expect("open restored db");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

#[test]
fn backup_under_write_load_restores_every_acknowledged_write() {
    let s = Server::start_in_sqlite(temp_dir("srv"), &[]);
    let t = tenant(&s, "bk");
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (acked, stop) = (acked.clone(), stop.clone());
            let mut c = s.client();
            c.login("bk-power", PASSWORD).expect("login");
            let (project, dc) = (t.project.clone(), t.dc.clone());
            std::thread::spawn(move || {
                for i in 0..WRITES_PER_WRITER {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let name = format!("w{w}-{i}");
                    c.vm_create(&project, &name, &dc, "linux", false)
                        .expect("write");
                    acked.lock().unwrap().push(name);
                }
            })
        })
        .collect();
    // Bounded wait for the first acknowledged writes.
    let mut before = Vec::new();
    for _ in 0..2_000 {
        before = acked.lock().unwrap().clone();
        if before.len() >= WRITES_BEFORE_BACKUP {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        before.len() >= WRITES_BEFORE_BACKUP,
        "the writers are stuck"
    );

    let backup = temp_dir("backup").join("nicplane-backup.db");
    let backup_s = backup.to_string_lossy().into_owned();
    let data_dir = s.dir.to_string_lossy().into_owned();
    let o = nicplane(&["backup", "--to", &backup_s, "--data-dir", &data_dir], &[]);
    let during = acked.lock().unwrap().len();
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().expect("writer");
    }
    assert!(o.status.success(), "backup failed: {}", stderr(&o));
    assert!(
        stdout(&o).starts_with(&format!("Backed up {data_dir}/nicplane.db to {backup_s} (")),
        "{}",
        stdout(&o)
    );
    eprintln!(
        "acknowledged writes: {} before the backup, {during} when it ended",
        before.len()
    );
    assert_eq!(integrity(&backup), "ok");

    // Restore into a fresh data directory and serve it.
    let restored_dir = temp_dir("restored");
    let restored_s = restored_dir.to_string_lossy().into_owned();
    let o = nicplane(
        &["restore", "--from", &backup_s, "--data-dir", &restored_s],
        &[],
    );
    assert!(o.status.success(), "restore failed: {}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "Restored {restored_s}/nicplane.db from {backup_s} (schema version {}, integrity ok)\n",
            schema_version(&backup)
        )
    );
    assert_eq!(integrity(&restored_dir.join("nicplane.db")), "ok");
    let r = Server::start_in_sqlite(restored_dir, &[]);
    let mut c = r.client();
    c.login("bk-power", PASSWORD).expect("the user survives");
    let names: std::collections::HashSet<String> = c
        .vms(&t.project)
        .expect("vms")
        .into_iter()
        .map(|v| v.vm.name.to_string())
        .collect();
    for name in &before {
        assert!(
            names.contains(name),
            "{name} was acknowledged before the backup"
        );
    }
    // Nothing appears that was never asked for.
    for name in &names {
        assert!(name.starts_with('w'), "unexpected VM {name}");
    }
}

fn schema_version(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open");
    conn.query_row("SELECT max(version) FROM schema_migrations", [], |r| {
        r.get(0)
    })
    .expect("schema version")
}

#[test]
fn restore_replaces_a_stopped_servers_database_and_is_refused_while_it_runs() {
    let mut s = Server::start_in_sqlite(temp_dir("srv"), &[]);
    let admin = s.admin();
    admin.project_create("before-backup").expect("project");
    let data_dir = s.dir.to_string_lossy().into_owned();
    let backup = temp_dir("backup").join("b.db");
    let backup_s = backup.to_string_lossy().into_owned();
    let o = nicplane(&["backup", "--to", &backup_s, "--data-dir", &data_dir], &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    let o = nicplane(&["backup", "--to", &backup_s, "--data-dir", &data_dir], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "error: Invalid value for backup file: {backup_s} already exists; choose a new file.\n"
        )
    );

    let o = nicplane(
        &["restore", "--from", &backup_s, "--data-dir", &data_dir],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!("error: The database {data_dir}/nicplane.db is in use; stop the server before restoring.\n")
    );
    // The server is untouched and still serves.
    assert_eq!(data_center_name(&s), "dc1");

    // A write after the backup, then a hard stop (SIGKILL): that write is
    // still only in the -wal file. The restore must not replay it.
    admin.project_create("after-backup").expect("project");
    s.stop();
    let o = nicplane(
        &["restore", "--from", &backup_s, "--data-dir", &data_dir],
        &[],
    );
    assert!(o.status.success(), "restore failed: {}", stderr(&o));
    assert_eq!(integrity(&s.dir.join("nicplane.db")), "ok");
    let r = Server::start_in_sqlite(s.dir.clone(), &[]);
    let names: Vec<String> = r
        .admin()
        .projects()
        .expect("projects")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert!(names.contains(&"before-backup".to_string()), "{names:?}");
    assert!(!names.contains(&"after-backup".to_string()), "{names:?}");
}

#[test]
fn backup_and_restore_refuse_what_is_not_a_sqlite_nicplane_store() {
    let o = nicplane(
        &[
            "backup",
            "--to",
            "/nonexistent/b.db",
            "--database",
            "postgres://nicplane@localhost/nicplane",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "error: backup and restore are for the SQLite store; back up PostgreSQL with pg_dump (docs/operations.md)\n"
    );
    let not_db = temp_dir("notdb").join("plain.db");
    rusqlite::Connection::open(&not_db)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER)")
        .unwrap();
    let not_db_s = not_db.to_string_lossy().into_owned();
    let target = temp_dir("target").to_string_lossy().into_owned();
    let o = nicplane(
        &["restore", "--from", &not_db_s, "--data-dir", &target],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!("error: Invalid value for backup file: {not_db_s} is not a nicplane database.\n")
    );
}
