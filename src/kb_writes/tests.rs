//! Editors' fixes against a real knowledge base folder: what is written, what is refused, what is
//! logged, and what the bot does afterwards.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::*;
use crate::knowledge_base::tests::write;
use crate::metrics::Metrics;
use crate::ports::Edits;
use crate::store::MemoryStore;

const INVOICE: &str = "+++\nid = \"invoice\"\ntitle = \"Where is my invoice?\"\nquestions = [\n  \"where is my invoice\",\n  \"I need an invoice for my order\",\n  \"send me the invoice\",\n  \"invoice with my company VAT number\",\n]\ntags = [\"payments\"]\n+++\nDownload it under **Account > Orders**.\n";

fn faq(id: &str, questions: &[&str]) -> String {
    let list: Vec<String> = questions.iter().map(|q| format!("  \"{q}\",\n")).collect();
    format!(
        "+++\nid = \"{id}\"\ntitle = \"About {id}\"\nquestions = [\n{}]\n+++\nThe answer about {id}.\n",
        list.concat()
    )
}

/// A small shop's knowledge base in `dir`.
fn shop(dir: &Path) {
    write(dir, "faq/payments/invoice.md", INVOICE);
    write(
        dir,
        "faq/orders/track-order.md",
        &faq(
            "track-order",
            &[
                "where is my order",
                "track my parcel",
                "has my order shipped",
                "order status",
            ],
        ),
    );
    write(
        dir,
        "faq/returns/return-policy.md",
        &faq(
            "return-policy",
            &[
                "what is your return policy",
                "can I return an item",
                "how many days to return something",
            ],
        ),
    );
}

fn writes(dir: &Path, mode: WriteMode) -> (KbWrites, Arc<MemoryStore>) {
    let loaded = knowledge_base::load(dir).unwrap();
    let matcher = Arc::new(ArcSwap::from_pointee(Matcher::build(loaded.kb).unwrap()));
    let reloader = Arc::new(Reloader::new(
        dir.to_path_buf(),
        matcher,
        loaded.warnings,
        Arc::new(Metrics::new()),
    ));
    let store = Arc::new(MemoryStore::new());
    let writes = KbWrites::new(dir.to_path_buf(), mode, reloader, store.clone());
    (writes, store)
}

fn version(dir: &Path, rel: &str) -> String {
    version_of(Some(&std::fs::read(dir.join(rel)).unwrap()))
}

const MISSED: &str = "need a receipt for the purchase";

#[tokio::test]
async fn a_phrasing_is_written_into_the_faq_logged_reloaded_and_answers_the_question() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let (writes, store) = writes(dir.path(), WriteMode::Files);
    let before = try_question(&writes.reloader.matcher(), MISSED);
    assert_ne!(
        before.outcome, "invoice",
        "the bot missed it before: {before:?}"
    );

    let listed = writes.faqs().await.faqs;
    let invoice = listed.iter().find(|f| f.id == "invoice").unwrap();
    assert_eq!(invoice.file, "faq/payments/invoice.md");
    assert_eq!(invoice.category, "payments");
    let applied = writes
        .apply(
            Fix::Phrasing {
                question: format!("  {MISSED} "),
                faq: "invoice".into(),
                language: None,
                version: invoice.version.clone(),
            },
            "admin:erin",
        )
        .await
        .unwrap();

    // The file is the old one with one more phrasing, in its layout.
    let now = std::fs::read_to_string(dir.path().join("faq/payments/invoice.md")).unwrap();
    assert_eq!(
        now,
        INVOICE.replace(
            "  \"invoice with my company VAT number\",\n]",
            &format!("  \"invoice with my company VAT number\",\n  \"{MISSED}\",\n]")
        )
    );
    // It stays fixed: a test case.
    let cases = std::fs::read_to_string(dir.path().join(FIXES_FILE)).unwrap();
    assert_eq!(cases, format!("text,expect\n{MISSED},invoice\n"));
    // No temporary file is left beside it.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("faq/payments"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");

    // Reloaded, and the bot answers the question now.
    let reload = applied.reload.as_ref().unwrap();
    assert!(reload.ok && reload.changed, "{reload:?}");
    let verdict = applied.verdict.as_ref().unwrap();
    assert!(verdict.fixed, "{verdict:?}");
    assert_eq!(verdict.question.outcome, "invoice");
    assert_eq!(verdict.cases, 1);
    assert_eq!(verdict.cases_passed, 1);
    let faq_test = verdict.faq_test.as_ref().unwrap();
    assert_eq!(
        faq_test.phrasings, 5,
        "each of the FAQ's phrasings held out"
    );

    // Logged: who, what, the diffs.
    let log = store.edits(10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].who, "admin:erin");
    assert_eq!(log[0].action, EditAction::Phrasing);
    assert_eq!(log[0].faq.as_deref(), Some("invoice"));
    assert_eq!(log[0].question, MISSED);
    let files: Vec<&str> = log[0].files.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, vec!["faq/payments/invoice.md", FIXES_FILE]);
    assert!(
        log[0].files[0]
            .diff
            .contains(&format!("\n+  \"{MISSED}\",\n")),
        "{}",
        log[0].files[0].diff
    );
    assert_eq!(applied.files, log[0].files);
}

