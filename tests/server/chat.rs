use serde_json::json;

use crate::app::spawn_app;

#[actix_web::test]
async fn a_sample_faq_question_gets_its_answer() {
    let app = spawn_app().await;
    let mut v = app.visitor().await;
    v.say("how long does a refund take?").await;
    let echo = v.next().await;
    assert_eq!(echo["kind"], "visitor_message");
    assert_eq!(echo["seq"], 1);
    assert_eq!(echo["text"], "how long does a refund take?");
    let answer = v.bot_answer().await;
    assert_eq!(answer["seq"], 2);
    assert_eq!(answer["decision"], "answer");
    assert!(
        answer["html"]
            .as_str()
            .unwrap()
            .contains("<strong>3 working days</strong>"),
        "{answer}"
    );
    assert!(
        answer.get("explanation").is_none(),
        "visitors never see explanations"
    );
}

#[actix_web::test]
async fn a_greeting_gets_the_greeting_rule() {
    let app = spawn_app().await;
    let mut v = app.visitor().await;
    v.say("hello!").await;
    let answer = v.bot_answer().await;
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("Larkspur's assistant"),
        "{answer}"
    );
}

#[actix_web::test]
async fn a_vague_question_gets_options_and_choosing_one_answers_it() {
    let app = spawn_app().await;
    let mut v = app.visitor().await;
    v.say("late").await;
    let clarify = v.bot_answer().await;
    assert_eq!(clarify["decision"], "clarify", "{clarify}");
    let options = clarify["options"].as_array().unwrap();
    assert!((2..=3).contains(&options.len()), "{clarify}");
    let pick = options[0]["id"].as_str().unwrap().to_owned();
    v.send(json!({"type": "choose", "option": pick})).await;
    let choice = v.until(|f| f["kind"] == "visitor_choice").await;
    assert_eq!(choice["option"], pick.as_str());
    let answer = v.bot_answer().await;
    assert_eq!(answer["decision"], "answer");
}

#[actix_web::test]
async fn talk_to_a_human_queues_the_conversation_and_the_bot_goes_silent() {
    let app = spawn_app().await;
    let _ann = app.agent("ann").await;
    let mut v = app.visitor().await;
    v.say("I want to talk to a human").await;
    // First what happens, then the status change: never "Ann joined" before "connecting you".
    let told = v.bot_answer().await;
    assert_eq!(told["decision"], "handoff");
    assert!(
        told["text"].as_str().unwrap().contains("number 1 in line"),
        "{told}"
    );
    let queued = v.until(|f| f["kind"] == "notice").await;
    assert_eq!(
        queued["notice"],
        json!({"notice": "queued", "reason": "visitor_asked", "reason_kind": "visitor_asked"})
    );
    assert_eq!(
        queued["seq"].as_u64().unwrap(),
        told["seq"].as_u64().unwrap() + 1
    );
    let place = v.until(|f| f["type"] == "queue").await;
    assert_eq!(place["position"], 1);
    v.say("where is my order?").await;
    let echo = v.next().await;
    assert_eq!(echo["kind"], "visitor_message");
    assert!(
        v.try_next(std::time::Duration::from_millis(500))
            .await
            .is_none(),
        "the bot stays silent while queued"
    );
}

#[actix_web::test]
async fn frustration_hands_off_with_its_reason() {
    let app = spawn_app().await;
    let _ann = app.agent("ann").await;
    let mut v = app.visitor().await;
    v.say("this is useless!!!").await;
    let queued = v.until(|f| f["kind"] == "notice").await;
    assert_eq!(queued["notice"]["reason"], "frustrated");
}

#[actix_web::test]
async fn the_talk_to_a_person_button_queues_with_visitor_asked() {
    let app = spawn_app().await;
    let _ann = app.agent("ann").await;
    let mut v = app.visitor().await;
    v.send(json!({"type": "request_human"})).await;
    let queued = v.until(|f| f["kind"] == "notice").await;
    assert_eq!(queued["notice"]["reason"], "visitor_asked");
}

#[actix_web::test]
async fn negative_feedback_is_recorded() {
    let app = spawn_app().await;
    let mut v = app.visitor().await;
    v.say("how do I reset my password").await;
    let answer = v.bot_answer().await;
    v.send(json!({"type": "feedback", "seq": answer["seq"], "helpful": false}))
        .await;
    let fb = v.until(|f| f["kind"] == "feedback").await;
    assert_eq!(fb["helpful"], false);
    assert_eq!(fb["answer_seq"], answer["seq"]);
    v.send(json!({"type": "feedback", "seq": 1, "helpful": true}))
        .await;
    let err = v.until(|f| f["type"] == "error").await;
    assert_eq!(
        err["code"], "invalid",
        "feedback on a visitor message is refused"
    );
}

#[actix_web::test]
async fn an_answer_takes_one_vote() {
    let app = spawn_app().await;
    let mut v = app.visitor().await;
    v.say("how do I reset my password").await;
    let answer = v.bot_answer().await;
    v.send(json!({"type": "feedback", "seq": answer["seq"], "helpful": true}))
        .await;
    v.until(|f| f["kind"] == "feedback").await;
    // Again, from a reloaded page that still showed the question.
    v.send(json!({"type": "feedback", "seq": answer["seq"], "helpful": false}))
        .await;
    let refused = v.until(|f| f["type"] == "error").await;
    assert_eq!(refused["code"], "invalid", "{refused}");
}

#[actix_web::test]
async fn an_answer_that_needs_a_person_is_given_and_then_the_chat_goes_to_one() {
    let app = spawn_app().await;
    let _ann = app.agent("ann").await;
    let mut v = app.visitor().await;
    v.say("how do I cancel my order?").await;
    let answer = v.bot_answer().await;
    assert_eq!(answer["decision"], "answer", "{answer}");
    assert_eq!(answer["faq"], "cancel-order");
    assert!(
        answer["text"].as_str().unwrap().contains("colleague"),
        "{answer}"
    );
    // Then handed over, with the FAQ as the reason: the reply goes to a person, not the bot.
    let queued = v.until(|f| f["kind"] == "notice").await;
    assert_eq!(queued["notice"]["reason"], "faq:cancel-order", "{queued}");
    let place = v.until(|f| f["type"] == "queue").await;
    assert_eq!(place["position"], 1);
}
