//! Visitors answered in their language: the browser's locale opens the conversation in it, a
//! message's words decide its language, answers come from that language's FAQs, the bot's own
//! sentences follow, and an FAQ without a translation is answered in the default language with
//! a line saying so.

use serde_json::json;

use crate::app::{Visitor, sample_kb, spawn_app_on, sqlite_store};

/// A knowledge base in English and Spanish where `payment-methods` has no Spanish translation.
fn half_translated() -> frontdesk::knowledge_base::KnowledgeBase {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, text: &str| {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("languages.toml", "default = \"en\"\nothers = [\"es\"]\n");
    write(
        "faq/return-policy.md",
        "+++\nid = \"return-policy\"\ntitle = \"What is your return policy?\"\nquestions = [\"can I return an item\", \"how many days do I have to return\"]\n+++\nReturns are free within 30 days.\n",
    );
    write(
        "faq/return-policy.es.md",
        "+++\nid = \"return-policy\"\ntitle = \"¿Cuál es vuestra política de devoluciones?\"\nquestions = [\"puedo devolver un producto\", \"cuántos días tengo para devolver\"]\n+++\nLas devoluciones son gratis durante 30 días.\n",
    );
    write(
        "faq/payment-methods.md",
        "+++\nid = \"payment-methods\"\ntitle = \"Which payment methods do you accept?\"\nquestions = [\"can I pay with PayPal\", \"do you take Klarna or PayPal\"]\n+++\nWe accept cards, PayPal and Klarna.\n",
    );
    frontdesk::knowledge_base::load(dir.path())
        .expect("the test knowledge base loads")
        .kb
}

#[actix_web::test]
async fn a_spanish_visitor_is_answered_in_spanish_from_the_first_hello() {
    let app = spawn_app_on(sqlite_store(), sample_kb(), |_| {}).await;
    let mut v = Visitor::connect(&app, None).await.expect("connects");
    let welcome = v.hello(json!({"type": "hello", "locale": "es-ES"})).await;
    assert_eq!(welcome["language"], "es", "{welcome}");

    v.say("¿Puedo devolver un producto si no me gusta?").await;
    let answer = v.bot_answer().await;
    assert_eq!(answer["faq"], "return-policy");
    assert_eq!(answer["lang"], "es");
    assert!(
        answer["text"].as_str().unwrap().contains("30 días"),
        "{answer}"
    );
    v.say("¿Hacen envíos a México?").await;
    let answer = v.bot_answer().await;
    assert_eq!(answer["faq"], "international-shipping", "{answer}");

    // The bot's own words are Spanish too: nobody is online in this test.
    v.send(json!({"type": "request_human"})).await;
    let offline = v.until(|f| f["decision"] == "offline").await;
    assert!(
        offline["text"]
            .as_str()
            .unwrap()
            .starts_with("Ahora mismo no hay nadie del equipo"),
        "{offline}"
    );
    assert_eq!(offline["lang"], "es");
}

#[actix_web::test]
async fn the_language_follows_the_visitor_not_the_browser() {
    let app = spawn_app_on(sqlite_store(), sample_kb(), |_| {}).await;
    let mut v = Visitor::connect(&app, None).await.expect("connects");
    v.hello(json!({"type": "hello", "locale": "en-GB"})).await;
    v.say("Wo ist meine Bestellung?").await;
    let answer = v.bot_answer().await;
    assert_eq!(
        (answer["faq"].as_str(), answer["lang"].as_str()),
        (Some("track-order"), Some("de"))
    );
    // A message with no language of its own stays in the conversation's.
    v.say("ok danke").await;
    let next = v.bot_answer().await;
    assert_eq!(next["lang"], "de", "{next}");
    // Reconnecting tells the widget the conversation's language.
    let again = v.hello_again_elsewhere().await;
    assert_eq!(again["language"], "de");
}

#[actix_web::test]
async fn an_faq_without_a_translation_is_answered_in_the_default_language_and_says_so() {
    let app = spawn_app_on(sqlite_store(), half_translated(), |_| {}).await;
    let mut v = Visitor::connect(&app, None).await.expect("connects");
    v.hello(json!({"type": "hello", "locale": "es"})).await;
    v.say("¿aceptáis PayPal o Klarna?").await;
    let answer = v.bot_answer().await;
    assert_eq!(answer["faq"], "payment-methods", "{answer}");
    let text = answer["text"].as_str().unwrap();
    assert!(
        text.starts_with("Esta respuesta aún no está disponible en español:")
            && text.contains("We accept cards, PayPal and Klarna."),
        "{text}"
    );
    v.say("¿cuántos días tengo para devolver?").await;
    let translated = v.bot_answer().await;
    assert!(
        translated["text"]
            .as_str()
            .unwrap()
            .starts_with("Las devoluciones son gratis"),
        "{translated}"
    );
}
