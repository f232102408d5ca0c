//! Every Redis key and channel name the Redis store uses, built in this one place from the
//! configured prefix. The scripts build none: they get every name as a key or an argument.
//!
//! ```text
//! {p}:conv:{id}          HASH   token, state, reason, agent, ticket, enqueued_at, assigned_at,
//!                               answered, follow_up, visitor (JSON), memory (JSON), last_seq,
//!                               created, updated, visitor_key, version (raised by every
//!                               change: what a step's check-and-write compares)
//! {p}:conv:{id}:log      LIST   events as JSON; seq n sits at index n - 1
//! {p}:conv:{id}:cids     HASH   visitor client_id -> seq (resends are not stored twice)
//! {p}:queue              ZSET   conversation id -> ticket (arrival order; kept on requeue)
//! {p}:tickets            STRING the last ticket handed out
//! {p}:waits              LIST   the most recent waits in ms (for the estimate)
//! {p}:agents             SET    every agent id that has set a presence or had a chat
//! {p}:agent:{id}         HASH   presence, last_assigned
//! {p}:agent:{id}:alive   STRING with a TTL: present while the heartbeat is renewed
//! {p}:agent:{id}:chats   ZSET   conversation id -> assigned at
//! {p}:followups          ZSET   conversation id -> when the offline message came
//! {p}:session:{secret}   STRING agent id, with the session's TTL
//! {p}:tokens             HASH   API token name -> its record as JSON (hash, scopes, created)
//! {p}:token_hashes       HASH   SHA-256 of an API token -> its name
//! {p}:visitor:{key}      ZSET   conversation id -> created (one visitor's conversations)
//! {p}:conversations      ZSET   conversation id -> created (reports, retention)
//! channels: {p}:bus:{id} (a conversation's signals), {p}:routing (queue/agents changed)
//! ```

use crate::conversation::{ConversationId, VisitorKey};

#[derive(Debug, Clone)]
pub(crate) struct Keys {
    prefix: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Keys {
        Keys {
            prefix: prefix.to_owned(),
        }
    }

    pub fn conv(&self, id: &ConversationId) -> String {
        format!("{}:conv:{id}", self.prefix)
    }

    pub fn log(&self, id: &ConversationId) -> String {
        format!("{}:conv:{id}:log", self.prefix)
    }

    pub fn client_ids(&self, id: &ConversationId) -> String {
        format!("{}:conv:{id}:cids", self.prefix)
    }

    pub fn queue(&self) -> String {
        format!("{}:queue", self.prefix)
    }

    pub fn tickets(&self) -> String {
        format!("{}:tickets", self.prefix)
    }

    pub fn waits(&self) -> String {
        format!("{}:waits", self.prefix)
    }

    pub fn agents(&self) -> String {
        format!("{}:agents", self.prefix)
    }

    pub fn agent(&self, agent: &str) -> String {
        format!("{}:agent:{agent}", self.prefix)
    }

    pub fn agent_alive(&self, agent: &str) -> String {
        format!("{}:agent:{agent}:alive", self.prefix)
    }

    pub fn agent_chats(&self, agent: &str) -> String {
        format!("{}:agent:{agent}:chats", self.prefix)
    }

    pub fn follow_ups(&self) -> String {
        format!("{}:followups", self.prefix)
    }

    pub fn tokens(&self) -> String {
        format!("{}:tokens", self.prefix)
    }

    /// The mail outbox: key -> entry (JSON).
    pub fn outbox(&self) -> String {
        format!("{}:outbox", self.prefix)
    }

    /// Pending mails by due time.
    pub fn outbox_due(&self) -> String {
        format!("{}:outbox_due", self.prefix)
    }

    /// Every kept mail by the time it was queued.
    pub fn outbox_order(&self) -> String {
        format!("{}:outbox_order", self.prefix)
    }

    /// The key mail links and reply addresses are signed with (made once).
    pub fn mail_key(&self) -> String {
        format!("{}:mail_key", self.prefix)
    }

    /// How far each conversation's visitor has had it: conversation ids scored by `seq`.
    pub fn delivered(&self) -> String {
        format!("{}:delivered", self.prefix)
    }

    /// The editors' record: a list, newest first.
    pub fn kb_edits(&self) -> String {
        format!("{}:kb_edits", self.prefix)
    }

    pub fn token_hashes(&self) -> String {
        format!("{}:token_hashes", self.prefix)
    }

    pub fn session(&self, secret: &str) -> String {
        format!("{}:session:{secret}", self.prefix)
    }

    pub fn visitor(&self, key: &VisitorKey) -> String {
        format!("{}:visitor:{}", self.prefix, key.as_str())
    }

    pub fn conversations(&self) -> String {
        format!("{}:conversations", self.prefix)
    }

    pub fn bus(&self, id: &ConversationId) -> String {
        format!("{}:bus:{id}", self.prefix)
    }

    /// The pattern matching every conversation's bus channel.
    pub fn bus_pattern(&self) -> String {
        format!("{}:bus:*", self.prefix)
    }

    /// The conversation id in a bus channel's name.
    pub fn bus_conversation(&self, channel: &str) -> Option<ConversationId> {
        channel
            .strip_prefix(&self.prefix)?
            .strip_prefix(":bus:")
            .and_then(ConversationId::parse)
    }

    pub fn routing(&self) -> String {
        format!("{}:routing", self.prefix)
    }

    /// The channel on which a node says the knowledge base's files changed.
    pub fn knowledge_base(&self) -> String {
        format!("{}:kb_changed", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bus_channels_name_their_conversation() {
        let keys = Keys::new("fd:t1");
        let id = ConversationId::random();
        assert_eq!(keys.bus_conversation(&keys.bus(&id)), Some(id));
        assert_eq!(keys.bus_conversation("fd:t2:bus:x"), None);
    }
}
