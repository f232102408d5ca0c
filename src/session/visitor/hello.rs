//! `hello`: who the visitor is (a verified identity, or a guest with this browser's key) and
//! which conversation the socket binds to, resumed by token or new, then what the client missed.

use super::{Bound, Ctx, Peer};
use crate::conversation::{
    ConversationId, ConversationState, Opened, VisitorInfo, VisitorKey, now_ms,
};
use crate::mail::sign::{Purpose, TokenError};
use crate::ports::StoreResult;
use crate::protocol::{ErrorCode, Hello, PROTOCOL_VERSION, ServerFrame};
use crate::session::error::{Handled, SessionError};

/// Binds the socket to a resumed or new conversation and replays what the client missed. A
/// refused identity claim is told; when chatting needs one, the socket stays unbound and the
/// client may say `hello` again.
pub(super) async fn start(
    ctx: &mut Ctx<'_>,
    bound: &mut Option<Bound>,
    peer: &Peer,
    hello: Hello,
) -> Handled {
    let verified = match identify(ctx, hello.user_id.as_deref(), hello.user_hash.as_deref()) {
        Ok(verified) => verified,
        Err((message, fatal)) => {
            ctx.error(ErrorCode::IdentityRefused, &message).await?;
            if fatal {
                return Ok(());
            }
            None
        }
    };
    // A verified visitor's conversations are linked across browsers; otherwise by the key this
    // browser was given.
    let visitor_key = match (&verified, &ctx.state.identity) {
        (Some(id), Some(secret)) => Some(secret.visitor_key(id)),
        _ => hello.visitor_key.as_deref().and_then(VisitorKey::parse),
    };
    let visitor = VisitorInfo {
        user_id: verified,
        name: hello.name,
        email: hello.email,
        page: hello.page,
        locale: hello.locale,
        tz: hello.tz,
    };
    let conversations = &ctx.state.conversations;
    let opened = match link(ctx, hello.token.as_deref()).await? {
        Some(Ok(id)) => conversations.open_by_link(&id, &visitor).await?,
        Some(Err(e)) => {
            tracing::info!(error = %e, "a link to a conversation was refused");
            ctx.error(
                ErrorCode::UnknownToken,
                &format!("that link does not open a conversation ({e}); a new one starts"),
            )
            .await?;
            Opened::Fresh
        }
        None => {
            conversations
                .resume(hello.token.as_deref(), &visitor)
                .await?
        }
    };
    let was_resumed = matches!(opened, Opened::Resumed(..));
    let (conversation, token) = match opened {
        Opened::Resumed(conversation, token) => (*conversation, token),
        Opened::Unknown | Opened::Fresh => {
            if matches!(opened, Opened::Unknown) {
                ctx.error(
                    ErrorCode::UnknownToken,
                    "that conversation was not found; a new one starts",
                )
                .await?;
            }
            if peer
                .address
                .is_some_and(|a| !ctx.state.new_conversations.allow(&a))
            {
                return Err(SessionError::refused(
                    ErrorCode::RateLimited,
                    "too many new conversations from your address; wait a minute",
                ));
            }
            ctx.state
                .conversations
                .start(visitor, visitor_key.clone())
                .await?
        }
    };
    // Subscribe before reading the log, so nothing appended in between is missed.
    let bus = ctx.state.store.bus().subscribe(&conversation.id);
    ctx.send(&ServerFrame::Welcome {
        v: PROTOCOL_VERSION,
        token: token.expose(),
        conversation: conversation.id.to_string(),
        state: conversation.state,
        resumed: was_resumed,
        // A verified visitor's key is derived from their id on every hello: the browser is not
        // given it, so a guest after them on this browser cannot present it.
        visitor_key: conversation
            .visitor_key
            .clone()
            .or(visitor_key)
            .filter(|_| conversation.visitor.user_id.is_none())
            .map(|k| k.as_str().to_owned()),
        language: Some(
            ctx.state
                .matcher
                .load()
                .for_language(conversation.memory.language.as_deref())
                .language()
                .to_owned(),
        ),
        agent: conversation
            .agent
            .as_deref()
            .filter(|_| conversation.state == ConversationState::Assigned)
            .map(|id| {
                ctx.state
                    .roster
                    .get(id)
                    .map_or(id, |a| a.name.as_str())
                    .to_owned()
            }),
        agent_answered: conversation.agent_answered,
        max_frame_bytes: ctx.state.settings.max_frame_bytes,
        max_file_bytes: ctx.state.attachments.max_bytes,
        file_types: ctx.state.attachments.mime_types(),
        mail: ctx.state.postbox.is_some(),
    })
    .await?;
    let mut b = Bound {
        id: conversation.id,
        bus,
        // A client cannot have seen past the end of the log.
        last_sent: if was_resumed {
            hello.last_seq.unwrap_or(0).min(conversation.last_seq)
        } else {
            0
        },
        seen: 0,
        queued: conversation.state == ConversationState::Queued,
        told: None,
        held: Default::default(),
        lost: false,
    };
    super::catch_up(ctx, &mut b).await?;
    *bound = Some(b);
    Ok(super::tell_queue_status(ctx, bound).await?)
}

/// The conversation a link from a mail opens (`<id>.<expiry>.<tag>`, as the widget found it in
/// the page's address), checked; `None` when `token` is not a link (a resume token, or no
/// mail on this server).
async fn link(
    ctx: &Ctx<'_>,
    token: Option<&str>,
) -> StoreResult<Option<Result<ConversationId, TokenError>>> {
    let (Some(postbox), Some(token)) = (&ctx.state.postbox, token) else {
        return Ok(None);
    };
    if token.matches('.').count() != 2 {
        return Ok(None);
    }
    let signer = postbox.signer().await?;
    Ok(Some(signer.check(Purpose::Open, token, now_ms() / 1000)))
}

/// Checks a `hello`'s identity claim: the verified id (or none). `Err` says why the claim was
/// refused and whether chatting is refused too (`require_identity`).
fn identify(
    ctx: &Ctx<'_>,
    user_id: Option<&str>,
    user_hash: Option<&str>,
) -> Result<Option<String>, (String, bool)> {
    let required = ctx.state.settings.require_identity;
    match (&ctx.state.identity, user_id) {
        // Nothing to verify a claim with: it is not taken.
        (None, _) => Ok(None),
        (Some(secret), Some(id)) => secret.verify(id, user_hash).map(Some).map_err(|e| {
            let then = if required {
                "this site only chats with signed-in visitors"
            } else {
                "you can still chat, as a guest"
            };
            (format!("identity refused: {e}; {then}"), required)
        }),
        (Some(_), None) if required => Err((
            "this site only chats with signed-in visitors: send user_id and user_hash".into(),
            true,
        )),
        (Some(_), None) => Ok(None),
    }
}
