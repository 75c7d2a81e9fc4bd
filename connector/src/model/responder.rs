//! How the connector model answers `outbound` requests.
//!
//! The platform side is not modelled: a [`Responder`] decides what each
//! request "did". [`DefaultResponder`] succeeds; [`ScriptedResponder`] plays a
//! queue of scripted answers (failures, delays, silence) before falling back
//! to the default.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use super::interface::SessionId;
use relay_core::rng::Rng;
use relay_core::time::Instant;
use relay_core::wire::{Action, ActionResult, ChatInfo, Outbound};

/// One request, as the responder sees it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The sender's instance.
    pub instance: &'a str,
    /// The sender's tenant.
    pub tenant: &'a str,
    /// The session it arrived on.
    pub session: SessionId,
    /// The frame.
    pub outbound: &'a Outbound,
    /// When it arrived.
    pub now: Instant,
}

/// What to do with one request.
#[derive(Clone, Debug, PartialEq)]
pub enum Response {
    /// Answer at once.
    Reply(ActionResult),
    /// Answer after `delay` (emitted from [`crate::Connector::handle_timeout`];
    /// dropped if the session is gone by then).
    After {
        /// How long to wait.
        delay: Duration,
        /// The answer.
        result: ActionResult,
    },
    /// Never answer (the gateway's request timeout will fire).
    Silence,
}

/// Decides the outcome of `outbound` requests.
pub trait Responder: Send {
    /// The response to `req`. `rng` is the connector's seeded generator (use it
    /// for ids so runs stay reproducible).
    fn respond(&mut self, req: &Request<'_>, rng: &mut Rng) -> Response;
}

/// Draft streams whose message id [`DefaultResponder`] remembers; the
/// oldest stream is forgotten first.
pub const MAX_DRAFT_STREAMS: usize = 4096;

/// Succeeds at everything: a generated `message_id` (`msg-` and 16 hex digits)
/// for message ops, one per `(chat_id, draft_id)` stream for `draft` (the
/// same id for every frame of a stream, its sealing frame and repeats
/// included), none for `typing`, `task_card`, `task_card_stop` and
/// `delete`, and `{name, type}` for `get_chat_info` (registered with
/// [`DefaultResponder::set_chat`], else the chat id as name and type `dm`).
#[derive(Clone, Debug, Default)]
pub struct DefaultResponder {
    chats: BTreeMap<String, (String, String)>,
    /// `(chat_id, draft_id)` → the stream's message id.
    drafts: BTreeMap<(String, i64), String>,
    /// The streams in `drafts`, oldest first.
    draft_order: VecDeque<(String, i64)>,
}

impl DefaultResponder {
    /// A responder with no registered chats.
    pub fn new() -> Self {
        DefaultResponder::default()
    }

    /// Registers the name and type `get_chat_info` reports for `chat_id`.
    pub fn set_chat(&mut self, chat_id: &str, name: &str, chat_type: &str) {
        self.chats
            .insert(chat_id.to_owned(), (name.to_owned(), chat_type.to_owned()));
    }

