//! Attachments through the real server: a visitor's photo (its GPS position gone), an agent's
//! PDF, every refusal, another conversation's file, an upload cut off half way, and erasure.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::app::{TestApp, Visitor, http, spawn_app_with};

/// A 16 x 8 JPEG carrying an EXIF block with an orientation and a GPS position, as phones write.
fn phone_photo() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_pixel(16, 8, image::Rgb([10, 120, 200]))
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    let jpeg = out.into_inner();
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08".to_vec();
    tiff.extend([0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0]);
    tiff.extend(b"GPSLatitude=52.3702N;GPSLongitude=4.8952E");
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend(tiff);
    let mut photo = vec![0xFF, 0xD8, 0xFF, 0xE1];
    photo.extend(u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
    photo.extend(app1);
    photo.extend(&jpeg[2..]);
    photo
}

fn png() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_pixel(4, 4, image::Rgb([200, 30, 30]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

struct Sent {
    status: u16,
    body: Value,
}

async fn upload(app: &TestApp, query: &str, auth: Auth<'_>, bytes: Vec<u8>) -> Sent {
    let url = format!("http://127.0.0.1:{}/api/files?{query}", app.port);
    let mut request = http().post(url).body(bytes);
    request = match auth {
        Auth::Token(t) => request.bearer_auth(t),
        Auth::Cookie(c) => request.header("cookie", c),
        Auth::None => request,
    };
    let response = request.send().await.expect("an answer in time");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Sent { status, body }
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    Token(&'a str),
    Cookie(&'a str),
    None,
}

async fn download(app: &TestApp, path: &str, auth: Auth<'_>) -> reqwest::Response {
    let mut request = http().get(format!("http://127.0.0.1:{}{path}", app.port));
    request = match auth {
        Auth::Token(t) => request.bearer_auth(t),
        Auth::Cookie(c) => request.header("cookie", c),
        Auth::None => request,
    };
    request.send().await.expect("an answer in time")
}

/// The files kept under `dir` (the server's data_dir), as paths relative to its attachments.
fn kept(dir: &Path) -> Vec<PathBuf> {
    let root = dir.join("attachments");
    let mut found = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path.strip_prefix(&root).unwrap().to_owned());
            }
        }
    }
    found
}

async fn app_in(dir: &Path, configure: impl FnOnce(&mut frontdesk::config::Settings)) -> TestApp {
    let dir = dir.to_owned();
    spawn_app_with(move |s| {
        s.data_dir = dir;
        configure(s);
    })
    .await
}

#[actix_web::test]
async fn a_visitors_phone_photo_arrives_without_its_position_and_the_bot_offers_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), |_| {}).await;
    let mut v = app.visitor().await;
    let photo = phone_photo();
    let sent = upload(
        &app,
        "name=IMG_0042.JPG&client_id=f-1",
        Auth::Token(&v.token),
        photo,
    )
    .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["content_type"], "image/jpeg");
    assert_eq!(sent.body["name"], "IMG_0042.JPG");
    let file_id = sent.body["id"].as_str().unwrap().to_owned();
    assert_eq!(file_id.len(), 32, "an id nobody can guess");

    let event = v.until(|f| f["kind"] == "visitor_file").await;
    assert_eq!(event["file"]["id"], file_id.as_str());
    let reply = v.bot_answer().await;
    assert_eq!(reply["offer_human"], true, "{reply}");
    assert!(
        reply["text"].as_str().unwrap().contains("can't open files"),
        "{reply}"
    );

    let path = format!("/api/files/{}/{file_id}", v.conversation);
    let got = download(&app, &path, Auth::Token(&v.token)).await;
    assert_eq!(got.status(), 200);
    let headers = got.headers().clone();
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    let bytes = got.bytes().await.unwrap();
    assert!(
        !bytes.windows(11).any(|w| w == b"GPSLatitude"),
        "no GPS position"
    );
    assert!(!bytes.windows(4).any(|w| w == b"Exif"), "no EXIF at all");
    assert_eq!(image::load_from_memory(&bytes).unwrap().width(), 16);

    // The same upload again (a retry after a lost answer) is one file in the log.
    let again = upload(
        &app,
        "name=IMG_0042.JPG&client_id=f-1",
        Auth::Token(&v.token),
        phone_photo(),
    )
    .await;
    assert_eq!(again.status, 201);
    let (_, log) = app.transcript(&v.token).await;
    let files: Vec<&Value> = log.iter().filter(|e| e["kind"] == "visitor_file").collect();
    assert_eq!(files.len(), 1, "{log:?}");
}

