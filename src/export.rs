//! What leaves frontdesk for other systems, in one representation. A conversation is a
//! `ConversationRecord`: what `GET /api/v1/conversations/{id}` returns, what a webhook carries
//! and what `frontdesk export` writes, one per line. A visitor's access request is a
//! `VisitorBundle` (their conversations as the widget showed them). Listing pages through
//! conversations oldest first with an opaque cursor, reading only as many as a page needs.

use serde::{Deserialize, Serialize};

use crate::conversation::{Conversation, ConversationId, VisitorKey, now_ms};
use crate::conversation::{ConversationState, Event, EventBody, VisitorInfo};
use crate::ports::{Store, StoreResult};

/// A conversation as integrations see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationRecord {
    pub id: String,
    pub state: ConversationState,
    /// Why the bot let it go (`visitor_asked`, `frustrated`, `repeated_misses`, `rule:<id>`,
    /// `faq:<id>`, `team:<name>`, `transfer`, `agent_left`, `not_answered`).
    pub reason: Option<String>,
    /// How an agent closed it.
    pub resolution: Option<String>,
    /// The agent who has it (an agent id, or an API token's name).
    pub agent: Option<String>,
    pub visitor: VisitorInfo,
    /// Links one visitor's conversations (`/api/v1/visitors/{key}`).
    pub visitor_key: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created: u64,
    /// Last activity, ms.
    pub updated: u64,
    /// When it joined the queue, ms.
    pub enqueued_at: Option<u64>,
    /// When its agent got it, ms.
    pub assigned_at: Option<u64>,
    /// An offline message waits for a reply by e-mail.
    pub needs_follow_up: bool,
    /// The last event's number.
    pub last_seq: u64,
    /// The visitor's rating, if they gave one (the last one counts).
    pub rating: Option<Rating>,
    /// Every event in order, with the bot's explanation of each answer and internal notes;
    /// left out of lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<Event>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rating {
    /// 1 to 5.
    pub score: u8,
    pub comment: Option<String>,
}

impl ConversationRecord {
    /// The record of `c`, with `events` when given (its rating is read from them).
    pub fn new(c: &Conversation, events: Option<Vec<Event>>) -> ConversationRecord {
        let rating = events.as_deref().and_then(rating_in);
        ConversationRecord {
            id: c.id.to_string(),
            state: c.state,
            reason: c.reason.as_ref().map(ToString::to_string),
            resolution: c.resolution.clone(),
            agent: c.agent.clone(),
            visitor: c.visitor.clone(),
            visitor_key: c.visitor_key.as_ref().map(|k| k.as_str().to_owned()),
            created: c.created,
            updated: c.updated,
            enqueued_at: c.enqueued_at,
            assigned_at: c.assigned_at,
            needs_follow_up: c.needs_follow_up,
            last_seq: c.last_seq,
            rating,
            events,
        }
    }
}

fn rating_in(events: &[Event]) -> Option<Rating> {
    events.iter().rev().find_map(|e| match &e.body {
        EventBody::Rating { score, comment } => Some(Rating {
            score: *score,
            comment: comment.clone(),
        }),
        _ => None,
    })
}

/// Conversation `id` with every event, `None` if it does not exist.
pub async fn conversation(
    store: &dyn Store,
    id: &ConversationId,
) -> StoreResult<Option<ConversationRecord>> {
    let Some(c) = store.get(id).await? else {
        return Ok(None);
    };
    let events = store.events_after(id, 0).await?;
    Ok(Some(ConversationRecord::new(&c, Some(events))))
}

/// Which conversations a list or an export wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Created at or after, ms.
    pub from: u64,
    /// Created before, ms (`None`: up to now).
    pub to: Option<u64>,
    pub state: Option<ConversationState>,
    pub visitor: Option<VisitorKey>,
    /// The agent who has it now.
    pub agent: Option<String>,
    /// Waiting for, or handed to, this team.
    pub team: Option<String>,
}

impl Filter {
    fn wants(&self, c: &Conversation) -> bool {
        self.state.is_none_or(|s| c.state == s)
            && self
                .agent
                .as_deref()
                .is_none_or(|a| c.agent.as_deref() == Some(a))
            && self
                .team
                .as_deref()
                .is_none_or(|t| c.reason.as_ref().and_then(|r| r.team()) == Some(t))
    }
}

/// Where the next page starts: after the conversation created at `created` with `id`. Shown to
/// clients as `<created>.<id>`, which they pass back unread.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    created: u64,
    id: ConversationId,
}

impl Cursor {
    pub fn parse(raw: &str) -> Option<Cursor> {
        let (created, id) = raw.split_once('.')?;
        Some(Cursor {
            created: created.parse().ok()?,
            id: ConversationId::parse(id)?,
        })
    }

    pub fn encode(&self) -> String {
        format!("{}.{}", self.created, self.id)
    }
}

/// One page of a list.
pub struct Page {
    pub items: Vec<ConversationRecord>,
    /// Present when more may follow.
    pub next: Option<Cursor>,
}

