//! The staff pages' files (`/pages/<name>`: the console's and the admin page's scripts, the
//! module both import, `common.js`, and their shared style, `common.css`), and the JSON Schemas of everything the pages read from the server (both
//! sockets' frames, the admin report). `frontdesk schema` prints those schemas;
//! `widget/types/frames.d.ts` is generated from them and the pages are type-checked against it
//! in `scripts/test`, so a change of a frame that a page misses fails there.

use actix_web::{HttpResponse, http::header, web};
use utoipa::OpenApi;

use crate::protocol::{AgentFrame, AgentServerFrame, ServerFrame, VisitorFrame};

const JS: &str = "application/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The staff pages' scripts and shared style, by the name they are served (and imported) under.
static FILES: &[(&str, &str, &str)] = &[
    ("common.js", JS, include_str!("../../widget/common.js")),
    ("common.css", CSS, include_str!("../../widget/common.css")),
    ("console.js", JS, include_str!("../../widget/console.js")),
    (
        "console-state.js",
        JS,
        include_str!("../../widget/console-state.js"),
    ),
    (
        "console-lists.js",
        JS,
        include_str!("../../widget/console-lists.js"),
    ),
    (
        "console-chat.js",
        JS,
        include_str!("../../widget/console-chat.js"),
    ),
    (
        "console-transcript.js",
        JS,
        include_str!("../../widget/console-transcript.js"),
    ),
    (
        "console-visitor.js",
        JS,
        include_str!("../../widget/console-visitor.js"),
    ),
    (
        "console-composer.js",
        JS,
        include_str!("../../widget/console-composer.js"),
    ),
    ("admin.js", JS, include_str!("../../widget/admin.js")),
    (
        "admin-editors.js",
        JS,
        include_str!("../../widget/admin-editors.js"),
    ),
];

/// The widget's modules, loaded by `/widget.js` from `/widget/<name>` (on the sites' pages, so
/// from other origins: CORS lets any page load them; they are public code).
static WIDGET_FILES: &[(&str, &str)] = &[
    ("widget-app.js", include_str!("../../widget/widget-app.js")),
    (
        "widget-state.js",
        include_str!("../../widget/widget-state.js"),
    ),
    (
        "widget-texts.js",
        include_str!("../../widget/widget-texts.js"),
    ),
    (
        "widget-style.js",
        include_str!("../../widget/widget-style.js"),
    ),
    (
        "widget-panel.js",
        include_str!("../../widget/widget-panel.js"),
    ),
    (
        "widget-transcript.js",
        include_str!("../../widget/widget-transcript.js"),
    ),
    (
        "widget-composer.js",
        include_str!("../../widget/widget-composer.js"),
    ),
    (
        "widget-outbox.js",
        include_str!("../../widget/widget-outbox.js"),
    ),
    (
        "widget-forms.js",
        include_str!("../../widget/widget-forms.js"),
    ),
    (
        "widget-files.js",
        include_str!("../../widget/widget-files.js"),
    ),
];

/// `/widget/{name}`: one of the widget's modules, or 404.
pub(crate) async fn widget_module(name: web::Path<String>) -> HttpResponse {
    match WIDGET_FILES.iter().find(|(n, _)| *n == name.as_str()) {
        Some((_, body)) => HttpResponse::Ok()
            .content_type(JS)
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .body(*body),
        None => HttpResponse::NotFound().finish(),
    }
}

/// A script of ours, as the browser expects it.
pub(crate) fn javascript(body: &'static str) -> HttpResponse {
    HttpResponse::Ok().content_type(JS).body(body)
}

/// `/pages/{name}`: one of `FILES`, or 404.
pub(crate) async fn file(name: web::Path<String>) -> HttpResponse {
    match FILES.iter().find(|(n, _, _)| *n == name.as_str()) {
        Some((_, kind, body)) => HttpResponse::Ok().content_type(*kind).body(*body),
        None => HttpResponse::NotFound().finish(),
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "frontdesk: what the pages read",
        description = "The frames of the visitor socket (/ws) and the agent socket (/ws/agent), \
                       and the admin page's report, as JSON Schemas (docs/protocol.md)."
    ),
    components(schemas(
        VisitorFrame,
        ServerFrame,
        AgentFrame,
        AgentServerFrame,
        super::admin::AdminReport,
        crate::kb_writes::Tried,
        crate::kb_writes::Applied,
        crate::kb_writes::FaqList,
        crate::kb_writes::Preview,
        crate::kb_test::Suite,
        crate::ports::KbEdit,
        super::admin::OutboxView
    ))
)]
struct PagesSchema;

/// The schemas as a pretty-printed OpenAPI 3.1 document (components only).
pub fn schema() -> String {
    PagesSchema::openapi()
        .to_pretty_json()
        .expect("the schema document is plain data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_every_frame_and_the_report() {
        let doc: serde_json::Value = serde_json::from_str(&schema()).unwrap();
        let schemas = &doc["components"]["schemas"];
        for name in [
            "VisitorFrame",
            "ServerFrame",
            "AgentFrame",
            "AgentServerFrame",
            "AdminReport",
            "Event",
            "Reason",
        ] {
            assert!(schemas.get(name).is_some(), "{name} missing: {doc:#}");
        }
    }

    #[test]
    fn explanations_as_written_are_what_the_schema_says() {
        // The console reads explanations through the schema's types: every field a real one is
        // written with is declared there, and every field declared required is written.
        let doc: serde_json::Value = serde_json::from_str(&schema()).unwrap();
        let declared = &doc["components"]["schemas"]["Explanation"];
        let properties = declared["properties"].as_object().unwrap();
        let required: Vec<&str> = declared["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r.as_str())
            .collect();
        let kb = crate::knowledge_base::load(std::path::Path::new("knowledge_base"))
            .unwrap()
            .kb;
        let matcher = crate::matcher::Matcher::build(kb).unwrap();
        let mut memory = crate::matcher::Memory::default();
        for text in [
            "how do i retrun an item and how much is shipping",
            "this is USELESS!!! let me talk to a manager",
            "hello",
        ] {
            let turn = matcher.decide(&memory, text);
            memory = turn.memory.clone();
            let written = serde_json::to_value(&turn.explanation).unwrap();
            for (field, value) in written.as_object().unwrap() {
                assert!(
                    properties.contains_key(field),
                    "`{field}` is not in the schema"
                );
                if let Some(n) = value.as_f64() {
                    assert!(n.is_finite(), "`{field}` = {n}");
                }
            }
            for field in &required {
                assert!(
                    written.get(field).is_some(),
                    "`{field}` is required but not written"
                );
            }
        }
    }
}
