//! The routing simulation (test-only): random schedules of arrivals (with and without a team),
//! agents coming, going away and signing out, answering or ignoring their chats, transferring,
//! handing back and closing, time passing and routing rounds, checked against the router's
//! invariants after every round.
//!
//! Two worlds run the same schedules:
//! - **the model**: the decisions of `plan.rs` over a world kept in memory, on a clock the test
//!   moves (thousands of schedules, milliseconds each);
//! - **the stores**: the real `Router::round` against a real memory, SQLite or Redis store (on
//!   Redis, two routers on two connections, as two nodes), with `Conversations` doing what the
//!   consoles do. Time there is the wall clock, scaled down (a model second is a millisecond),
//!   and each invariant is checked at the `now` the round was given.
//!
//! The invariants (docs/agents.md, "Routing"):
//! (a) work-conserving: after a round no chat waits while an online agent eligible for it (its
//!     team, room left, not the agent who let it go within `reoffer_after`) has room;
//! (b) first come, first served: no agent is given a chat while an older one they could take
//!     still waits;
//! (c) never stranded: a chat an agent let go goes to another agent with room when there is one
//!     (and only then back to them, once `reoffer_after` has passed: (a) makes them eligible);
//! (d) a waiting visitor is told within seconds when no agent of its team is online (checked
//!     end to end in tests/server/routing.rs: it involves the consoles and the board);
//! (e) what the visitor is told is a true sequence: the notices in each log, replayed, are legal
//!     moves that end in the state the store has, with the agent it names.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::Router;
use super::plan::{self, Declines, Seat, Waiting};
use crate::agents::{Agent, Roster};
use crate::conversation::{ConversationId, VisitorInfo, now_ms};
use crate::conversation::{ConversationState, Conversations, EventBody, Notice, QueueReason};
use crate::knowledge_base::KnowledgeBase;
use crate::matcher::Matcher;
use crate::metrics::Metrics;
use crate::ports::{Presence, Store};
use crate::webhooks::Webhooks;

const TEAMS: [&str; 2] = ["billing", "sales"];
/// The model's timeouts, in model milliseconds.
const TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Debug, Clone)]
enum Op {
    Arrive {
        team: Option<usize>,
    },
    Presence {
        agent: usize,
        presence: Presence,
    },
    Answer {
        pick: usize,
    },
    /// 0: transfer to a team, 1: hand back to the bot, 2: close.
    Release {
        pick: usize,
        how: u8,
        team: usize,
    },
    Advance {
        ms: u64,
    },
    Round,
}

/// An agent of the schedule: capacity 1-3, some teams.
#[derive(Debug, Clone)]
struct AgentSpec {
    capacity: usize,
    teams: Vec<String>,
}

fn agents() -> impl Strategy<Value = Vec<AgentSpec>> {
    prop::collection::vec((1usize..=3, prop::collection::vec(0usize..2, 0..=2)), 1..=4).prop_map(
        |specs| {
            specs
                .into_iter()
                .map(|(capacity, teams)| {
                    let mut teams: Vec<String> =
                        teams.into_iter().map(|t| TEAMS[t].into()).collect();
                    teams.dedup();
                    AgentSpec { capacity, teams }
                })
                .collect()
        },
    )
}

fn op() -> impl Strategy<Value = Op> {
    let presence = prop_oneof![
        3 => Just(Presence::Online),
        1 => Just(Presence::Away),
        1 => Just(Presence::Offline),
    ];
    prop_oneof![
        4 => prop::option::weighted(0.3, 0usize..2).prop_map(|team| Op::Arrive { team }),
        2 => (0usize..4, presence).prop_map(|(agent, presence)| Op::Presence { agent, presence }),
        2 => (0usize..8).prop_map(|pick| Op::Answer { pick }),
        1 => (0usize..8, 0u8..3, 0usize..2).prop_map(|(pick, how, team)| Op::Release { pick, how, team }),
        3 => (0u64..120_000).prop_map(|ms| Op::Advance { ms }),
        4 => Just(Op::Round),
    ]
}

fn id_of(i: usize) -> String {
    format!("a{i}")
}