#[actix_web::test]
async fn every_unsafe_or_unwanted_file_is_refused_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), |s| {
        s.attachment_max_bytes = 2_000;
        s.attachment_types = vec![
            frontdesk::config::FileKind::Image,
            frontdesk::config::FileKind::Text,
        ];
    })
    .await;
    let v = app.visitor().await;
    let t = Auth::Token(&v.token);
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "name=big.txt&client_id=a",
            vec![b'a'; 2_001],
            413,
            "too_large",
        ),
        (
            "name=invoice.pdf&client_id=b",
            PDF.to_vec(),
            415,
            "type_not_accepted",
        ),
        ("name=photo.pdf&client_id=c", png(), 415, "type_mismatch"),
        (
            "name=logo.svg&client_id=d",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
            415,
            "type_not_accepted",
        ),
        (
            "name=page.html&client_id=e",
            b"<html><script>x</script>".to_vec(),
            415,
            "type_not_accepted",
        ),
        (
            "name=a.zip&client_id=f",
            b"PK\x03\x04\x14\x00\x00\x00".to_vec(),
            415,
            "type_not_accepted",
        ),
        ("name=empty.txt&client_id=g", Vec::new(), 415, "empty_file"),
    ];
    for (query, bytes, status, code) in cases {
        let sent = upload(&app, query, t, bytes).await;
        assert_eq!(sent.status, status, "{query}: {}", sent.body);
        assert_eq!(sent.body["code"], code, "{query}: {}", sent.body);
        assert!(!sent.body["detail"].as_str().unwrap_or("").is_empty());
    }
    let no_one = upload(&app, "name=a.txt&client_id=h", Auth::None, b"hi".to_vec()).await;
    assert_eq!(no_one.status, 401);
    let forged = format!("{}.{}", v.conversation, "0".repeat(32));
    let forged = upload(
        &app,
        "name=a.txt&client_id=i",
        Auth::Token(&forged),
        b"hi".to_vec(),
    )
    .await;
    assert_eq!(forged.status, 401);
    assert!(kept(dir.path()).is_empty(), "nothing refused was kept");

    // A name with a path and control characters is kept as its last part, cleaned.
    let sent = upload(
        &app,
        "name=..%2F..%2Fetc%2Fnotes%0D%0A.txt&client_id=j",
        t,
        b"order 7".to_vec(),
    )
    .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["name"], "notes.txt");
}

#[actix_web::test]
async fn a_conversation_sends_only_so_many_files_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), |s| s.attachments_per_minute = 2).await;
    let v = app.visitor().await;
    for (n, expected) in [(1, 201), (2, 201), (3, 429)] {
        let query = format!("name=n{n}.txt&client_id=n{n}");
        let sent = upload(&app, &query, Auth::Token(&v.token), b"note".to_vec()).await;
        assert_eq!(sent.status, expected, "{n}: {}", sent.body);
    }
}

#[actix_web::test]
async fn only_the_conversations_visitor_and_signed_in_staff_can_fetch_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), |_| {}).await;
    let a = app.visitor().await;
    let b = app.visitor().await;
    let sent = upload(&app, "name=a.png&client_id=x", Auth::Token(&a.token), png()).await;
    let path = format!(
        "/api/files/{}/{}",
        a.conversation,
        sent.body["id"].as_str().unwrap()
    );
    assert_eq!(
        download(&app, &path, Auth::Token(&b.token)).await.status(),
        404
    );
    assert_eq!(download(&app, &path, Auth::None).await.status(), 401);
    let cookie = app.login("ann").await;
    assert_eq!(
        download(&app, &path, Auth::Cookie(&cookie)).await.status(),
        200
    );
    let guessed = format!("/api/files/{}/{}", a.conversation, "f".repeat(32));
    assert_eq!(
        download(&app, &guessed, Auth::Token(&a.token))
            .await
            .status(),
        404
    );
}

