//! The assistant: conversations (a tree of messages with a current leaf), folders, and
//! generations that stream a reply as events on the `CHAT` stream
//! (`evt.chat.<conversation_id>.<event>`), so any socket can follow a reply and resume it from
//! a stream sequence.
//!
//! A generation runs on the instance that started it until it ends or its owner stops it, so
//! its id embeds the instance ([`GenerationId`]) and [`StopGeneration`] is routed there.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{Event, InvalidValue, Limit, Page, Pagination, Request, Routed};

/// The offline model, always offered, needing no key and no network.
pub const LOCAL_MODEL: &str = "bourse-local";

/// Characters one message may have.
pub const MAX_MESSAGE_CHARS: usize = 32_000;

fn parse_generation_id(raw: &str) -> Result<String, InvalidValue> {
    crate::terminal::parse_routed_id("generation_id", "generation", raw)
}

crate::string_value!(
    /// A generation: `<instance>-<uuid>`, so a stop reaches the instance running it.
    GenerationId,
    parse = parse_generation_id,
    schema = { "type": "string", "pattern": "^[0-9a-f]{16}-[0-9a-f]{32}$" }
);

impl GenerationId {
    pub fn new(instance: &str) -> Self {
        Self(format!("{instance}-{}", crate::new_id().simple()))
    }

    pub fn instance(&self) -> &str {
        &self.0[..16]
    }
}

crate::string_value!(
    /// A conversation's or a folder's title: up to 200 characters, no control characters.
    Title,
    parse = |raw| crate::value::text("title", raw, 0..=200),
    schema = { "type": "string", "maxLength": 200 }
);

/// A present-or-null field of an update: absent leaves it, `null` clears it
/// (`#[serde(default, deserialize_with = "double_option")]`).
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Conversation {
    pub id: Uuid,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<Uuid>,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    pub pinned: bool,
    pub archived: bool,
    /// The last message of the current branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_leaf_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    User,
    Assistant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// A user message, or a reply that finished.
    Complete,
    /// A reply being generated.
    Streaming,
    /// Stopped by its owner; the text so far is kept.
    Stopped,
    /// The provider failed; `failure` says why. Never a complete answer.
    Failed,
}

/// A tool the assistant called while answering, with what it answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ToolUse {
    pub id: String,
    pub name: String,
    pub input: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<serde_json::Value>,
    #[serde(default)]
    pub is_error: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Message {
    pub id: Uuid,
    pub conversation_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Uuid>,
    pub role: MessageRole,
    pub content: String,
    pub status: MessageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_uses: Vec<ToolUse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<TokenUsage>,
    pub created_at: DateTime<Utc>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema,
)]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// `assistant.v1.conversation.list`: the caller's conversations, newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListConversations {
    /// Only those in this folder.
    #[serde(default)]
    pub folder_id: Option<Uuid>,
    #[serde(default)]
    pub page: Option<Page>,
    #[serde(default)]
    pub limit: Option<Limit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    pub pagination: Pagination,
}

impl Request for ListConversations {
    const SUBJECT: &'static str = "assistant.v1.conversation.list";
    type Reply = ConversationPage;
}

/// `assistant.v1.conversation.create`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversation {
    /// None: set from the first exchange.
    #[serde(default)]
    pub title: Option<Title>,
    #[serde(default)]
    pub folder_id: Option<Uuid>,
    /// Default: the service's default model.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub system_prompt: Option<String>,
}

impl Request for CreateConversation {
    const SUBJECT: &'static str = "assistant.v1.conversation.create";
    type Reply = Conversation;
}

/// `assistant.v1.conversation.get`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetConversation {
    pub conversation_id: Uuid,
}

impl Request for GetConversation {
    const SUBJECT: &'static str = "assistant.v1.conversation.get";
    type Reply = Conversation;
}

/// `assistant.v1.conversation.update`: absent fields stay; `folder_id: null` takes it out of
/// its folder, `system_prompt: null` clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConversation {
    pub conversation_id: Uuid,
    #[serde(default)]
    pub title: Option<Title>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<Uuid>")]
    #[schema(value_type = Option<Uuid>)]
    pub folder_id: Option<Option<Uuid>>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<String>")]
    #[schema(value_type = Option<String>)]
    pub system_prompt: Option<Option<String>>,
    #[serde(default)]
    pub pinned: Option<bool>,
    #[serde(default)]
    pub archived: Option<bool>,
}

impl Request for UpdateConversation {
    const SUBJECT: &'static str = "assistant.v1.conversation.update";
    type Reply = Conversation;
}

/// `assistant.v1.conversation.delete`: the conversation and its messages.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteConversation {
    pub conversation_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct DeletedConversation {
    pub conversation_id: Uuid,
}