fn seat(i: usize, spec: &AgentSpec, presence: Presence, load: usize) -> Seat {
    Seat {
        id: id_of(i),
        presence,
        load,
        capacity: spec.capacity,
        teams: spec.teams.clone(),
        last_assigned: 0,
    }
}

/// A chat waits when it is eligible for `s` under the router's rules at `now`.
fn may_take(s: &Seat, chat: &Waiting, declines: &Declines, now: u64, reoffer: Duration) -> bool {
    s.can_take(chat.team.as_deref())
        && declines
            .when(&chat.id, &s.id)
            .is_none_or(|at| now.saturating_sub(at) >= reoffer.as_millis() as u64)
}

/// Invariants (a), (b), (c) and capacity, after a round at `now`: `seats` as they are after it,
/// `waiting` what still waits (queue order), `made` the round's assignments (queue order), with
/// the place in line of everything (`place`).
fn check_round(
    seats: &[Seat],
    waiting: &[Waiting],
    made: &[(Waiting, String)],
    place: &HashMap<ConversationId, u64>,
    declines: &Declines,
    now: u64,
    reoffer: Duration,
) -> Result<(), String> {
    for s in seats {
        if s.load > s.capacity {
            return Err(format!(
                "{} has {} chats, capacity {}",
                s.id, s.load, s.capacity
            ));
        }
    }
    for chat in waiting {
        if let Some(s) = seats
            .iter()
            .find(|s| may_take(s, chat, declines, now, reoffer))
        {
            return Err(format!(
                "(a) {} still waits while {} could take it ({} of {})",
                chat.id, s.id, s.load, s.capacity
            ));
        }
    }
    for (chat, agent) in made {
        let given = place[&chat.id];
        let a = seats
            .iter()
            .find(|s| &s.id == agent)
            .ok_or_else(|| format!("{agent} was given a chat but is not on the roster"))?;
        // They had room for every older chat when it was offered: only its team or their own
        // recent decline can have kept them from it.
        let roomy = Seat {
            load: 0,
            ..a.clone()
        };
        if let Some(older) = waiting.iter().find(|w| {
            place.get(&w.id).is_some_and(|&p| p < given)
                && may_take(&roomy, w, declines, now, reoffer)
        }) {
            return Err(format!(
                "(b) {agent} was given {} while older {} waits",
                chat.id, older.id
            ));
        }
        // Given back to who let it go: nobody else of its team who never let it go had room
        // (their load only grows during a round, so room now means room then).
        if declines.when(&chat.id, agent).is_some()
            && let Some(other) = seats.iter().find(|s| {
                &s.id != agent
                    && declines.when(&chat.id, &s.id).is_none()
                    && s.can_take(chat.team.as_deref())
            })
        {
            return Err(format!(
                "(c) {}, let go by {agent}, went back to them while {} had room",
                chat.id, other.id
            ));
        }
    }
    Ok(())
}

// ---- the model ----

#[derive(Debug, Clone)]
enum State {
    Queued,
    Assigned {
        agent: usize,
        since: u64,
        answered: bool,
    },
    Gone,
}

#[derive(Debug, Clone)]
struct Chat {
    id: ConversationId,
    ticket: u64,
    team: Option<String>,
    state: State,
}

struct Model {
    specs: Vec<AgentSpec>,
    presence: Vec<Presence>,
    last_assigned: Vec<u64>,
    chats: Vec<Chat>,
    declines: Declines,
    now: u64,
    tickets: u64,
}

impl Model {
    fn new(specs: Vec<AgentSpec>) -> Model {
        Model {
            presence: vec![Presence::Offline; specs.len()],
            last_assigned: vec![0; specs.len()],
            specs,
            chats: Vec::new(),
            declines: Declines::default(),
            now: 1_000_000,
            tickets: 0,
        }
    }

    fn assigned(&self) -> Vec<usize> {
        (0..self.chats.len())
            .filter(|&i| matches!(self.chats[i].state, State::Assigned { .. }))
            .collect()
    }

    fn load(&self, agent: usize) -> usize {
        self.chats
            .iter()
            .filter(|c| matches!(c.state, State::Assigned { agent: a, .. } if a == agent))
            .count()
    }

