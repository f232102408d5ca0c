//! One change to a conversation in Redis, decided in Rust: the store reads the conversation (and
//! whatever else the rule needs: a client key, an agent's load, the ticket counter), applies
//! `conversation::bookkeeping` to it, and writes the difference with one generic check-and-write
//! script (`scripts/commit.lua`). The script runs the writes only if everything the decision read
//! is still as it was (the conversation's `version`, which every step raises, and each other value
//! read); otherwise the store reads and decides again. So the rules exist once, in Rust, for all
//! three stores, and the script knows none of them.

use std::collections::HashMap;

use serde::Serialize;

use crate::conversation::{Conversation, ConversationId, ConversationState, Event};
use crate::ports::{StoreError, StoreResult};
use crate::store::keys::Keys;

/// A conversation as a step read it: what the rules decide on, and its hash as stored (the step
/// writes only the fields that differ from it).
pub(super) struct Read {
    pub conversation: Conversation,
    /// Its place in line (kept while the handoff lasts).
    pub ticket: Option<u64>,
    raw: HashMap<String, String>,
}

impl Read {
    /// `None` when the hash is empty (there is no such conversation).
    pub fn parse(id: &ConversationId, raw: HashMap<String, String>) -> StoreResult<Option<Read>> {
        let Some(conversation) = super::conversation_from(id, &raw)? else {
            return Ok(None);
        };
        let ticket =
            match raw.get("ticket") {
                Some(t) => Some(t.parse().map_err(|_| {
                    StoreError::Corrupt(format!("conversation {id}: field `ticket`"))
                })?),
                None => None,
            };
        Ok(Some(Read {
            conversation,
            ticket,
            raw,
        }))
    }

    /// The version it was read at ('' before any step raised it).
    fn version(&self) -> &str {
        self.raw.get("version").map_or("", String::as_str)
    }
}

/// The checks and writes of one step, as `commit.lua` runs them.
#[derive(Debug, Default, Serialize)]
pub(super) struct Step {
    #[serde(skip)]
    keys: Vec<String>,
    checks: Vec<Vec<String>>,
    writes: Vec<Vec<String>>,
}

impl Step {
    /// The step's keys, in the order the script's `KEYS` holds them.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The script's one argument.
    pub fn encode(&self) -> StoreResult<String> {
        super::json(self)
    }

    /// `key`'s index in `KEYS` (1-based, as Lua counts), added if new.
    fn key(&mut self, key: String) -> String {
        let at = match self.keys.iter().position(|k| *k == key) {
            Some(at) => at,
            None => {
                self.keys.push(key);
                self.keys.len() - 1
            }
        };
        (at + 1).to_string()
    }

    /// Writes nothing unless `command key args...` still replies `expected` ('' for nil).
    pub fn check(&mut self, command: &str, key: String, args: &[&str], expected: &str) {
        let mut op = vec![command.to_owned(), self.key(key)];
        op.extend(args.iter().map(|a| (*a).to_owned()));
        op.push(expected.to_owned());
        self.checks.push(op);
    }

    /// `command key args...` (`key: None` for a command without one, e.g. PUBLISH).
    pub fn write<I, S>(&mut self, command: &str, key: Option<String>, args: I)
    where
        I: IntoIterator<Item = S>,
        S: ToString,
    {
        let key = key.map_or_else(|| "0".to_owned(), |k| self.key(k));
        let mut op = vec![command.to_owned(), key];
        op.extend(args.into_iter().map(|a| a.to_string()));
        self.writes.push(op);
    }

    /// The step that turns `read` into `after` (its place in line now `ticket`) with `events`
    /// appended: the fields that changed, the log, the bus, and what the change means for the
    /// queue, the agents' chats and the follow-ups. Written only if the conversation is still at
    /// the version it was read at.
    pub fn change(
        keys: &Keys,
        read: &Read,
        after: &Conversation,
        ticket: Option<u64>,
        events: &[Event],
        now: u64,
    ) -> StoreResult<Step> {
        let before = &read.conversation;
        let id = &before.id;
        let conv = keys.conv(id);
        let mut step = Step::default();
        step.check("HGET", conv.clone(), &["version"], read.version());
        step.write("HINCRBY", Some(conv.clone()), ["version", "1"]);
        let mut set = Vec::new();
        let mut unset = Vec::new();
        for (field, value) in fields(after, ticket)? {
            match value {
                Some(v) if read.raw.get(field) != Some(&v) => set.extend([field.to_owned(), v]),
                None if read.raw.contains_key(field) => unset.push(field),
                _ => {}
            }
        }
        if !set.is_empty() {
            step.write("HSET", Some(conv.clone()), set);
        }
        if !unset.is_empty() {
            step.write("HDEL", Some(conv), unset);
        }
        for event in events {
            let json = super::json(event)?;
            step.write("PUBLISH", None, [keys.bus(id), signal(&json)]);
            step.write("RPUSH", Some(keys.log(id)), [json]);
        }
        let mut routing = before.state != after.state;
        let queued = |c: &Conversation| c.state == ConversationState::Queued;
        if let (true, Some(t)) = (queued(after), ticket) {
            if !queued(before) || read.ticket != Some(t) {
                step.write("ZADD", Some(keys.queue()), [t.to_string(), id.to_string()]);
                routing = true;
            }
        } else if queued(before) {
            step.write("ZREM", Some(keys.queue()), [id.as_str()]);
            routing = true;
        }
        if before.agent != after.agent {
            if let Some(agent) = &before.agent {
                step.write("ZREM", Some(keys.agent_chats(agent)), [id.as_str()]);
            }
            if let Some(agent) = &after.agent {
                let since = after.assigned_at.unwrap_or(now).to_string();
                step.write(
                    "ZADD",
                    Some(keys.agent_chats(agent)),
                    [since, id.to_string()],
                );
                step.write("SADD", Some(keys.agents()), [agent]);
                step.write(
                    "HSET",
                    Some(keys.agent(agent)),
                    ["last_assigned".to_owned(), now.to_string()],
                );
            }
            routing = true;
        }
        if before.needs_follow_up != after.needs_follow_up {
            if after.needs_follow_up {
                let since = after.updated.to_string();
                step.write("ZADD", Some(keys.follow_ups()), ["NX", &since, id.as_str()]);
            } else {
                step.write("ZREM", Some(keys.follow_ups()), [id.as_str()]);
            }
            routing = true;
        }
        if routing {
            step.write("PUBLISH", None, [keys.routing(), "1".to_owned()]);
        }
        Ok(step)
    }