    /// The answer this responder gives to `action`.
    pub fn answer(&mut self, action: &Action, rng: &mut Rng) -> ActionResult {
        match action {
            Action::GetChatInfo(a) => {
                let (name, chat_type) = self
                    .chats
                    .get(&a.chat_id)
                    .cloned()
                    .unwrap_or_else(|| (a.chat_id.clone(), "dm".to_owned()));
                ActionResult {
                    success: true,
                    chat_info: Some(ChatInfo {
                        name: Some(name),
                        chat_type: Some(chat_type),
                        extra: Default::default(),
                    }),
                    ..Default::default()
                }
            }
            Action::Typing(_)
            | Action::TaskCard(_)
            | Action::TaskCardStop(_)
            | Action::Delete(_) => ActionResult::ok(None),
            Action::Draft(d) => {
                ActionResult::ok(Some(self.draft_stream(&d.chat_id, d.draft_id, rng)))
            }
            _ => ActionResult::ok(Some(format!("msg-{:016x}", rng.next_u64()))),
        }
    }
}

impl DefaultResponder {
    /// The message id of the draft stream `(chat_id, draft_id)`, made on its
    /// first frame.
    fn draft_stream(&mut self, chat_id: &str, draft_id: i64, rng: &mut Rng) -> String {
        let key = (chat_id.to_owned(), draft_id);
        if let Some(id) = self.drafts.get(&key) {
            return id.clone();
        }
        if self.draft_order.len() >= MAX_DRAFT_STREAMS
            && let Some(old) = self.draft_order.pop_front()
        {
            self.drafts.remove(&old);
        }
        let id = format!("msg-{:016x}", rng.next_u64());
        self.draft_order.push_back(key.clone());
        self.drafts.insert(key, id.clone());
        id
    }
}

impl Responder for DefaultResponder {
    fn respond(&mut self, req: &Request<'_>, rng: &mut Rng) -> Response {
        Response::Reply(self.answer(&req.outbound.action, rng))
    }
}

/// What a [`Script`] does with the request it matches.
#[derive(Clone, Debug, PartialEq)]
pub enum ScriptStep {
    /// Respond exactly so.
    Respond(Box<Response>),
    /// Respond with the default answer, after this delay.
    DelayDefault(Duration),
}

/// A scripted answer: used once, by the first request it matches.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    /// Only requests with this `op` match (`None`: any op).
    pub op: Option<String>,
    /// What to do.
    pub step: ScriptStep,
}

/// Plays scripted answers in order, each used once by the first request it
/// matches; requests no script matches get the [`DefaultResponder`] answer.
#[derive(Clone, Debug, Default)]
pub struct ScriptedResponder {
    scripts: VecDeque<Script>,
    /// The fallback.
    pub fallback: DefaultResponder,
}

impl ScriptedResponder {
    /// A responder with an empty script.
    pub fn new() -> Self {
        ScriptedResponder::default()
    }

    /// Queues `response` for the next request with op `op` (or any op).
    pub fn push(&mut self, op: Option<&str>, response: Response) -> &mut Self {
        self.scripts.push_back(Script {
            op: op.map(str::to_owned),
            step: ScriptStep::Respond(Box::new(response)),
        });
        self
    }

    /// Queues a failure with `error` for the next matching request.
    pub fn fail(&mut self, op: Option<&str>, error: &str) -> &mut Self {
        self.push(op, Response::Reply(ActionResult::failure(error, false)))
    }

    /// Queues the default answer, delayed by `delay`, for the next matching
    /// request.
    pub fn delay(&mut self, op: Option<&str>, delay: Duration) -> &mut Self {
        self.scripts.push_back(Script {
            op: op.map(str::to_owned),
            step: ScriptStep::DelayDefault(delay),
        });
        self
    }

    /// Queues silence for the next matching request.
    pub fn silence(&mut self, op: Option<&str>) -> &mut Self {
        self.push(op, Response::Silence)
    }

    /// Queues `script` as it is (see [`ScriptedResponder::push`]).
    pub fn push_script(&mut self, script: Script) -> &mut Self {
        self.scripts.push_back(script);
        self
    }

    /// Scripts not used yet.
    pub fn remaining(&self) -> usize {
        self.scripts.len()
    }

    /// Takes the first script that matches `op` (it is used once).
    pub fn take(&mut self, op: &str) -> Option<ScriptStep> {
        let pos = self
            .scripts
            .iter()
            .position(|s| s.op.as_deref().is_none_or(|o| o == op))?;
        self.scripts.remove(pos).map(|s| s.step)
    }
}

impl Responder for ScriptedResponder {
    fn respond(&mut self, req: &Request<'_>, rng: &mut Rng) -> Response {
        match self.take(req.outbound.action.op()) {
            Some(ScriptStep::DelayDefault(delay)) => Response::After {
                delay,
                result: self.fallback.answer(&req.outbound.action, rng),
            },
            Some(ScriptStep::Respond(r)) => *r,
            None => Response::Reply(self.fallback.answer(&req.outbound.action, rng)),
        }
    }
}
