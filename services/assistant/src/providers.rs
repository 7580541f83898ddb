//! The configured providers, and which one serves a model.

use std::{collections::HashMap, sync::Mutex};

use bus::ServiceError;
use contracts::assistant::{LOCAL_MODEL, Model};

use crate::{
    config::Config,
    provider::{
        ChatRequest, EventStream, Provider, ProviderError, anthropic::Anthropic, local::Local,
        openai::OpenAi,
    },
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Anthropic,
    OpenAi,
    Local,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::OpenAi => "openai",
            Self::Local => "local",
        }
    }
}

#[derive(Debug)]
pub struct Providers {
    anthropic: Option<Anthropic>,
    openai: Option<OpenAi>,
    /// Model id → provider, as they last listed them.
    known: Mutex<HashMap<String, Kind>>,
    default_model: Mutex<Option<String>>,
}

impl Providers {
    pub fn new(config: &Config) -> Self {
        let http = reqwest::Client::new();
        Self {
            anthropic: config
                .anthropic_key()
                .map(|key| Anthropic::new(http.clone(), &config.anthropic_url, key)),
            openai: config
                .openai_url
                .as_deref()
                .filter(|url| !url.trim().is_empty())
                .map(|url| OpenAi::new(http.clone(), url, config.openai_key())),
            known: Mutex::new(HashMap::from([(LOCAL_MODEL.to_owned(), Kind::Local)])),
            default_model: Mutex::new(config.assistant_model.clone()),
        }
    }

    /// Every provider's models now; a provider that cannot be asked is left out (logged).
    pub async fn models(&self) -> Vec<Model> {
        let mut models = Vec::new();
        if let Some(anthropic) = &self.anthropic {
            match anthropic.models().await {
                Ok(list) => models.extend(list.into_iter().map(|m| (m, Kind::Anthropic))),
                Err(err) => tracing::warn!(error = %err, "cannot list Anthropic's models"),
            }
        }
        if let Some(openai) = &self.openai {
            match openai.models().await {
                Ok(list) => models.extend(list.into_iter().map(|m| (m, Kind::OpenAi))),
                Err(err) => {
                    tracing::warn!(error = %err, "cannot list the OpenAI-compatible models")
                }
            }
        }
        if let Ok(list) = Local.models().await {
            models.extend(list.into_iter().map(|m| (m, Kind::Local)));
        }
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (model, kind) in &models {
            known.insert(model.id.clone(), *kind);
        }
        drop(known);
        let mut default = self
            .default_model
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if default.is_none() {
            *default = models.first().map(|(m, _)| m.id.clone());
        }
        models
            .into_iter()
            .map(|(m, kind)| Model {
                id: m.id,
                name: m.name,
                provider: kind.name().into(),
            })
            .collect()
    }

    /// The model of new conversations.
    pub fn default_model(&self) -> String {
        self.default_model
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| LOCAL_MODEL.to_owned())
    }

    /// The provider of `model`: as listed, or (listed again) the only one configured.
    pub async fn resolve(&self, model: &str) -> Result<Kind, ServiceError> {
        let lookup = |providers: &Self| {
            providers
                .known
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(model)
                .copied()
        };
        if let Some(kind) = lookup(self) {
            return Ok(kind);
        }
        self.models().await;
        if let Some(kind) = lookup(self) {
            return Ok(kind);
        }
        match (&self.anthropic, &self.openai) {
            (Some(_), None) => Ok(Kind::Anthropic),
            (None, Some(_)) => Ok(Kind::OpenAi),
            _ => Err(ServiceError::validation(format!(
                "no provider offers the model {:?}; GET /api/v1/chat/models lists them",
                model.chars().take(100).collect::<String>()
            ))),
        }
    }

    pub async fn stream(
        &self,
        kind: Kind,
        request: ChatRequest,
    ) -> Result<EventStream, ProviderError> {
        let missing = || ProviderError::Unreachable("that provider is not configured".into());
        match kind {
            Kind::Anthropic => {
                self.anthropic
                    .as_ref()
                    .ok_or_else(missing)?
                    .stream(request)
                    .await
            }
            Kind::OpenAi => {
                self.openai
                    .as_ref()
                    .ok_or_else(missing)?
                    .stream(request)
                    .await
            }
            Kind::Local => Local.stream(request).await,
        }
    }
}