#[tokio::test]
async fn a_file_changed_on_disk_since_it_was_read_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let (writes, store) = writes(dir.path(), WriteMode::Files);
    let read = version(dir.path(), "faq/payments/invoice.md");
    // Another editor saves meanwhile.
    let theirs = INVOICE.replace("send me the invoice", "send me the invoice again");
    write(dir.path(), "faq/payments/invoice.md", &theirs);

    let refused = writes
        .apply(
            Fix::Phrasing {
                question: MISSED.into(),
                faq: "invoice".into(),
                language: None,
                version: read,
            },
            "admin:erin",
        )
        .await;
    let Err(FixError::ChangedOnDisk(file)) = refused else {
        panic!("{refused:?}");
    };
    assert_eq!(file, "faq/payments/invoice.md");
    let on_disk = std::fs::read_to_string(dir.path().join("faq/payments/invoice.md")).unwrap();
    assert_eq!(on_disk, theirs, "their change stands");
    assert!(!dir.path().join(FIXES_FILE).exists());
    assert!(store.edits(10).await.unwrap().is_empty(), "nothing logged");
}

#[tokio::test]
async fn a_fix_that_would_break_the_knowledge_base_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let (writes, store) = writes(dir.path(), WriteMode::Files);
    // Someone left a broken test file: the fix's case would sit in a folder that does not load.
    write(
        dir.path(),
        "tests/typos.csv",
        "text,expect\nwher is my ordr,no-such-faq\n",
    );
    let refused = writes
        .apply(
            Fix::Phrasing {
                question: MISSED.into(),
                faq: "invoice".into(),
                language: None,
                version: version(dir.path(), "faq/payments/invoice.md"),
            },
            "admin:erin",
        )
        .await;
    let Err(FixError::WouldBreak(problems)) = refused else {
        panic!("{refused:?}");
    };
    let said = problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        said.contains("tests/typos.csv") && said.contains("no-such-faq"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("faq/payments/invoice.md")).unwrap(),
        INVOICE
    );
    assert!(store.edits(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_new_faq_is_a_new_file_in_its_category_and_answers_at_once() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let (writes, _) = writes(dir.path(), WriteMode::Files);
    let applied = writes
        .apply(
            Fix::NewFaq {
                question: "do you sell gift vouchers".into(),
                id: "gift-vouchers".into(),
                title: "Do you sell gift vouchers?".into(),
                answer: "Yes: from 10 to 200 euros, under **Gifts**.".into(),
                questions: vec![
                    Phrasing("can I buy a gift voucher".into()),
                    Phrasing("gift voucher for a friend".into()),
                ],
                category: "payments".into(),
                language: None,
            },
            "admin:erin",
        )
        .await
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("faq/payments/gift-vouchers.md")).unwrap();
    assert!(text.starts_with("+++\nid = \"gift-vouchers\"\n"), "{text}");
    assert!(text.contains("tags = [\"payments\"]"), "{text}");
    assert!(applied.verdict.unwrap().fixed);
    assert!(applied.files[0].diff.contains("--- /dev/null"));

    // The same id again: refused, the file kept.
    let again = writes
        .apply(
            Fix::NewFaq {
                question: "gift vouchers?".into(),
                id: "gift-vouchers".into(),
                title: "Other".into(),
                answer: "Other.".into(),
                questions: vec![],
                category: "other".into(),
                language: None,
            },
            "admin:erin",
        )
        .await;
    assert!(matches!(again, Err(FixError::Exists(_))), "{again:?}");
}