    fn seats(&self) -> Vec<Seat> {
        (0..self.specs.len())
            .map(|i| {
                let mut s = seat(i, &self.specs[i], self.presence[i], self.load(i));
                s.last_assigned = self.last_assigned[i];
                s
            })
            .collect()
    }

    fn waiting(&self) -> Vec<Waiting> {
        let mut queued: Vec<&Chat> = self
            .chats
            .iter()
            .filter(|c| matches!(c.state, State::Queued))
            .collect();
        queued.sort_by_key(|c| c.ticket);
        queued
            .into_iter()
            .map(|c| Waiting {
                id: c.id.clone(),
                team: c.team.clone(),
            })
            .collect()
    }

    fn apply(&mut self, op: &Op) -> Result<(), String> {
        match *op {
            Op::Arrive { team } => {
                self.tickets += 1;
                self.chats.push(Chat {
                    id: ConversationId::random(),
                    ticket: self.tickets,
                    team: team.map(|t| TEAMS[t].to_owned()),
                    state: State::Queued,
                });
            }
            Op::Presence { agent, presence } => {
                if let Some(p) = self.presence.get_mut(agent) {
                    *p = presence;
                }
            }
            Op::Answer { pick } => {
                let assigned = self.assigned();
                if let Some(&i) = assigned.get(pick % assigned.len().max(1))
                    && let State::Assigned { answered, .. } = &mut self.chats[i].state
                {
                    *answered = true;
                }
            }
            Op::Release { pick, how, team } => {
                let assigned = self.assigned();
                if let Some(&i) = assigned.get(pick % assigned.len().max(1)) {
                    let chat = &mut self.chats[i];
                    if how == 0 {
                        chat.team = Some(TEAMS[team].to_owned());
                        chat.state = State::Queued;
                    } else {
                        chat.state = State::Gone;
                    }
                }
            }
            Op::Advance { ms } => self.now += ms,
            Op::Round => return self.round(),
        }
        Ok(())
    }

    /// What `Router::round` does, over the model.
    fn round(&mut self) -> Result<(), String> {
        let now = self.now;
        for chat in &mut self.chats {
            let State::Assigned {
                agent,
                since,
                answered,
            } = chat.state
            else {
                continue;
            };
            let why = plan::expired(self.presence[agent], since, answered, now, TIMEOUT, false);
            if let Some(why) = why {
                chat.state = State::Queued;
                if why == QueueReason::NotAnswered {
                    self.declines.note(&chat.id, &id_of(agent), now);
                }
            }
        }
        let mut seats = self.seats();
        let before = self.waiting();
        let made = plan::offers(
            &mut seats,
            &before,
            &self.declines,
            now,
            crate::config::REOFFER_AFTER,
        );
        for (id, agent) in &made {
            let a: usize = agent[1..].parse().expect("agent ids are a<n>");
            self.last_assigned[a] = now;
            let chat = self
                .chats
                .iter_mut()
                .find(|c| &c.id == id)
                .expect("offers name waiting chats");
            chat.state = State::Assigned {
                agent: a,
                since: now,
                answered: false,
            };
        }
        let place: HashMap<ConversationId, u64> = self
            .chats
            .iter()
            .map(|c| (c.id.clone(), c.ticket))
            .collect();
        let made: Vec<(Waiting, String)> = made
            .into_iter()
            .map(|(id, agent)| {
                let team = before
                    .iter()
                    .find(|w| w.id == id)
                    .and_then(|w| w.team.clone());
                (Waiting { id, team }, agent)
            })
            .collect();
        let seats = self.seats();
        let waiting = self.waiting();
        check_round(
            &seats,
            &waiting,
            &made,
            &place,
            &self.declines,
            now,
            crate::config::REOFFER_AFTER,
        )?;
        Ok(())
    }
}

