//! The `frontdesk` binary, run as a subprocess with a deadline on every run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// No CLI command here should come near this; a hang fails the test instead of CI.
const DEADLINE: Duration = Duration::from_secs(120);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `frontdesk args...` in the repository root and returns its output.
fn frontdesk(args: &[&str]) -> Output {
    frontdesk_with(args, &[])
}

/// `frontdesk` with extra environment variables (and without a `REDIS_URL` of the caller's).
fn frontdesk_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(args)
        .env_remove("REDIS_URL")
        .envs(env.iter().copied())
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the frontdesk binary starts");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("can poll the child").is_some() {
            return child.wait_with_output().expect("output is readable");
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            panic!("frontdesk {args:?} did not finish within {DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `serve` on a free port with the data directory `dir` and the knowledge base `kb`.
fn serve<'a>(dir: &'a str, kb: &'a str) -> [&'a str; 7] {
    [
        "serve",
        "--port",
        "0",
        "--data-dir",
        dir,
        "--knowledge-base",
        kb,
    ]
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, rel: &str, body: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

#[test]
fn the_sample_knowledge_base_passes_kb_check() {
    let out = frontdesk(&["kb", "check", "knowledge_base"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ok: 48 FAQs"), "{stdout}");
}

#[test]
fn golden_the_sample_knowledge_base_passes_its_self_test() {
    let out = frontdesk(&["kb", "test", "knowledge_base"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "kb test failed:\n{stdout}");
    assert!(stdout.contains("PASS"), "{stdout}");
}

#[test]
fn kb_check_reports_every_broken_file_with_line_and_field_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "faq/good.md",
        "+++\nid = \"good\"\ntitle = \"Good\"\nquestions = [\"a\", \"b\", \"c\"]\n+++\nFine.\n",
    );
    write(
        dir.path(),
        "faq/shipping/typo.md",
        "+++\nid = \"typo\"\ntitle = \"T\"\nquestoins = [\"a\"]\n+++\nx\n",
    );
    write(
        dir.path(),
        "rules.toml",
        "[[rule]]\nid = \"hi\"\nphrases = [\"hi\"]\naction = \"wave\"\n",
    );
    let out = frontdesk(&["kb", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("faq/shipping/typo.md:4: field `questoins`"),
        "{stderr}"
    );
    assert!(stderr.contains("rules.toml:4: field `action`"), "{stderr}");
}

#[test]
fn the_editors_test_cases_are_checked_by_kb_check_and_run_by_kb_test() {
    let dir = tempfile::tempdir().unwrap();
    let faq = |id: &str, qs: &str| {
        format!("+++\nid = \"{id}\"\ntitle = \"{id}\"\nquestions = [{qs}]\n+++\nAnswer.\n")
    };
    write(
        dir.path(),
        "faq/track.md",
        &faq(
            "track",
            "\"where is my order\", \"track my parcel\", \"order status\"",
        ),
    );
    write(
        dir.path(),
        "faq/password.md",
        &faq(
            "password",
            "\"reset my password\", \"forgot password\", \"new password\"",
        ),
    );
    // A case naming an FAQ that does not exist: kb check names its file, line and field.
    write(
        dir.path(),
        "tests/typed.csv",
        "text,expect\nwheres my order,track\nforgot my pasword,pasword\n",
    );
    let out = frontdesk(&["kb", "check", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("tests/typed.csv:3: field `expect`"),
        "{stderr}"
    );

    // Fixed, plus a case the bot gets wrong: kb test runs them and fails on the wrong one; a
    // known miss (`todo:`) is reported without failing.
    write(
        dir.path(),
        "tests/typed.csv",
        "text,expect\nwheres my order,track\nforgot my pasword,password\nhuman please,handoff\n",
    );
    let out = frontdesk(&["kb", "test", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("PASS: 3/3 test cases"), "{stdout}");
    write(
        dir.path(),
        "tests/typed.csv",
        "text,expect\nwheres my order,password\nhow do i cook rice,todo:track\n",
    );
    let out = frontdesk(&["kb", "test", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("MISS tests/typed.csv:2: \"wheres my order\" -> track (expected password)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("known miss (todo) tests/typed.csv:3"),
        "{stdout}"
    );
}

#[test]
fn kb_test_prints_the_confusions_of_a_bad_knowledge_base_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let faq = |id: &str, qs: &str| {
        format!("+++\nid = \"{id}\"\ntitle = \"{id}\"\nquestions = [{qs}]\n+++\nAnswer.\n")
    };
    write(
        dir.path(),
        "faq/a.md",
        &faq(
            "a",
            "\"track my order\", \"where is my order\", \"order status\"",
        ),
    );
    write(
        dir.path(),
        "faq/b.md",
        &faq(
            "b",
            "\"my order status\", \"status of the order\", \"where is the order now\"",
        ),
    );
    write(
        dir.path(),
        "faq/c.md",
        &faq(
            "c",
            "\"reset my password\", \"forgot password\", \"password reset\"",
        ),
    );
    let out = frontdesk(&["kb", "test", dir.path().to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("MISS"), "{stdout}");
    assert!(stdout.contains("FAIL"), "{stdout}");
}

#[test]
fn an_imported_csv_becomes_a_knowledge_base_that_eval_measures() {
    let dir = tempfile::tempdir().unwrap();
    let train = dir.path().join("train.csv");
    let cases = dir.path().join("cases.csv");
    std::fs::write(
        &train,
        "text,label\ntrack my order,track_order\nwhere is my order,track_order\norder status please,track_order\n\
         reset my password,reset_password\nI forgot my password,reset_password\npassword reset link,reset_password\n\
         \"cancel my order, please\",cancel_order\nI want to cancel an order,cancel_order\nstop my order,cancel_order\n",
    )
    .unwrap();
    std::fs::write(
        &cases,
        "text,label\nwhere is my order now,track_order\nforgot my password,reset_password\ncancel the order,cancel_order\n\
         set an alarm for seven,oos\nplay some jazz music,oos\n",
    )
    .unwrap();
    let kb = dir.path().join("kb");
    let out = frontdesk(&[
        "kb",
        "import",
        "--csv",
        train.to_str().unwrap(),
        "--out",
        kb.to_str().unwrap(),
        "--per-label",
        "2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("wrote 3 FAQs with 6 phrasings"),
        "{}",
        text(&out.stdout)
    );
    assert!(kb.join("faq/cancel_order.md").exists());

    let out = frontdesk(&[
        "eval",
        "--kb",
        kb.to_str().unwrap(),
        "--cases",
        cases.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("eval --json prints one JSON object");
    assert_eq!(report["cases"], 5);
    assert_eq!(report["in_scope"], 3);
    for field in [
        "accuracy",
        "answer_rate",
        "clarify_rate",
        "clarify_accuracy",
        "fallback_rate",
        "latency_p50_us",
        "latency_p99_us",
    ] {
        assert!(report[field].is_number(), "missing {field}: {report}");
    }
    assert!(
        report["accuracy"].as_f64().unwrap() >= 2.0 / 3.0,
        "{report}"
    );
    assert_eq!(report["out_of_scope"]["rows"], 2);
    assert_eq!(
        report["out_of_scope"]["recall"], 1.0,
        "alarms and jazz are not customer service: {report}"
    );
    assert!(report["worst_labels"].is_array());

    let out = frontdesk(&[
        "eval",
        "--kb",
        kb.to_str().unwrap(),
        "--cases",
        cases.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("accuracy:")
            && stdout.contains("out of scope:")
            && stdout.contains("worst labels:"),
        "{stdout}"
    );
}

#[test]
fn ask_explains_each_decision() {
    let out = frontdesk(&["ask", "I forgot my pasword", "can I talk to a human"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("faq reset-password"), "{stdout}");
    assert!(
        stdout.contains("read \"pasword\" as \"password\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("asked for a person") && stdout.contains("rule human"),
        "the visitor asked, and the rule that caught it is named: {stdout}"
    );
}

#[test]
fn a_missing_knowledge_base_is_a_clear_error() {
    let out = frontdesk(&["kb", "check", "/nonexistent/kb"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no `faq/` folder"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn agent_add_hashes_the_password_from_stdin_and_refuses_duplicates() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("agents.toml");
    let add = |password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
            .args(["agent", "add", "alex", "--name", "Alex", "--capacity", "2"])
            .args(["--teams", "billing,returns", "--file"])
            .arg(&file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let short = add("short");
    assert_eq!(short.status.code(), Some(2));
    assert!(
        text(&short.stderr).contains("at least 8"),
        "{}",
        text(&short.stderr)
    );
    let ok = add("correct horse battery");
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    let roster = frontdesk::agents::Roster::load(&file).unwrap();
    let alex = roster
        .verify("alex", "correct horse battery")
        .expect("logs in");
    assert_eq!(alex.capacity, 2);
    assert_eq!(
        alex.teams,
        vec!["billing".to_string(), "returns".to_string()]
    );
    assert!(
        !std::fs::read_to_string(&file)
            .unwrap()
            .contains("correct horse"),
        "only the hash is stored"
    );
    let again = add("another password");
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already exists"));
}

/// Two conversations for the report and forget tests: one of `key`'s visitor that the bot could
/// not answer, and one of another visitor that it answered. Their ids, in that order.
async fn one_missed_one_answered(
    store: &dyn frontdesk::ports::Store,
    key: &frontdesk::conversation::VisitorKey,
) -> (
    frontdesk::conversation::ConversationId,
    frontdesk::conversation::ConversationId,
) {
    use frontdesk::conversation::VisitorInfo;
    use frontdesk::conversation::{EventBody, Turn};
    let bot = |decision: &str| EventBody::BotAnswer {
        decision: serde_json::from_value(serde_json::json!(decision)).expect("a known answer kind"),
        html: String::new(),
        text: String::new(),
        options: Vec::new(),
        offer_human: false,
        faq: None,
        explanation: None,
        lang: None,
    };
    let mut ids = Vec::new();
    for (visitor, question, answer) in [
        (
            Some(key.clone()),
            "do you sell purple trombones",
            "fallback",
        ),
        (None, "where is my order", "answer"),
    ] {
        let (c, _) = store.create(VisitorInfo::default(), visitor).await.unwrap();
        let mut turn = Turn::message(question.into(), "c1".into());
        turn.bot = vec![bot(answer)];
        store.turn(&c.id, turn).await.unwrap();
        ids.push(c.id);
    }
    let answered = ids.pop().expect("two conversations");
    (ids.pop().expect("two conversations"), answered)
}

#[tokio::test]
async fn report_and_forget_read_the_shared_redis_store() {
    use frontdesk::conversation::VisitorKey;
    use frontdesk::ports::{ConversationLog, Tokens};
    use frontdesk::store::RedisStore;
    let url = std::env::var("FRONTDESK_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("fdtest:{:016x}", rand::random::<u64>());
    let store = RedisStore::connect(&url, &prefix)
        .await
        .unwrap_or_else(|e| {
            panic!("this test needs a real redis-server at {url} (scripts/test starts one): {e}")
        });
    let key = VisitorKey::random();
    let (missed, answered) = one_missed_one_answered(&store, &key).await;
    let env = [
        ("REDIS_URL", url.as_str()),
        ("FRONTDESK_REDIS_PREFIX", prefix.as_str()),
    ];

    let json = frontdesk_with(&["report", "--since", "1d", "--json"], &env);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["kpis"]["conversations"], 2);
    assert_eq!(report["kpis"]["outcomes"]["bot_resolved"], 1);
    assert_eq!(
        report["unanswered"][0]["question"],
        "do you sell purple trombones"
    );
    // The same from the server's settings file instead of the environment.
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("frontdesk.toml");
    std::fs::write(
        &settings,
        format!("redis_url = \"{url}\"\nredis_prefix = \"{prefix}\"\n"),
    )
    .unwrap();
    let from_file = frontdesk(&["report", "--json", "--config", settings.to_str().unwrap()]);
    assert!(from_file.status.success(), "{}", text(&from_file.stderr));
    let same: serde_json::Value = serde_json::from_slice(&from_file.stdout).unwrap();
    assert_eq!(same["kpis"], report["kpis"]);
    let people = frontdesk_with(&["report", "--since", "1d"], &env);
    let shown = text(&people.stdout);
    assert!(
        shown.contains("bot resolution             50.0%"),
        "{shown}"
    );
    assert!(
        shown.contains("1x  \"do you sell purple trombones\""),
        "{shown}"
    );
    assert!(shown.contains("definitions:"), "{shown}");

    // Exports and tokens read and write the same shared Redis.
    let export = frontdesk_with(&["export", "--since", "1d"], &env);
    assert!(export.status.success(), "{}", text(&export.stderr));
    // Both conversations (Redis orders those created in the same millisecond by id).
    let mut ids: Vec<String> = text(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
        .collect();
    ids.sort();
    let mut expected = vec![format!("\"{missed}\""), format!("\"{answered}\"")];
    expected.sort();
    assert_eq!(ids, expected);
    let bundle = frontdesk_with(&["export", "--visitor", key.as_str()], &env);
    let bundle: serde_json::Value = serde_json::from_slice(&bundle.stdout).unwrap();
    assert_eq!(bundle["conversations"][0]["id"], missed.as_str());
    let add = frontdesk_with(&["token", "add", "bi", "--scopes", "read"], &env);
    assert!(add.status.success(), "{}", text(&add.stderr));
    let token = text(&add.stdout).trim().to_owned();
    let found = store
        .token_by_hash(&frontdesk::tokens::hash(&token))
        .await
        .unwrap();
    assert_eq!(found.map(|t| t.name), Some("bi".to_owned()));

    let forget = frontdesk_with(&["forget", "--visitor", key.as_str()], &env);
    assert!(forget.status.success(), "{}", text(&forget.stderr));
    assert!(text(&forget.stdout).contains("erased 1 conversation"));
    assert!(store.get(&missed).await.unwrap().is_none());
    assert!(
        store.get(&answered).await.unwrap().is_some(),
        "nobody else's"
    );

    let empty = tempfile::tempdir().unwrap();
    let nowhere = frontdesk(&["report", "--data-dir", empty.path().to_str().unwrap()]);
    assert_eq!(nowhere.status.code(), Some(2));
    assert!(
        text(&nowhere.stderr).contains("REDIS_URL"),
        "{}",
        text(&nowhere.stderr)
    );
}

#[tokio::test]
async fn report_forget_and_backup_work_on_the_database_file_while_the_server_has_it_open() {
    use frontdesk::conversation::Turn;
    use frontdesk::conversation::VisitorKey;
    use frontdesk::ports::ConversationLog;
    use frontdesk::store::SqliteStore;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    // The server's store: open (with its writer) for the whole test, as a running server's is.
    let store = SqliteStore::open(&data.path().join("frontdesk.db")).unwrap();
    let key = VisitorKey::random();
    let (theirs, kept) = one_missed_one_answered(&store, &key).await;

    let report = frontdesk(&["report", "--since", "1d", "--json", "--data-dir", dir]);
    assert!(report.status.success(), "{}", text(&report.stderr));
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    assert_eq!(report["kpis"]["conversations"], 2);

    let copy = data.path().join("copy.db");
    let backup = frontdesk(&["backup", copy.to_str().unwrap(), "--data-dir", dir]);
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    let again = frontdesk(&["backup", copy.to_str().unwrap(), "--data-dir", dir]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing file is never overwritten"
    );
    assert!(text(&again.stderr).contains("already exists"));

    let forget = frontdesk(&["forget", "--visitor", key.as_str(), "--data-dir", dir]);
    assert!(forget.status.success(), "{}", text(&forget.stderr));
    assert!(text(&forget.stdout).contains("erased 1 conversation"));
    assert!(
        store.get(&theirs).await.unwrap().is_none(),
        "the running server reads what forget erased"
    );
    assert!(store.get(&kept).await.unwrap().is_some());

    // An erasure request arrives with an e-mail: the conversation where Ada left it is found
    // (in any case), listed first with --dry-run (nothing erased), then erased; others stay.
    let (ada, _) = store
        .create(frontdesk::conversation::VisitorInfo::default(), None)
        .await
        .unwrap();
    let ada = ada.id;
    store
        .turn(
            &ada,
            Turn {
                visitor: Some((
                    frontdesk::conversation::EventBody::OfflineMessage {
                        email: "ada@example.com".into(),
                        text: "please call me back".into(),
                    },
                    None,
                )),
                ..Turn::default()
            },
        )
        .await
        .unwrap();
    let preview = frontdesk(&[
        "forget",
        "--visitor",
        "Ada@Example.com",
        "--dry-run",
        "--data-dir",
        dir,
    ]);
    assert!(preview.status.success(), "{}", text(&preview.stderr));
    let listed = text(&preview.stdout);
    assert!(listed.contains(ada.as_str()), "{listed}");
    assert!(listed.contains("please call me back"), "{listed}");
    assert!(listed.contains("would erase 1 conversation"), "{listed}");
    assert!(
        store.get(&ada).await.unwrap().is_some(),
        "a dry run erases nothing"
    );
    let erase = frontdesk(&["forget", "--visitor", "ada@example.com", "--data-dir", dir]);
    assert!(erase.status.success(), "{}", text(&erase.stderr));
    assert!(text(&erase.stdout).contains("erased 1 conversation"));
    assert!(store.get(&ada).await.unwrap().is_none());
    assert!(store.get(&kept).await.unwrap().is_some());

    // The backup is a whole database from before the erase, and the server keeps writing.
    let restored = SqliteStore::open(&copy).unwrap();
    let log = restored.events_after(&theirs, 0).await.unwrap();
    assert_eq!(log.len(), 2, "the copy holds the transcript as it was");
    store
        .turn(&kept, Turn::message("still here".into(), "c2".into()))
        .await
        .unwrap();
    assert_eq!(store.events_after(&kept, 0).await.unwrap().len(), 3);
}

#[tokio::test]
async fn tokens_and_exports_work_on_the_database_file_while_the_server_has_it_open() {
    use frontdesk::conversation::VisitorKey;
    use frontdesk::ports::Tokens;
    use frontdesk::store::SqliteStore;
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let store = SqliteStore::open(&data.path().join("frontdesk.db")).unwrap();
    let key = VisitorKey::random();
    let (theirs, other) = one_missed_one_answered(&store, &key).await;

    // A token is printed once; the store keeps its hash, which the server finds.
    let add = frontdesk(&[
        "token",
        "add",
        "crm",
        "--scopes",
        "read,write",
        "--data-dir",
        dir,
    ]);
    assert!(add.status.success(), "{}", text(&add.stderr));
    let token = text(&add.stdout).trim().to_owned();
    assert!(frontdesk::tokens::well_formed(&token), "{token}");
    let found = store
        .token_by_hash(&frontdesk::tokens::hash(&token))
        .await
        .unwrap()
        .expect("the server sees the new token");
    assert_eq!(found.name, "crm");
    let twice = frontdesk(&["token", "add", "crm", "--scopes", "read", "--data-dir", dir]);
    assert_eq!(twice.status.code(), Some(2), "a name is one token");
    let bad = frontdesk(&["token", "add", "bi", "--scopes", "root", "--data-dir", dir]);
    assert!(
        text(&bad.stderr).contains("unknown scope `root`"),
        "{}",
        text(&bad.stderr)
    );
    let list = frontdesk(&["token", "list", "--data-dir", dir]);
    let listed = text(&list.stdout);
    assert!(listed.contains("crm\tread,write"), "{listed}");
    assert!(
        !listed.contains(&token),
        "a listed token never shows its secret"
    );

    // JSON lines: one conversation per line with its events, oldest first.
    let jsonl = frontdesk(&["export", "--since", "1d", "--data-dir", dir]);
    assert!(jsonl.status.success(), "{}", text(&jsonl.stderr));
    let lines: Vec<serde_json::Value> = text(&jsonl.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![theirs.as_str(), other.as_str()]);
    assert_eq!(
        lines[0]["events"][0]["text"],
        "do you sell purple trombones"
    );

    // CSV: a header, then one row per event.
    let csv = frontdesk(&[
        "export",
        "--since",
        "1d",
        "--format",
        "csv",
        "--data-dir",
        dir,
    ]);
    let rows = text(&csv.stdout);
    let mut lines = rows.lines();
    assert_eq!(
        lines.next(),
        Some("conversation,created,state,visitor_key,seq,at,kind,author,text")
    );
    assert_eq!(lines.count(), 4, "{rows}");
    assert!(rows.contains("visitor_message,visitor,do you sell purple trombones"));

    // The access request: only that visitor's conversation.
    let bundle = frontdesk(&["export", "--visitor", key.as_str(), "--data-dir", dir]);
    assert!(bundle.status.success(), "{}", text(&bundle.stderr));
    let bundle: serde_json::Value = serde_json::from_slice(&bundle.stdout).unwrap();
    assert_eq!(bundle["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(bundle["conversations"][0]["id"], theirs.as_str());

    let revoke = frontdesk(&["token", "revoke", "crm", "--data-dir", dir]);
    assert!(revoke.status.success());
    assert!(
        store.token_by_hash(&found.hash).await.unwrap().is_none(),
        "revoked for the running server at once"
    );
}

#[test]
fn a_second_server_on_a_data_directory_in_use_refuses_to_start_and_names_the_first() {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let kb = repo().join("knowledge_base");
    let kb = kb.to_str().unwrap();
    let mut first = Command::new(env!("CARGO_BIN_EXE_frontdesk"))
        .args(serve(dir, kb))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it serves (its first lines), with a bound: the lines are read on a thread.
    let out = BufReader::new(first.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            if line.contains("frontdesk is running") {
                let _ = tx.send(());
            }
        }
    });
    let running = rx.recv_timeout(Duration::from_secs(60)).is_ok();
    assert!(running, "the first server starts");
    let second = frontdesk(&serve(dir, kb));
    let said = text(&second.stderr);
    assert!(!second.status.success(), "a second server must not start");
    assert!(said.contains(dir), "names the directory: {said}");
    assert!(
        said.contains(&format!("process {}", first.id())),
        "names the other process: {said}"
    );
    // What is safe beside a running server still works.
    let report = frontdesk(&["report", "--since", "1d", "--json", "--data-dir", dir]);
    assert!(report.status.success(), "{}", text(&report.stderr));
    first.kill().unwrap();
    first.wait().unwrap();
}

#[test]
fn a_damaged_database_stops_the_server_at_start_with_the_way_to_recover() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    // A database of ours with its events table gone.
    let file = data.path().join("frontdesk.db");
    drop(frontdesk::store::SqliteStore::open(&file).unwrap());
    let conn = rusqlite::Connection::open(data.path().join("frontdesk.db")).unwrap();
    conn.execute_batch("DROP TABLE events").unwrap();
    drop(conn);
    let kb = repo().join("knowledge_base");
    let started = frontdesk(&serve(dir, kb.to_str().unwrap()));
    let said = text(&started.stderr);
    assert!(!started.status.success(), "must not start: {said}");
    assert!(said.contains("table events"), "names what is wrong: {said}");
    assert!(
        said.contains("frontdesk backup"),
        "says how to recover: {said}"
    );
}

#[test]
fn kb_import_keeps_off_topic_rows_as_cases_and_kb_tune_writes_thresholds_that_decline_them() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("labelled.csv");
    let mut rows = String::from("text,label\n");
    for (label, texts) in [
        (
            "track_order",
            [
                "where is my order",
                "track my parcel",
                "has my order shipped",
                "when does my package arrive",
                "order status please",
                "where is my delivery",
            ],
        ),
        (
            "refund",
            [
                "i want a refund",
                "give me my money back",
                "refund my purchase",
                "how do i get a refund",
                "money back please",
                "refund for my order",
            ],
        ),
        (
            "reset_password",
            [
                "i forgot my password",
                "reset my password",
                "cannot log in password",
                "change my password",
                "lost password help",
                "password reset link",
            ],
        ),
    ] {
        for t in texts {
            rows.push_str(&format!("{t},{label}\n"));
        }
    }
    let off_topic = [
        "what is the weather today",
        "tell me a joke",
        "who won the match",
        "capital of france",
        "recommend a movie",
        "how tall is everest",
        "play some jazz",
        "what time is it in tokyo",
        "best pizza nearby",
        "how do i bake bread",
        "translate cat into german",
        "how old is the moon",
        "sing me a song",
        "what is love",
        "book a flight",
        "fix my car",
        "learn guitar fast",
        "calories in an apple",
        "is it going to rain",
        "news headlines today",
        "stock price of apple",
        "who is the president",
    ];
    for t in off_topic {
        rows.push_str(&format!("{t},oos\n"));
    }
    std::fs::write(&csv, rows).unwrap();
    let kb = dir.path().join("kb");
    let import = frontdesk(&[
        "kb",
        "import",
        "--csv",
        csv.to_str().unwrap(),
        "--out",
        kb.to_str().unwrap(),
    ]);
    assert!(import.status.success(), "{}", text(&import.stderr));
    assert!(
        text(&import.stdout).contains("wrote 22 off-topic rows"),
        "{}",
        text(&import.stdout)
    );
    let cases = std::fs::read_to_string(kb.join("tests/off-topic.csv")).unwrap();
    assert!(cases.contains("tell me a joke,fallback"), "{cases}");

    let tune = frontdesk(&["kb", "tune", kb.to_str().unwrap(), "--json", "--write"]);
    assert!(tune.status.success(), "{}", text(&tune.stderr));
    let report: serde_json::Value = serde_json::from_slice(&tune.stdout).unwrap();
    assert_eq!(report["off_topic"], 22);
    assert!(
        report["chosen"]["off_topic_declined"].as_f64().unwrap() >= 0.75,
        "{report:#}"
    );
    let rules = std::fs::read_to_string(kb.join("rules.toml")).unwrap();
    let chosen = report["chosen"]["answer_confidence"].as_f64().unwrap();
    assert!(
        rules.contains(&format!(
            "answer_confidence = {}",
            (chosen * 100.0).round() / 100.0
        )),
        "{rules}"
    );
    // The knowledge base still loads with what was written.
    let check = frontdesk(&["kb", "check", kb.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check.stderr));

    // With too few off-topic cases, tune says why and writes nothing.
    std::fs::remove_file(kb.join("tests/off-topic.csv")).unwrap();
    let refused = frontdesk(&["kb", "tune", kb.to_str().unwrap()]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("0 off-topic test cases"),
        "{}",
        text(&refused.stderr)
    );
}