#[tokio::test]
async fn off_topic_and_dismissed_questions_are_recorded_without_touching_an_faq() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    let (writes, store) = writes(dir.path(), WriteMode::Files);
    writes
        .apply(
            Fix::OffTopic {
                question: "tell me a joke".into(),
            },
            "admin:erin",
        )
        .await
        .unwrap();
    let cases = std::fs::read_to_string(dir.path().join(FIXES_FILE)).unwrap();
    assert_eq!(cases, "text,expect\ntell me a joke,fallback\n");
    let twice = writes
        .apply(
            Fix::OffTopic {
                question: "Tell me a JOKE".into(),
            },
            "admin:erin",
        )
        .await;
    assert!(matches!(twice, Err(FixError::AlreadyThere(_))), "{twice:?}");

    let dismissed = writes
        .apply(
            Fix::Dismiss {
                question: "asdfgh".into(),
            },
            "admin:erin",
        )
        .await
        .unwrap();
    assert!(dismissed.files.is_empty() && dismissed.reload.is_none());
    let log = store.edits(10).await.unwrap();
    let actions: Vec<EditAction> = log.iter().map(|e| e.action).collect();
    assert_eq!(actions, vec![EditAction::Dismiss, EditAction::OffTopic]);
}

#[tokio::test]
async fn with_writes_off_a_fix_is_a_patch_that_git_applies() {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path().join("content/knowledge_base");
    shop(&dir);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(repo.path())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    let (writes, store) = writes(&dir, WriteMode::Off);
    let applied = writes
        .apply(
            Fix::Phrasing {
                question: MISSED.into(),
                faq: "invoice".into(),
                language: None,
                version: version(&dir, "faq/payments/invoice.md"),
            },
            "admin:erin",
        )
        .await
        .unwrap();
    assert_eq!(applied.mode, WriteMode::Off);
    assert!(applied.reload.is_none());
    assert_eq!(
        std::fs::read_to_string(dir.join("faq/payments/invoice.md")).unwrap(),
        INVOICE,
        "nothing written"
    );
    assert!(store.edits(10).await.unwrap().is_empty());
    assert!(
        applied
            .patch
            .contains("+++ b/content/knowledge_base/faq/payments/invoice.md"),
        "{}",
        applied.patch
    );
    std::fs::write(repo.path().join("fix.patch"), &applied.patch).unwrap();
    git(&["apply", "fix.patch"]);
    let patched = std::fs::read_to_string(dir.join("faq/payments/invoice.md")).unwrap();
    assert!(
        patched.contains(&format!("  \"{MISSED}\",\n]")),
        "{patched}"
    );
    let cases = std::fs::read_to_string(dir.join(FIXES_FILE)).unwrap();
    assert_eq!(cases, format!("text,expect\n{MISSED},invoice\n"));
}

#[tokio::test]
async fn a_preview_tells_what_a_pending_fix_would_break() {
    let dir = tempfile::tempdir().unwrap();
    shop(dir.path());
    write(
        dir.path(),
        "tests/customers.csv",
        "text,expect\nwhere is my order,track-order\n",
    );
    let (writes, _) = writes(dir.path(), WriteMode::Files);
    // "where is my order" added to the invoice FAQ: track-order's own phrasing, held out,
    // would go to invoice.
    let preview = writes
        .preview(Fix::Phrasing {
            question: "where is my order".into(),
            faq: "invoice".into(),
            language: None,
            version: version(dir.path(), "faq/payments/invoice.md"),
        })
        .await
        .unwrap();
    assert!(preview.before.cases.misses.is_empty());
    assert!(
        preview
            .breaks
            .iter()
            .any(|b| b
                == "phrasing \"where is my order\" of track-order (en): held out, got invoice"),
        "{:?}",
        preview.breaks
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("faq/payments/invoice.md")).unwrap(),
        INVOICE,
        "a preview writes nothing"
    );
}