#[actix_web::test]
async fn the_owning_agent_sends_a_pdf_the_visitor_sees_it_and_it_downloads_as_an_attachment() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), |_| {}).await;
    let mut ann = app.agent("ann").await;
    let mut v: Visitor = app.waiting_visitor().await;
    ann.act("claim", &v.conversation, json!({})).await;
    v.notice("assigned").await;
    let query = format!(
        "conversation={}&name=label.pdf&client_id=r-1",
        v.conversation
    );
    let bob = app.login("bob").await;
    let refused = upload(&app, &query, Auth::Cookie(&bob), PDF.to_vec()).await;
    assert_eq!(refused.status, 409, "not bob's chat: {}", refused.body);
    let sent = upload(&app, &query, Auth::Cookie(&ann.cookie), PDF.to_vec()).await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    assert_eq!(sent.body["content_type"], "application/pdf");
    let event = v.until(|f| f["kind"] == "agent_file").await;
    assert_eq!(event["file"]["name"], "label.pdf");
    ann.event(&v.conversation, |e| e["kind"] == "agent_file")
        .await;
    let path = format!(
        "/api/files/{}/{}",
        v.conversation,
        sent.body["id"].as_str().unwrap()
    );
    let got = download(&app, &path, Auth::Token(&v.token)).await;
    assert_eq!(got.status(), 200);
    let disposition = got.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"label.pdf\""),
        "{disposition}"
    );
    assert_eq!(got.bytes().await.unwrap().as_ref(), PDF);
}

#[actix_web::test]
async fn an_upload_cut_off_half_way_is_neither_shown_nor_kept() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), |_| {}).await;
    let v = app.visitor().await;
    let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let head = format!(
        "POST /api/files?name=a.txt&client_id=cut HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Authorization: Bearer {}\r\nContent-Length: 1000\r\n\r\n",
        v.token
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&[b'a'; 400]).await.unwrap();
    drop(socket);
    // The same file sent whole afterwards is stored once, as the only file.
    let sent = upload(
        &app,
        "name=a.txt&client_id=cut",
        Auth::Token(&v.token),
        vec![b'a'; 1000],
    )
    .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let (_, log) = app.transcript(&v.token).await;
    let files = log.iter().filter(|e| e["kind"] == "visitor_file").count();
    assert_eq!(files, 1, "{log:?}");
    assert_eq!(kept(dir.path()).len(), 1, "no partial file left");
}

#[actix_web::test]
async fn erasing_a_visitor_erases_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_in(dir.path(), |_| {}).await;
    let keep = app.visitor().await;
    let gone = app.visitor().await;
    for (v, id) in [(&keep, "k"), (&gone, "g")] {
        let sent = upload(
            &app,
            &format!("name=a.png&client_id={id}"),
            Auth::Token(&v.token),
            png(),
        )
        .await;
        assert_eq!(sent.status, 201);
    }
    assert_eq!(kept(dir.path()).len(), 2);
    let admin = app.admin_login().await;
    let (status, _, body) = app
        .post(
            "/api/admin/forget",
            &json!({"visitor": gone.visitor_key, "preview": false}),
            Some(&admin),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let left = kept(dir.path());
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].starts_with(&keep.conversation), "{left:?}");
}

/// The S3-compatible server `scripts/test` starts (moto): its endpoint. The store reads it, and
/// the credentials, from the usual `AWS_*` variables.
fn s3_endpoint() -> String {
    match std::env::var("AWS_ENDPOINT") {
        Ok(url) => url,
        Err(_) => panic!(
            "this test needs an S3-compatible server: scripts/test starts moto and sets \
             AWS_ENDPOINT, AWS_ALLOW_HTTP, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION"
        ),
    }
}