#[test]
fn the_router_keeps_its_invariants_over_thousands_of_random_schedules() {
    let mut runner = TestRunner::new(Config {
        cases: 3_000,
        ..Config::default()
    });
    let schedule = (agents(), prop::collection::vec(op(), 1..120));
    runner
        .run(&schedule, |(specs, ops)| {
            let mut model = Model::new(specs);
            for op in &ops {
                model.apply(op).map_err(TestCaseError::fail)?;
            }
            // Then everyone comes online and time passes: every chat is served or waits for
            // capacity only (nothing stranded by a decline).
            for p in &mut model.presence {
                *p = Presence::Online;
            }
            model.now += crate::config::REOFFER_AFTER.as_millis() as u64;
            model.round().map_err(TestCaseError::fail)?;
            Ok(())
        })
        .expect("every invariant holds on every schedule");
}

#[test]
fn a_chat_the_only_agent_let_go_is_offered_back_to_them_in_the_model() {
    // The regression of finding 2: the only agent, with room, ignored a chat; it must come back.
    let mut model = Model::new(vec![AgentSpec {
        capacity: 3,
        teams: Vec::new(),
    }]);
    model.presence[0] = Presence::Online;
    model.apply(&Op::Arrive { team: None }).unwrap();
    model.round().unwrap();
    assert!(matches!(model.chats[0].state, State::Assigned { .. }));
    model.now += TIMEOUT.as_millis() as u64;
    model.round().unwrap();
    assert!(matches!(model.chats[0].state, State::Queued), "taken back");
    model.now += crate::config::REOFFER_AFTER.as_millis() as u64;
    model.round().unwrap();
    assert!(
        matches!(model.chats[0].state, State::Assigned { agent: 0, .. }),
        "offered back to the only agent"
    );
}

// ---- the stores ----

/// Model time on the wall clock of the store runs: a model second is a quarter of a real
/// millisecond (90 s to answer is 22.5 ms). Each check is made at the `now` its round was given,
/// so how long a store takes to answer changes what happens, never whether it is checked right.
fn real(model: Duration) -> Duration {
    model / 4000
}