impl Request for DeleteConversation {
    const SUBJECT: &'static str = "assistant.v1.conversation.delete";
    type Reply = DeletedConversation;
}

/// `assistant.v1.message.list`: the branch ending at `leaf_id` (default: the current leaf),
/// oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListMessages {
    pub conversation_id: Uuid,
    #[serde(default)]
    pub leaf_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct MessageList {
    pub messages: Vec<Message>,
}

impl Request for ListMessages {
    const SUBJECT: &'static str = "assistant.v1.message.list";
    type Reply = MessageList;
}

/// `assistant.v1.message.send`: records the user's message and starts the reply. Without a
/// `conversation_id` it starts a conversation. Absent, `parent_id` is the current leaf; naming
/// an earlier message's parent makes an edit, a sibling branch; `null` makes a new first
/// message (an edit of the conversation's first question).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessage {
    #[serde(default)]
    pub conversation_id: Option<Uuid>,
    pub content: String,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<Uuid>")]
    #[schema(value_type = Option<Uuid>)]
    pub parent_id: Option<Option<Uuid>>,
}

/// A reply on its way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Started {
    pub conversation: Conversation,
    /// The user's message (for a regeneration: the one answered again).
    pub message: Message,
    pub generation_id: GenerationId,
    /// The reply's id, which its events carry.
    pub reply_id: Uuid,
}

impl Request for SendMessage {
    const SUBJECT: &'static str = "assistant.v1.message.send";
    type Reply = Started;
}

/// `assistant.v1.message.regenerate`: answers the user message of `message_id` (a reply) again,
/// as a sibling of that reply.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegenerateReply {
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    #[serde(default)]
    pub model: Option<String>,
}

impl Request for RegenerateReply {
    const SUBJECT: &'static str = "assistant.v1.message.regenerate";
    type Reply = Started;
}

/// `assistant.v1.generation.stop.<instance>`: stops a reply; what it wrote so far is kept,
/// marked `stopped`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopGeneration {
    pub generation_id: GenerationId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct StoppedGeneration {
    pub generation_id: GenerationId,
}

impl Request for StopGeneration {
    const SUBJECT: &'static str = "assistant.v1.generation.stop";
    type Reply = StoppedGeneration;
}

impl Routed for StopGeneration {
    fn instance(&self) -> &str {
        self.generation_id.instance()
    }

    fn missing(&self) -> String {
        format!("no generation {} is running", self.generation_id)
    }
}

/// `assistant.v1.model.list`: every configured provider's models, and [`LOCAL_MODEL`].
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListModels {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Model {
    pub id: String,
    pub name: String,
    /// `anthropic`, `openai` or `local`.
    pub provider: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ModelList {
    pub models: Vec<Model>,
    pub default_model: String,
}

impl Request for ListModels {
    const SUBJECT: &'static str = "assistant.v1.model.list";
    type Reply = ModelList;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Folder {
    pub id: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// `assistant.v1.folder.list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListFolders {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct FolderList {
    pub folders: Vec<Folder>,
}

impl Request for ListFolders {
    const SUBJECT: &'static str = "assistant.v1.folder.list";
    type Reply = FolderList;
}

/// `assistant.v1.folder.create`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFolder {
    pub name: Title,
    #[serde(default)]
    pub parent_id: Option<Uuid>,
}

impl Request for CreateFolder {
    const SUBJECT: &'static str = "assistant.v1.folder.create";
    type Reply = Folder;
}

/// `assistant.v1.folder.update`: `parent_id: null` makes it top-level.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateFolder {
    pub folder_id: Uuid,
    #[serde(default)]
    pub name: Option<Title>,
    #[serde(
        default,
        deserialize_with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<Uuid>")]
    #[schema(value_type = Option<Uuid>)]
    pub parent_id: Option<Option<Uuid>>,
}

impl Request for UpdateFolder {
    const SUBJECT: &'static str = "assistant.v1.folder.update";
    type Reply = Folder;
}

/// `assistant.v1.folder.delete`: its conversations move out of it (deleted with `cascade`);
/// folders inside it go with it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteFolder {
    pub folder_id: Uuid,
    #[serde(default)]
    pub cascade: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct DeletedFolder {
    pub folder_id: Uuid,
    /// Conversations deleted with it (`cascade`) or moved out of it.
    pub conversations: u64,
}

impl Request for DeleteFolder {
    const SUBJECT: &'static str = "assistant.v1.folder.delete";
    type Reply = DeletedFolder;
}

/// `assistant.v1.conversation.search`: full-text search over the caller's titles and
/// messages, best first.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchConversations {
    pub q: String,
    #[serde(default)]
    pub page: Option<Page>,
    #[serde(default)]
    pub limit: Option<Limit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct SearchHit {
    pub conversation_id: Uuid,
    pub title: String,
    /// The message that matched, when a message did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Uuid>,
    /// The match in context, the matched words between `<b>` and `</b>`.
    pub snippet: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    pub pagination: Pagination,
}

impl Request for SearchConversations {
    const SUBJECT: &'static str = "assistant.v1.conversation.search";
    type Reply = SearchPage;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    Json,
    Md,
}

/// `assistant.v1.conversation.export`: the current branch as a file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportConversation {
    pub conversation_id: Uuid,
    pub format: ExportFormat,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ExportedConversation {
    pub file_name: String,
    pub content_type: String,
    pub content: String,
}

impl Request for ExportConversation {
    const SUBJECT: &'static str = "assistant.v1.conversation.export";
    type Reply = ExportedConversation;
}

/// What happened in a generation; every variant is one event subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChatEventKind {
    /// `started`: a reply is being written (a typing indicator).
    Started { model: String },
    /// `delta`: more of the reply's text.
    Delta { text: String },
    /// `tool_call`: the assistant calls a tool.
    ToolCall {
        call_id: String,
        name: String,
        input: serde_json::Value,
    },
    /// `tool_result`: what the tool answered.
    ToolResult {
        call_id: String,
        name: String,
        output: serde_json::Value,
        is_error: bool,
    },
    /// `completed`: the reply is done (or `stopped` by its owner), saved as it is.
    Completed {
        status: MessageStatus,
        usage: TokenUsage,
    },
    /// `failed`: the provider failed; the reply is saved as failed with the reason.
    Failed { reason: String },
}

