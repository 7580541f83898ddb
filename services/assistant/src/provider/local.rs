//! `bourse-local`: the offline model. It needs no key and no network: it reads what the user
//! asks for (what their portfolios are worth, their positions, performance, a quote, a symbol
//! search), calls the same tools a hosted model would, and answers from their results,
//! streamed in deltas like any provider. A question it cannot parse is answered with what it
//! can answer.

use contracts::assistant::LOCAL_MODEL;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{
    ChatMessage, ChatRequest, EventStream, ModelInfo, Provider, ProviderError, ProviderEvent,
    StopReason, ToolCall, Usage,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

impl Provider for Local {
    async fn stream(&self, request: ChatRequest) -> Result<EventStream, ProviderError> {
        let events = respond(&request);
        Ok(Box::pin(futures::stream::iter(events.into_iter().map(Ok))))
    }

    async fn models(&self) -> Result<Vec<ModelInfo>, ProviderError> {
        Ok(vec![ModelInfo {
            id: LOCAL_MODEL.into(),
            name: "Bourse local (offline)".into(),
        }])
    }
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Intent {
    Worth,
    Performance,
    Quote(String),
    Search(String),
    Unknown,
}

fn intent(question: &str) -> Intent {
    let lower = question.to_lowercase();
    let words: Vec<&str> = question
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '^' || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    if let Some(at) = lower.find("search").or_else(|| lower.find("find ")) {
        let rest = question[at..]
            .split_once(char::is_whitespace)
            .map(|(_, rest)| rest.trim())
            .unwrap_or_default();
        let term = rest
            .trim_start_matches("for ")
            .trim_matches(|c: char| c == '"' || c == '\'' || c == '?' || c == '.');
        if !term.is_empty() {
            return Intent::Search(term.to_owned());
        }
    }
    if ["perform", "return", "gain", "twr", "irr"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return Intent::Performance;
    }
    if ["worth", "value", "position", "holding", "portfolio", "own"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return Intent::Worth;
    }
    let ticker = words.iter().find(|w| {
        w.len() <= 10
            && w.chars().any(|c| c.is_ascii_uppercase())
            && w.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || ".^-=".contains(c))
    });
    if let Some(ticker) = ticker
        && (["quote", "price", "trading", "at?", "cost"]
            .iter()
            .any(|w| lower.contains(w))
            || words.len() <= 3)
    {
        return Intent::Quote((*ticker).to_owned());
    }
    Intent::Unknown
}

/// The tool results since the last user message, by tool name, in order.
fn results(request: &ChatRequest) -> (Option<&str>, Vec<(String, Value, bool)>) {
    let mut question = None;
    let mut calls: Vec<(String, String)> = Vec::new();
    let mut results = Vec::new();
    for message in &request.messages {
        match message {
            ChatMessage::User(text) => {
                question = Some(text.as_str());
                calls.clear();
                results.clear();
            }
            ChatMessage::Assistant { tool_calls, .. } => {
                calls.extend(tool_calls.iter().map(|c| (c.id.clone(), c.name.clone())));
            }
            ChatMessage::ToolResult {
                call_id,
                content,
                is_error,
            } => {
                let name = calls
                    .iter()
                    .find(|(id, _)| id == call_id)
                    .map(|(_, name)| name.clone())
                    .unwrap_or_default();
                let value = serde_json::from_str(content).unwrap_or(Value::String(content.clone()));
                results.push((name, value, *is_error));
            }
        }
    }
    (question, results)
}

fn respond(request: &ChatRequest) -> Vec<ProviderEvent> {
    let (question, results) = results(request);
    let question = question.unwrap_or_default();
    let input_tokens = request
        .messages
        .iter()
        .map(|m| match m {
            ChatMessage::User(text) => words(text),
            ChatMessage::Assistant { text, .. } => words(text),
            ChatMessage::ToolResult { content, .. } => words(content),
        })
        .sum();
    let mut events = vec![ProviderEvent::Start {
        model: LOCAL_MODEL.into(),
    }];
    let step = next_step(&intent(question), &results, question);
    let (reason, output_tokens) = match step {
        Step::Call(calls) => {
            let count = calls.len() as u64;
            events.extend(calls.into_iter().enumerate().map(|(n, (name, input))| {
                ProviderEvent::ToolCall(ToolCall {
                    id: format!("local_{}_{n}", results.len()),
                    name: name.into(),
                    input,
                })
            }));
            (StopReason::ToolUse, count)
        }
        Step::Answer(text) => {
            let output = words(&text);
            events.extend(
                text.split_inclusive(' ')
                    .map(|piece| ProviderEvent::TextDelta(piece.to_owned())),
            );
            (StopReason::EndTurn, output)
        }
    };
    events.push(ProviderEvent::Stop {
        reason,
        usage: Usage {
            input_tokens,
            output_tokens,
        },
    });
    events
}

fn words(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

enum Step {
    Call(Vec<(&'static str, Value)>),
    Answer(String),
}

fn of<'a>(results: &'a [(String, Value, bool)], tool: &str) -> Vec<&'a (String, Value, bool)> {
    results.iter().filter(|(name, _, _)| name == tool).collect()
}

fn next_step(intent: &Intent, results: &[(String, Value, bool)], question: &str) -> Step {
    if let Some((name, error, _)) = results.iter().find(|(_, _, failed)| *failed) {
        return Step::Answer(format!(
            "I could not get that: {name} failed ({}).",
            error.as_str().unwrap_or("no reason given")
        ));
    }
    match intent {
        Intent::Worth | Intent::Performance => {
            let Some((_, portfolios, _)) = of(results, "list_portfolios").first().copied() else {
                return Step::Call(vec![("list_portfolios", json!({}))]);
            };
            let list = portfolios["portfolios"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if list.is_empty() {
                return Step::Answer("You have no portfolios yet.".into());
            }
            let (tool, figures) = match intent {
                Intent::Worth => ("get_positions", of(results, "get_positions")),
                _ => ("get_performance", of(results, "get_performance")),
            };
            if figures.is_empty() {
                return Step::Call(
                    list.iter()
                        .map(|p| (tool, json!({"portfolio_id": p["id"]})))
                        .collect(),
                );
            }
            Step::Answer(match intent {
                Intent::Worth => worth(&list, &figures),
                _ => performance(&list, &figures),
            })
        }
        Intent::Quote(symbol) => match of(results, "get_quote").first() {
            None => Step::Call(vec![("get_quote", json!({"symbol": symbol}))]),
            Some((_, quote, _)) => Step::Answer(format!(
                "{} is at {} {} (as of {}).",
                quote["symbol"].as_str().unwrap_or(symbol),
                quote["price"].as_str().unwrap_or("?"),
                quote["currency"].as_str().unwrap_or(""),
                quote["as_of"].as_str().unwrap_or("?"),
            )),
        },
        Intent::Search(term) => match of(results, "search_symbols").first() {
            None => Step::Call(vec![("search_symbols", json!({"query": term}))]),
            Some((_, found, _)) => {
                let symbols = found["symbols"].as_array().cloned().unwrap_or_default();
                if symbols.is_empty() {
                    Step::Answer(format!("No symbol matches {term:?}."))
                } else {
                    let lines: Vec<String> = symbols
                        .iter()
                        .map(|s| {
                            format!(
                                "{} ({}, {})",
                                s["symbol"].as_str().unwrap_or("?"),
                                s["name"].as_str().unwrap_or("?"),
                                s["exchange"].as_str().unwrap_or("?")
                            )
                        })
                        .collect();
                    Step::Answer(format!("Symbols matching {term:?}: {}.", lines.join("; ")))
                }
            }
        },
        Intent::Unknown => Step::Answer(format!(
            "I am the offline assistant and could not parse {:?}. I can answer: what your \
             portfolios are worth (\"what is my portfolio worth?\"), your positions, your \
             performance (\"how did my portfolio perform?\"), a quote (\"quote AAPL\") and a \
             symbol search (\"search apple\").",
            question.chars().take(200).collect::<String>()
        )),
    }
}

fn decimal(value: &Value) -> Decimal {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_default()
}

fn name_of<'a>(list: &'a [Value], id: &Value) -> &'a str {
    list.iter()
        .find(|p| p["id"] == *id)
        .and_then(|p| p["name"].as_str())
        .unwrap_or("a portfolio")
}

fn worth(list: &[Value], positions: &[&(String, Value, bool)]) -> String {
    let mut lines = Vec::new();
    for (_, held, _) in positions {
        let items = held["positions"].as_array().cloned().unwrap_or_default();
        let value: Decimal = items.iter().map(|p| decimal(&p["value"])).sum();
        let currency = held["base_currency"].as_str().unwrap_or("");
        let top: Vec<String> = items
            .iter()
            .take(5)
            .map(|p| {
                format!(
                    "{} {} worth {}",
                    decimal(&p["quantity"]).normalize(),
                    p["symbol"].as_str().unwrap_or("?"),
                    decimal(&p["value"]).round_dp(2)
                )
            })
            .collect();
        let detail = if top.is_empty() {
            "no positions".to_owned()
        } else {
            top.join(", ")
        };
        lines.push(format!(
            "{} is worth {} {currency} ({detail}).",
            name_of(list, &held["portfolio_id"]),
            value.round_dp(2)
        ));
    }
    lines.join(" ")
}

fn performance(list: &[Value], figures: &[&(String, Value, bool)]) -> String {
    let lines: Vec<String> = figures
        .iter()
        .map(|(_, p, _)| {
            let percentage = decimal(&p["net_performance_percentage"]) * Decimal::ONE_HUNDRED;
            format!(
                "{}: value {} {}, net performance {} ({}%).",
                name_of(list, &p["portfolio_id"]),
                decimal(&p["current_value"]).round_dp(2),
                p["base_currency"].as_str().unwrap_or(""),
                decimal(&p["net_performance"]).round_dp(2),
                percentage.round_dp(2)
            )
        })
        .collect();
    lines.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_are_read_for_what_they_ask() {
        assert_eq!(intent("What is my portfolio worth?"), Intent::Worth);
        assert_eq!(
            intent("how did my portfolios perform this year"),
            Intent::Performance
        );
        assert_eq!(intent("quote AAPL"), Intent::Quote("AAPL".into()));
        assert_eq!(
            intent("What is the price of BRK.B?"),
            Intent::Quote("BRK.B".into())
        );
        assert_eq!(intent("search apple"), Intent::Search("apple".into()));
        assert_eq!(intent("tell me a joke"), Intent::Unknown);
    }

    #[test]
    fn an_unparsed_question_is_answered_with_what_it_can_do() {
        let request = ChatRequest {
            model: LOCAL_MODEL.into(),
            system: None,
            messages: vec![ChatMessage::User("tell me a joke".into())],
            tools: Vec::new(),
            max_tokens: 100,
        };
        let text: String = respond(&request)
            .into_iter()
            .filter_map(|e| match e {
                ProviderEvent::TextDelta(t) => Some(t),
                _ => None,
            })
            .collect();
        assert!(
            text.contains("could not parse") && text.contains("quote AAPL"),
            "{text}"
        );
    }
}