/// Schedules per store run: `default` in the suite; `FRONTDESK_SIM_CASES` for a long run
/// (`FRONTDESK_SIM_CASES=3000 cargo test --release --lib routing::simulation`).
fn cases(default: u32) -> u32 {
    std::env::var("FRONTDESK_SIM_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

fn roster(specs: &[AgentSpec]) -> Roster {
    Roster {
        agents: specs
            .iter()
            .enumerate()
            .map(|(i, s)| Agent {
                id: id_of(i),
                name: format!("Agent {i}"),
                password_hash: String::new(),
                capacity: s.capacity,
                teams: s.teams.clone(),
            })
            .collect(),
        admins: Vec::new(),
    }
}

fn conversations(store: Arc<dyn Store>) -> Conversations {
    let matcher = Matcher::build(KnowledgeBase::default()).expect("an empty matcher builds");
    Conversations::new(
        store,
        Arc::new(ArcSwap::from_pointee(matcher)),
        Arc::new(Metrics::new()),
        Arc::new([]),
        Webhooks::default(),
    )
}

fn router(store: Arc<dyn Store>, roster: Arc<Roster>) -> Router {
    Router {
        conversations: conversations(store.clone()),
        store,
        roster,
        auto_assign: true,
        assign_timeout: real(TIMEOUT),
        presence_ttl: Duration::from_secs(3600),
        reoffer_after: real(crate::config::REOFFER_AFTER),
    }
}

/// Runs one schedule against `nodes` (routers sharing one store); `Err` names the broken
/// invariant.
async fn run_on_store(
    nodes: &[Router],
    specs: &[AgentSpec],
    ops: &[Op],
    pick_node: &[usize],
) -> Result<(), String> {
    let store = nodes[0].store.clone();
    let mut declines: Vec<Declines> = nodes.iter().map(|_| Declines::default()).collect();
    let mut created = Vec::new();
    let e = |e: crate::ports::StoreError| e.to_string();
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Arrive { team } => {
                let (c, _) = store
                    .create(VisitorInfo::default(), None)
                    .await
                    .map_err(e)?;
                let reason = team.map_or(QueueReason::VisitorAsked, |t| {
                    QueueReason::Team(TEAMS[t].into())
                });
                store
                    .transition(
                        &c.id,
                        ConversationState::Bot,
                        ConversationState::Queued,
                        None,
                        Some(Notice::Queued { reason }),
                    )
                    .await
                    .map_err(e)?;
                created.push(c.id);
            }
            Op::Presence { agent, presence } => {
                if agent < specs.len() {
                    store
                        .presence()
                        .set(&id_of(agent), presence, Duration::from_secs(3600))
                        .await
                        .map_err(e)?;
                }
            }
            Op::Answer { pick } | Op::Release { pick, .. } => {
                let chats: Vec<(String, ConversationId)> = store
                    .agents()
                    .await
                    .map_err(e)?
                    .into_iter()
                    .flat_map(|a| a.chats.into_iter().map(move |c| (a.id.clone(), c.id)))
                    .collect();
                let Some((agent, id)) = chats.get(pick % chats.len().max(1)).cloned() else {
                    continue;
                };
                let conv = &nodes[0].conversations;
                let agent = nodes[0].roster.get(&agent).expect("a roster agent").clone();
                match *op {
                    Op::Answer { .. } => {
                        conv.agent_reply(&id, &agent, "hello".into(), None)
                            .await
                            .map_err(e)?;
                    }
                    Op::Release { how: 0, team, .. } => {
                        conv.requeue(&id, Some(&agent.id), QueueReason::Team(TEAMS[team].into()))
                            .await
                            .map_err(e)?;
                    }
                    Op::Release { how: 1, .. } => {
                        conv.hand_back(&id, &agent).await.map_err(e)?;
                    }
                    _ => {
                        conv.close(&id, &agent, None).await.map_err(e)?;
                    }
                }
            }
            Op::Advance { ms } => tokio::time::sleep(real(Duration::from_millis(ms))).await,
            Op::Round => {
                let n = pick_node[step % pick_node.len()] % nodes.len();
                let node = &nodes[n];
                let now = now_ms();
                let before: Vec<ConversationId> = store.queue().await.map_err(e)?;
                node.round(&mut declines[n], now, false).await.map_err(e)?;
                check_store_round(node, &store, &before, &declines[n], now).await?;
            }
        }
    }
    for id in &created {
        check_log(&store, id).await?;
    }
    Ok(())
}

/// Invariants (a), (b) and capacity after a real round.
async fn check_store_round(
    node: &Router,
    store: &Arc<dyn Store>,
    before: &[ConversationId],
    declines: &Declines,
    now: u64,
) -> Result<(), String> {
    let e = |e: crate::ports::StoreError| e.to_string();
    let agents = store.agents().await.map_err(e)?;
    let seats = node.seats(&agents);
    let queue = store.queue().await.map_err(e)?;
    let mut waiting = Vec::new();
    let mut place = HashMap::new();
    for (i, id) in before.iter().chain(queue.iter()).enumerate() {
        place.entry(id.clone()).or_insert(i as u64);
    }
    for id in &queue {
        let c = store
            .get(id)
            .await
            .map_err(e)?
            .ok_or("a queued chat exists")?;
        waiting.push(Waiting {
            id: id.clone(),
            team: c
                .reason
                .as_ref()
                .and_then(QueueReason::team)
                .map(str::to_owned),
        });
    }
    // What this round assigned: chats that waited before it and are an agent's now.
    let mut made = Vec::new();
    for id in before {
        if let Some(a) = agents.iter().find(|a| a.chats.iter().any(|c| &c.id == id)) {
            let c = store
                .get(id)
                .await
                .map_err(e)?
                .ok_or("an assigned chat exists")?;
            let team = c
                .reason
                .as_ref()
                .and_then(QueueReason::team)
                .map(str::to_owned);
            made.push((
                Waiting {
                    id: id.clone(),
                    team,
                },
                a.id.clone(),
            ));
        }
    }
    // `place` orders the chats that waited before the round as they stood; one requeued during
    // the round is placed after them (its true place may be earlier), so (b) is checked on the
    // chats that waited throughout, and (a) on every chat.
    check_round(
        &seats,
        &waiting,
        &made,
        &place,
        declines,
        now,
        node.reoffer_after,
    )
}

