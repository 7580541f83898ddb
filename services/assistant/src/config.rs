//! The assistant's configuration: flags with environment fallbacks (this is `--help`).

use contracts::Secret;

#[derive(Debug, Clone, clap::Args)]
#[group(id = "assistant")]
pub struct Config {
    /// The model of new conversations. Default: the first model of the first provider
    /// configured, or `bourse-local` when none is.
    #[arg(long, env = "BOURSE_ASSISTANT_MODEL")]
    pub assistant_model: Option<String>,
    /// Anthropic API key; with it, Anthropic's models are offered.
    #[arg(long, env = "ANTHROPIC_API_KEY", hide_env_values = true)]
    pub anthropic_api_key: Option<String>,
    /// Anthropic's API, without `/v1`.
    #[arg(
        long,
        env = "BOURSE_ANTHROPIC_URL",
        default_value = "https://api.anthropic.com"
    )]
    pub anthropic_url: String,
    /// An OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp), with or without `/v1`;
    /// with it, its models are offered.
    #[arg(long, env = "BOURSE_OPENAI_URL")]
    pub openai_url: Option<String>,
    /// The key of that server, if it needs one.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,
    /// Tokens one user's replies may use per day (UTC), as the providers count them.
    #[arg(long, env = "BOURSE_ASSISTANT_DAILY_TOKENS", default_value_t = 200_000)]
    pub assistant_daily_tokens: u64,
    /// Replies one user may have being written at once (per instance).
    #[arg(long, env = "BOURSE_ASSISTANT_CONCURRENT", default_value_t = 3)]
    pub assistant_concurrent: u32,
    /// Tokens one reply may have.
    #[arg(long, env = "BOURSE_ASSISTANT_MAX_TOKENS", default_value_t = 4096)]
    pub assistant_max_tokens: u32,
}

impl Config {
    pub fn anthropic_key(&self) -> Option<Secret> {
        self.anthropic_api_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .map(Secret::new)
    }

    pub fn openai_key(&self) -> Option<Secret> {
        self.openai_api_key
            .as_deref()
            .filter(|k| !k.is_empty())
            .map(Secret::new)
    }
}

impl Default for Config {
    /// No provider: the offline model only.
    fn default() -> Self {
        Self {
            assistant_model: None,
            anthropic_api_key: None,
            anthropic_url: "https://api.anthropic.com".into(),
            openai_url: None,
            openai_api_key: None,
            assistant_daily_tokens: 200_000,
            assistant_concurrent: 3,
            assistant_max_tokens: 4096,
        }
    }
}
