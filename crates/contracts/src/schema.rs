//! JSON Schema export: one file per request, reply and event under `schemas/`.
//!
//! `cargo run -p contracts --bin export-schemas` rewrites the folder; with `--check` it only
//! compares and fails when a file is missing, stale or unknown, which is how CI keeps
//! `schemas/` honest.

use std::collections::BTreeMap;

use schemars::{JsonSchema, generate::SchemaSettings};

use crate::{
    Event, Request, assistant, gateway, identity, market, portfolio, terminal, valuation, workspace,
};

/// File name (relative to `schemas/`) to pretty-printed JSON Schema, for every message type.
pub fn all() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    request::<market::SearchSymbols>(&mut files);
    request::<market::GetSymbol>(&mut files);
    request::<market::CreateSymbol>(&mut files);
    request::<market::GetQuote>(&mut files);
    request::<market::GetPriceHistory>(&mut files);
    request::<market::ImportPriceHistory>(&mut files);
    request::<market::EnsureSymbols>(&mut files);
    event::<market::PriceUpdated>(&mut files);
    event::<market::PriceHistoryChanged>(&mut files);
    event_document::<market::Quote>(&mut files, "kv.quotes.{symbol}.json");
    request::<gateway::GetGatewayHealth>(&mut files);
    request::<identity::RegisterUser>(&mut files);
    request::<identity::Login>(&mut files);
    request::<identity::RefreshSession>(&mut files);
    request::<identity::Logout>(&mut files);
    request::<identity::GetUser>(&mut files);
    request::<identity::UpdateUser>(&mut files);
    request::<identity::SetUserRoles>(&mut files);
    request::<identity::DeleteUser>(&mut files);
    request::<identity::ListUsers>(&mut files);
    event::<identity::UserRegistered>(&mut files);
    event::<identity::UserUpdated>(&mut files);
    event::<identity::UserDeleted>(&mut files);
    event::<identity::LoginSucceeded>(&mut files);
    event::<identity::LoginFailed>(&mut files);
    event::<identity::RefreshTokenReused>(&mut files);
    request::<portfolio::CreatePortfolio>(&mut files);
    request::<portfolio::ListPortfolios>(&mut files);
    request::<portfolio::GetPortfolio>(&mut files);
    request::<portfolio::UpdatePortfolio>(&mut files);
    request::<portfolio::DeletePortfolio>(&mut files);
    request::<portfolio::RecordActivities>(&mut files);
    request::<portfolio::ListActivities>(&mut files);
    request::<portfolio::DeleteActivity>(&mut files);
    request::<portfolio::ExecuteTrade>(&mut files);
    request::<portfolio::ListTrades>(&mut files);
    request::<portfolio::ListPositions>(&mut files);
    request::<portfolio::GetPerformance>(&mut files);
    request::<portfolio::GetPerformanceSeries>(&mut files);
    request::<portfolio::ExportActivities>(&mut files);
    request::<portfolio::ImportActivities>(&mut files);
    request::<portfolio::ListHoldings>(&mut files);
    event::<portfolio::PortfolioCreated>(&mut files);
    event::<portfolio::PortfolioUpdated>(&mut files);
    event::<portfolio::PortfolioDeleted>(&mut files);
    event::<portfolio::ActivityRecorded>(&mut files);
    event::<portfolio::ActivityDeleted>(&mut files);
    event::<portfolio::TradeExecuted>(&mut files);
    request::<valuation::GetValuationStatus>(&mut files);
    event::<valuation::PortfolioValued>(&mut files);
    event_document::<valuation::Lease>(&mut files, "kv.valuation_leases.{key}.json");
    request::<terminal::CreateSession>(&mut files);
    request::<terminal::ListSessions>(&mut files);
    request::<terminal::ListInstanceSessions>(&mut files);
    request::<terminal::GetInstanceStats>(&mut files);
    request::<terminal::GetOverview>(&mut files);
    request::<terminal::GetSession>(&mut files);
    request::<terminal::CloseSession>(&mut files);
    request::<terminal::WriteSession>(&mut files);
    request::<terminal::ResizeSession>(&mut files);
    request::<terminal::GetHistory>(&mut files);
    request::<terminal::ListCommands>(&mut files);
    request::<terminal::AttachSession>(&mut files);
    request::<terminal::DetachSession>(&mut files);
    event::<terminal::TerminalStarted>(&mut files);
    event::<terminal::TerminalExited>(&mut files);
    event_document::<terminal::TerminalInstance>(
        &mut files,
        "kv.terminal_instances.{instance}.json",
    );
    request::<assistant::ListConversations>(&mut files);
    request::<assistant::CreateConversation>(&mut files);
    request::<assistant::GetConversation>(&mut files);
    request::<assistant::UpdateConversation>(&mut files);
    request::<assistant::DeleteConversation>(&mut files);
    request::<assistant::ListMessages>(&mut files);
    request::<assistant::SendMessage>(&mut files);
    request::<assistant::RegenerateReply>(&mut files);
    request::<assistant::StopGeneration>(&mut files);
    request::<assistant::ListModels>(&mut files);
    request::<assistant::ListFolders>(&mut files);
    request::<assistant::CreateFolder>(&mut files);
    request::<assistant::UpdateFolder>(&mut files);
    request::<assistant::DeleteFolder>(&mut files);
    request::<assistant::SearchConversations>(&mut files);
    request::<assistant::ExportConversation>(&mut files);
    event::<assistant::ChatEvent>(&mut files);
    request::<workspace::ListProjects>(&mut files);
    request::<workspace::CreateProject>(&mut files);
    request::<workspace::CloneProject>(&mut files);
    request::<workspace::GetProject>(&mut files);
    request::<workspace::UpdateProject>(&mut files);
    request::<workspace::DeleteProject>(&mut files);
    request::<workspace::GetProjectStats>(&mut files);
    request::<workspace::GetFile>(&mut files);
    request::<workspace::ReadFile>(&mut files);
    request::<workspace::WriteFile>(&mut files);
    request::<workspace::UploadChunk>(&mut files);
    request::<workspace::CommitUpload>(&mut files);
    request::<workspace::MakeDirectory>(&mut files);
    request::<workspace::DeleteFile>(&mut files);
    request::<workspace::MoveFile>(&mut files);
    request::<workspace::GetGitStatus>(&mut files);
    request::<workspace::GetGitDiff>(&mut files);
    request::<workspace::GetGitLog>(&mut files);
    request::<workspace::ListBranches>(&mut files);
    request::<workspace::CreateBranch>(&mut files);
    request::<workspace::CheckoutBranch>(&mut files);
    request::<workspace::CommitChanges>(&mut files);
    request::<workspace::Push>(&mut files);
    request::<workspace::Pull>(&mut files);
    event::<workspace::WorkspaceEvent>(&mut files);
    files
}