impl ChatEventKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Started { .. } => "started",
            Self::Delta { .. } => "delta",
            Self::ToolCall { .. } => "tool_call",
            Self::ToolResult { .. } => "tool_result",
            Self::Completed { .. } => "completed",
            Self::Failed { .. } => "failed",
        }
    }
}

/// `evt.chat.<conversation_id>.<started|delta|tool_call|tool_result|completed|failed>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ChatEvent {
    pub event_id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub conversation_id: Uuid,
    pub owner_id: Uuid,
    pub generation_id: GenerationId,
    /// The reply being written.
    pub message_id: Uuid,
    #[serde(flatten)]
    pub kind: ChatEventKind,
}

impl Event for ChatEvent {
    const SUBJECT_PATTERN: &'static str = "evt.chat.{conversation_id}.{event}";
    const STREAM: &'static str = "CHAT";

    fn subject(&self) -> String {
        format!("evt.chat.{}.{}", self.conversation_id, self.kind.name())
    }

    fn event_id(&self) -> Uuid {
        self.event_id
    }
}

impl ChatEvent {
    /// Every event subject of one conversation, for a follower's filter.
    pub fn conversation_subjects(conversation_id: Uuid) -> String {
        format!("evt.chat.{conversation_id}.*")
    }

    /// Every chat event subject.
    pub const ALL_SUBJECTS: &'static str = "evt.chat.>";

    /// The conversation id of an `evt.chat.<id>.<event>` subject.
    pub fn conversation_of(subject: &str) -> Option<&str> {
        subject.strip_prefix("evt.chat.")?.split('.').next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_tell_absent_from_null() {
        let id = Uuid::nil();
        let absent: UpdateConversation =
            serde_json::from_value(serde_json::json!({"conversation_id": id})).unwrap();
        assert_eq!(absent.folder_id, None);
        let cleared: UpdateConversation =
            serde_json::from_value(serde_json::json!({"conversation_id": id, "folder_id": null}))
                .unwrap();
        assert_eq!(cleared.folder_id, Some(None));
    }

    #[test]
    fn chat_subjects_carry_the_conversation_and_the_event() {
        let event = ChatEvent {
            event_id: Uuid::nil(),
            occurred_at: Utc::now(),
            conversation_id: Uuid::nil(),
            owner_id: Uuid::nil(),
            generation_id: GenerationId::new("0123456789abcdef"),
            message_id: Uuid::nil(),
            kind: ChatEventKind::Delta { text: "hi".into() },
        };
        let subject = event.subject();
        assert_eq!(subject, format!("evt.chat.{}.delta", Uuid::nil()));
        assert_eq!(
            ChatEvent::conversation_of(&subject),
            Some(Uuid::nil().to_string().as_str())
        );
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["kind"], "delta");
        assert_eq!(json["text"], "hi");
        assert_eq!(event.generation_id.instance(), "0123456789abcdef");
    }
}