/// (e): the notices of a log, replayed, are legal moves ending in the store's state.
async fn check_log(store: &Arc<dyn Store>, id: &ConversationId) -> Result<(), String> {
    let e = |e: crate::ports::StoreError| e.to_string();
    let c = store
        .get(id)
        .await
        .map_err(e)?
        .ok_or("the conversation exists")?;
    let mut state = ConversationState::Bot;
    let mut agent: Option<String> = None;
    for event in store.events_after(id, 0).await.map_err(e)? {
        let EventBody::Notice { notice } = event.body else {
            continue;
        };
        let (to, who) = match notice {
            Notice::Queued { .. } => (ConversationState::Queued, None),
            Notice::Assigned { agent } => (ConversationState::Assigned, Some(agent)),
            Notice::BackToBot => (ConversationState::Bot, None),
            Notice::Closed { .. } => (ConversationState::Closed, None),
        };
        let legal = state.can_become(to)
            || (state == ConversationState::Queued && to == ConversationState::Assigned)
            || (state == ConversationState::Assigned && to == ConversationState::Assigned);
        if !legal {
            return Err(format!("(e) {id}: told {to:?} after {state:?}"));
        }
        state = to;
        agent = who;
    }
    if state != c.state {
        return Err(format!(
            "(e) {id}: the log says {state:?}, the store {:?}",
            c.state
        ));
    }
    if state == ConversationState::Assigned {
        let name = c
            .agent
            .as_deref()
            .and_then(|a| a[1..].parse::<usize>().ok());
        if agent != name.map(|n| format!("Agent {n}")) {
            return Err(format!(
                "(e) {id}: told {agent:?}, assigned to {:?}",
                c.agent
            ));
        }
    }
    Ok(())
}

/// Runs `cases` schedules on stores made by `make`, with `nodes` routers each.
fn simulate_on(
    cases: u32,
    nodes: usize,
    make: impl Fn(&tokio::runtime::Runtime) -> Vec<Arc<dyn Store>>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut runner = TestRunner::new(Config {
        cases,
        // Shrinking re-runs real stores: keep it short.
        max_shrink_iters: 64,
        ..Config::default()
    });
    let schedule = (
        agents(),
        prop::collection::vec(op(), 1..40),
        prop::collection::vec(0usize..nodes, 1..8),
    );
    runner
        .run(&schedule, |(specs, ops, pick_node)| {
            let roster = Arc::new(roster(&specs));
            let routers: Vec<Router> = make(&rt)
                .into_iter()
                .take(nodes)
                .map(|s| router(s, roster.clone()))
                .collect();
            rt.block_on(run_on_store(&routers, &specs, &ops, &pick_node))
                .map_err(TestCaseError::fail)
        })
        .expect("every invariant holds on every schedule");
}

#[test]
fn the_router_keeps_its_invariants_on_the_memory_store() {
    simulate_on(cases(100), 1, |_| {
        vec![Arc::new(crate::store::MemoryStore::new())]
    });
}

#[test]
fn the_router_keeps_its_invariants_on_the_sqlite_store() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().to_owned();
    simulate_on(cases(60), 1, move |_| {
        let file = path.join(format!("sim-{:016x}.db", rand::random::<u64>()));
        vec![Arc::new(
            crate::store::sqlite::SqliteStore::open(&file).expect("a fresh database opens"),
        )]
    });
}

#[test]
fn the_router_keeps_its_invariants_on_redis_with_two_nodes() {
    let url = crate::store::redis::tests::test_redis_url();
    simulate_on(cases(20), 2, move |rt| {
        let prefix = format!("fdsim:{:016x}", rand::random::<u64>());
        (0..2)
            .map(|_| {
                let store = rt
                    .block_on(crate::store::redis::RedisStore::connect(&url, &prefix))
                    .unwrap_or_else(|e| {
                        panic!(
                            "the routing simulation needs a real redis-server at {url} \
                             (scripts/test starts one): {e}"
                        )
                    });
                Arc::new(store) as Arc<dyn Store>
            })
            .collect()
    });
}