/// Which side of serde a schema describes: what a service accepts (requests; decimals may also
/// come as numbers) or what it sends (replies and events; decimals always as strings).
#[derive(Clone, Copy)]
enum Side {
    Accepted,
    Sent,
}

fn render<T: JsonSchema>(title: &str, side: Side) -> String {
    let settings = SchemaSettings::draft2020_12();
    let settings = match side {
        Side::Accepted => settings.for_deserialize(),
        Side::Sent => settings.for_serialize(),
    };
    let generator = settings.into_generator();
    let mut schema = generator.into_root_schema_for::<T>();
    schema.insert("$id".into(), title.into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

fn request<R: Request>(files: &mut BTreeMap<String, String>) {
    let request_file = format!("{}.request.json", R::SUBJECT);
    let reply_file = format!("{}.reply.json", R::SUBJECT);
    files.insert(
        request_file.clone(),
        render::<R>(&request_file, Side::Accepted),
    );
    files.insert(
        reply_file.clone(),
        render::<R::Reply>(&reply_file, Side::Sent),
    );
}

fn event<E: Event>(files: &mut BTreeMap<String, String>) {
    let file = format!("{}.json", E::SUBJECT_PATTERN);
    files.insert(file.clone(), render::<E>(&file, Side::Sent));
}

fn event_document<T: JsonSchema>(files: &mut BTreeMap<String, String>, file: &str) {
    files.insert(file.to_owned(), render::<T>(file, Side::Sent));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_valid_json_with_an_id() {
        let files = all();
        assert!(files.contains_key("market.v1.quote.get.request.json"));
        assert!(files.contains_key("evt.price.{symbol}.json"));
        for (name, text) in files {
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(value["$id"], name.as_str());
        }
    }

    #[test]
    fn decimal_fields_are_strings_in_replies() {
        let quote = &all()["market.v1.quote.get.reply.json"];
        let value: serde_json::Value = serde_json::from_str(quote).unwrap();
        assert_eq!(value["properties"]["price"]["type"], "string");
    }
}