#[actix_web::test]
async fn two_nodes_share_files_through_an_s3_bucket() {
    use crate::app::{fresh_prefix, redis_store, redis_url, sample_kb, spawn_app_on};
    let endpoint = s3_endpoint();
    let bucket = format!("fdtest-{:016x}", rand::random::<u64>());
    let made = http()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        made.status().is_success(),
        "the bucket is created: {}",
        made.status()
    );
    let (url, prefix) = (redis_url(), fresh_prefix());
    let node = |dir: PathBuf| {
        let s3 = format!("s3://{bucket}/files");
        move |s: &mut frontdesk::config::Settings| {
            s.data_dir = dir;
            s.attachments_url = Some(s3);
        }
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = spawn_app_on(
        redis_store(&url, &prefix).await,
        sample_kb(),
        node(dir_a.path().into()),
    )
    .await;
    let b = spawn_app_on(
        redis_store(&url, &prefix).await,
        sample_kb(),
        node(dir_b.path().into()),
    )
    .await;

    let mut ann = b.agent("ann").await;
    let mut v = a.waiting_visitor().await;
    ann.act("claim", &v.conversation, json!({})).await;
    v.notice("assigned").await;
    let sent = upload(
        &a,
        "name=parcel.png&client_id=s3-1",
        Auth::Token(&v.token),
        png(),
    )
    .await;
    assert_eq!(sent.status, 201, "{}", sent.body);
    let event = ann
        .event(&v.conversation, |e| e["kind"] == "visitor_file")
        .await;
    let path = format!(
        "/api/files/{}/{}",
        v.conversation,
        event["file"]["id"].as_str().unwrap()
    );
    let got = download(&b, &path, Auth::Cookie(&ann.cookie)).await;
    assert_eq!(got.status(), 200, "node B reads what node A kept");
    assert!(image::load_from_memory(&got.bytes().await.unwrap()).is_ok());
    assert!(
        kept(dir_a.path()).is_empty() && kept(dir_b.path()).is_empty(),
        "nothing on local disk"
    );

    // The agent on B answers with a PDF; the visitor on A opens it.
    let query = format!(
        "conversation={}&name=label.pdf&client_id=s3-2",
        v.conversation
    );
    let back = upload(&b, &query, Auth::Cookie(&ann.cookie), PDF.to_vec()).await;
    assert_eq!(back.status, 201, "{}", back.body);
    let event = v.until(|f| f["kind"] == "agent_file").await;
    let path = format!(
        "/api/files/{}/{}",
        v.conversation,
        event["file"]["id"].as_str().unwrap()
    );
    let got = download(&a, &path, Auth::Token(&v.token)).await;
    assert_eq!(got.bytes().await.unwrap().as_ref(), PDF);
}

#[actix_web::test]
async fn the_api_lists_downloads_and_sends_files_within_its_scopes() {
    use frontdesk::tokens::{Scope, issue};
    let store = crate::app::sqlite_store();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let app = crate::app::spawn_app_on(store.clone(), crate::app::sample_kb(), move |s| {
        s.data_dir = data;
    })
    .await;
    let mut tokens = Vec::new();
    for (name, scopes) in [
        ("bi", &[Scope::Read][..]),
        ("crm", &[Scope::Read, Scope::Write][..]),
        ("dpo", &[Scope::Admin][..]),
    ] {
        let (record, token) = issue(name, scopes, frontdesk::conversation::now_ms()).unwrap();
        assert!(store.add_token(record).await.unwrap());
        tokens.push(token);
    }
    let (reader, writer) = (&tokens[0], &tokens[1]);
    // Someone is online, so the visitor waits in line (instead of the offline form).
    let _ann = app.agent("ann").await;
    let mut v = app.waiting_visitor().await;
    let sent = upload(
        &app,
        "name=parcel.png&client_id=p",
        Auth::Token(&v.token),
        png(),
    )
    .await;
    assert_eq!(sent.status, 201);
    let base = format!(
        "http://127.0.0.1:{}/api/v1/conversations/{}",
        app.port, v.conversation
    );

    let listed: Value = http()
        .get(format!("{base}/files"))
        .bearer_auth(reader)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed[0]["from"], "visitor", "{listed}");
    assert_eq!(listed[0]["name"], "parcel.png");
    let id = listed[0]["id"].as_str().unwrap();
    let got = http()
        .get(format!("{base}/files/{id}"))
        .bearer_auth(reader)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["x-content-type-options"], "nosniff");

    let send = |token: &str| {
        http()
            .post(format!("{base}/files?name=label.pdf&client_id=api-1"))
            .bearer_auth(token.to_owned())
            .body(PDF.to_vec())
            .send()
    };
    assert_eq!(
        send(reader).await.unwrap().status(),
        403,
        "reading is not writing"
    );
    assert_eq!(send(writer).await.unwrap().status(), 409, "not claimed yet");
    let claimed = http()
        .post(format!("{base}/claim"))
        .bearer_auth(writer)
        .send()
        .await
        .unwrap();
    assert_eq!(claimed.status(), 200);
    let response = send(writer).await.unwrap();
    assert_eq!(response.status(), 201);
    let event = v.until(|f| f["kind"] == "agent_file").await;
    assert_eq!(event["file"]["name"], "label.pdf");

    // The visitor's access export carries both files, bytes included.
    let export: Value = http()
        .get(format!(
            "http://127.0.0.1:{}/api/v1/visitors/{}",
            app.port, v.visitor_key
        ))
        .bearer_auth(&tokens[2])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let files = export["files"].as_array().expect("files in the export");
    let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["parcel.png", "label.pdf"], "{export}");
    use base64::Engine;
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(files[1]["base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(pdf, PDF);
}