    /// The step that erases `read`'s conversation and every trace of it.
    pub fn erase(keys: &Keys, read: &Read) -> Step {
        let c = &read.conversation;
        let id = &c.id;
        let mut step = Step::default();
        step.check("HGET", keys.conv(id), &["version"], read.version());
        step.write("DEL", Some(keys.conv(id)), [] as [&str; 0]);
        step.write("DEL", Some(keys.log(id)), [] as [&str; 0]);
        step.write("DEL", Some(keys.client_ids(id)), [] as [&str; 0]);
        step.write("ZREM", Some(keys.queue()), [id.as_str()]);
        step.write("ZREM", Some(keys.follow_ups()), [id.as_str()]);
        step.write("ZREM", Some(keys.conversations()), [id.as_str()]);
        if let Some(agent) = &c.agent {
            step.write("ZREM", Some(keys.agent_chats(agent)), [id.as_str()]);
        }
        if let Some(key) = &c.visitor_key {
            step.write("ZREM", Some(keys.visitor(key)), [id.as_str()]);
        }
        if read.ticket.is_some() || c.agent.is_some() || c.needs_follow_up {
            step.write("PUBLISH", None, [keys.routing(), "1".to_owned()]);
        }
        step
    }
}

/// The hash fields a step may change, as stored (`None`: absent). `token`, `visitor`,
/// `visitor_key` and `created` are written once, by `create`.
fn fields(
    c: &Conversation,
    ticket: Option<u64>,
) -> StoreResult<[(&'static str, Option<String>); 12]> {
    let flag = |b: bool| Some(if b { "1" } else { "0" }.to_owned());
    Ok([
        ("state", Some(c.state.name().to_owned())),
        ("reason", c.reason.as_ref().map(ToString::to_string)),
        ("resolution", c.resolution.clone()),
        ("agent", c.agent.clone()),
        ("ticket", ticket.map(|t| t.to_string())),
        ("enqueued_at", c.enqueued_at.map(|t| t.to_string())),
        ("assigned_at", c.assigned_at.map(|t| t.to_string())),
        ("answered", flag(c.agent_answered)),
        ("follow_up", flag(c.needs_follow_up)),
        ("memory", Some(super::json(&c.memory)?)),
        ("last_seq", Some(c.last_seq.to_string())),
        ("updated", Some(c.updated.to_string())),
    ])
}

/// The bus message for an event already encoded as `json` (a `Signal::Event`: the event's own
/// fields after the tag), so each event is encoded once.
fn signal(json: &str) -> String {
    format!(
        r#"{{"signal":"event",{}"#,
        json.strip_prefix('{').unwrap_or(json)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{EventBody, VisitorInfo};
    use crate::ports::Signal;

    #[test]
    fn an_event_encoded_once_reads_back_as_its_signal() {
        let event = Event {
            seq: 3,
            at: 42,
            body: EventBody::VisitorMessage {
                text: "hi".into(),
                client_id: "m-1".into(),
            },
        };
        let sent = signal(&serde_json::to_string(&event).unwrap());
        assert_eq!(
            serde_json::from_str::<Signal>(&sent).unwrap(),
            Signal::Event(event)
        );
    }

    #[test]
    fn a_step_writes_only_what_changed_and_checks_the_version_it_read() {
        let keys = Keys::new("p");
        let c = Conversation::new(ConversationId::random(), VisitorInfo::default());
        let mut raw: HashMap<String, String> = fields(&c, None)
            .unwrap()
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_owned(), v?)))
            .collect();
        raw.insert("visitor".into(), "{}".into());
        raw.insert("created".into(), c.created.to_string());
        raw.insert("version".into(), "7".into());
        let read = Read::parse(&c.id, raw).unwrap().unwrap();
        let mut after = read.conversation.clone();
        after.agent_answered = true;
        let step = Step::change(&keys, &read, &after, None, &[], 1).unwrap();
        assert_eq!(step.checks, vec![vec!["HGET", "1", "version", "7"]]);
        assert_eq!(
            step.writes,
            vec![
                vec!["HINCRBY", "1", "version", "1"],
                vec!["HSET", "1", "answered", "1"],
            ],
            "one field changed, no state change: nothing else is written"
        );
    }
}