/// Up to `limit` conversations that `filter` wants, oldest first, after `after`; each with its
/// events when `with_events` (exports), else without (lists).
pub async fn page(
    store: &dyn Store,
    filter: &Filter,
    after: Option<&Cursor>,
    limit: usize,
    with_events: bool,
) -> StoreResult<Page> {
    let from = after.map_or(filter.from, |c| c.created.max(filter.from));
    let to = filter.to.unwrap_or_else(|| now_ms() + 1);
    let ids = match &filter.visitor {
        Some(key) => store.visitor_conversations(key).await?,
        None => store.conversations_created(from, to).await?,
    };
    // Conversations created in the same millisecond keep the store's order: the page starts
    // after the cursor's own conversation.
    let start = after
        .and_then(|c| ids.iter().position(|id| *id == c.id))
        .map_or(0, |at| at + 1);
    let mut items = Vec::new();
    let mut next = None;
    for id in &ids[start..] {
        let Some(c) = store.get(id).await? else {
            continue;
        };
        let in_period = c.created >= from && c.created < to;
        // A cursor whose conversation was erased: skip what it had already passed.
        let passed = after.is_some_and(|cur| start == 0 && c.created <= cur.created);
        if !in_period || passed || !filter.wants(&c) {
            continue;
        }
        if items.len() == limit {
            next = items.last().map(|last: &ConversationRecord| Cursor {
                created: last.created,
                id: ConversationId::parse(&last.id).expect("a record's id came from an id"),
            });
            break;
        }
        let events = store.events_after(id, 0).await?;
        let mut record = ConversationRecord::new(&c, Some(events));
        if !with_events {
            record.events = None;
        }
        items.push(record);
    }
    Ok(Page { items, next })
}

/// Everything held about one visitor, for their access request: each conversation as the
/// widget showed it (no internal notes, no explanations).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VisitorBundle {
    pub visitor_key: String,
    /// When this export was made, ms.
    pub exported_at: u64,
    pub conversations: Vec<ConversationRecord>,
    /// The files in those conversations, with their bytes (the API's export adds them).
    #[serde(default)]
    pub files: Vec<BundledFile>,
}

/// One attachment of an access export: which conversation, what it is, and its bytes.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BundledFile {
    pub conversation: String,
    #[serde(flatten)]
    pub file: crate::conversation::Attachment,
    /// The bytes as kept, base64 (standard alphabet, padded).
    pub base64: String,
}

pub async fn visitor_bundle(store: &dyn Store, key: &VisitorKey) -> StoreResult<VisitorBundle> {
    let mut conversations = Vec::new();
    for id in store.visitor_conversations(key).await? {
        let Some(c) = store.get(&id).await? else {
            continue;
        };
        let seen: Vec<Event> = store
            .events_after(&id, 0)
            .await?
            .iter()
            .filter_map(Event::for_visitor)
            .collect();
        conversations.push(ConversationRecord::new(&c, Some(seen)));
    }
    Ok(VisitorBundle {
        visitor_key: key.as_str().to_owned(),
        exported_at: now_ms(),
        conversations,
        files: Vec::new(),
    })
}

/// The CSV export's columns: one row per event.
pub const CSV_HEADER: [&str; 9] = [
    "conversation",
    "created",
    "state",
    "visitor_key",
    "seq",
    "at",
    "kind",
    "author",
    "text",
];

/// The CSV rows of one conversation (it must carry its events).
pub fn csv_rows(record: &ConversationRecord) -> Vec<[String; 9]> {
    let state = serde_json::to_value(record.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    record
        .events
        .iter()
        .flatten()
        .map(|e| {
            let (kind, author, text) = describe(&e.body);
            [
                record.id.clone(),
                record.created.to_string(),
                state.clone(),
                record.visitor_key.clone().unwrap_or_default(),
                e.seq.to_string(),
                e.at.to_string(),
                kind.to_owned(),
                author,
                text,
            ]
        })
        .collect()
}

/// A file as a spreadsheet cell: its name, type, size and id.
fn file_line(file: &crate::conversation::Attachment) -> String {
    format!(
        "{} ({}, {} bytes, attachment {})",
        file.name, file.content_type, file.size, file.id
    )
}

/// An event's kind, who wrote it and its text, flattened for a spreadsheet.
fn describe(body: &EventBody) -> (&'static str, String, String) {
    match body {
        EventBody::VisitorMessage { text, .. } => {
            ("visitor_message", "visitor".into(), text.clone())
        }
        EventBody::BotAnswer { text, .. } => ("bot_answer", "bot".into(), text.clone()),
        EventBody::VisitorFile { file, .. } => ("visitor_file", "visitor".into(), file_line(file)),
        EventBody::AgentFile { agent, file, .. } => ("agent_file", agent.clone(), file_line(file)),
        EventBody::VisitorChoice { title, .. } => {
            ("visitor_choice", "visitor".into(), title.clone())
        }
        EventBody::OfflineMessage { email, text } => (
            "offline_message",
            format!("visitor <{email}>"),
            text.clone(),
        ),
        EventBody::AgentMessage { agent, text, .. } => {
            ("agent_message", agent.clone(), text.clone())
        }
        EventBody::Note { agent, text, .. } => ("note", agent.clone(), text.clone()),
        EventBody::Notice { notice } => (
            "notice",
            "system".into(),
            serde_json::to_string(notice).unwrap_or_default(),
        ),
        EventBody::Feedback {
            answer_seq,
            helpful,
        } => (
            "feedback",
            "visitor".into(),
            format!(
                "answer {answer_seq}: {}",
                if *helpful { "helpful" } else { "not helpful" }
            ),
        ),
        EventBody::Rating { score, comment } => (
            "rating",
            "visitor".into(),
            match comment {
                Some(c) => format!("{score}/5: {c}"),
                None => format!("{score}/5"),
            },
        ),
    }
}
