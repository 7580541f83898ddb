//! The endpoints: each reads its request, finds the caller's session and asks it.

use base64::Engine as _;
use bus::{ErrorCode, RequestContext, ServiceError};
use contracts::terminal::{
    AttachSession, CloseSession, CommandList, CreateSession, DetachSession, ExitCause, GetHistory,
    GetInstanceStats, GetOverview, GetSession, HISTORY_PAGE, History, ListCommands,
    ListInstanceSessions, ListSessions, MAX_INPUT, ResizeSession, SessionList, TerminalOverview,
    TerminalSession, WriteSession, Written,
};

use crate::sessions::Sessions;

pub async fn create(
    sessions: &Sessions,
    ctx: RequestContext,
    request: CreateSession,
) -> Result<TerminalSession, ServiceError> {
    sessions.create(&ctx, request).await
}

pub async fn list(
    sessions: &Sessions,
    ctx: RequestContext,
    _request: ListSessions,
) -> Result<SessionList, ServiceError> {
    Ok(SessionList {
        sessions: sessions.list_everywhere(&ctx).await?,
    })
}

pub async fn list_here(
    sessions: &Sessions,
    ctx: RequestContext,
    _request: ListInstanceSessions,
) -> Result<SessionList, ServiceError> {
    Ok(SessionList {
        sessions: sessions.list_here(&ctx)?,
    })
}

fn admin(ctx: &RequestContext) -> Result<(), ServiceError> {
    match &ctx.actor {
        Some(actor) if actor.has_role("admin") => Ok(()),
        Some(_) => Err(ServiceError::forbidden(
            "only administrators see the terminal overview",
        )),
        None => Err(ServiceError::new(
            ErrorCode::Unauthorized,
            "sign in to see the terminal overview",
        )),
    }
}

pub async fn stats_here(
    sessions: &Sessions,
    ctx: RequestContext,
    _request: GetInstanceStats,
) -> Result<TerminalOverview, ServiceError> {
    admin(&ctx)?;
    Ok(sessions.stats_here())
}

pub async fn overview(
    sessions: &Sessions,
    ctx: RequestContext,
    _request: GetOverview,
) -> Result<TerminalOverview, ServiceError> {
    admin(&ctx)?;
    sessions.overview(&ctx).await
}

pub async fn get(
    sessions: &Sessions,
    ctx: RequestContext,
    request: GetSession,
) -> Result<TerminalSession, ServiceError> {
    Ok(sessions.owned(&ctx, &request.session_id)?.view())
}

pub async fn close(
    sessions: &Sessions,
    ctx: RequestContext,
    request: CloseSession,
) -> Result<TerminalSession, ServiceError> {
    let session = sessions.owned(&ctx, &request.session_id)?;
    let view = session.view();
    sessions.close(&session, ExitCause::Closed);
    Ok(view)
}

/// The bytes of a write: exactly one of `data` and `data_base64`, not empty, at most
/// [`MAX_INPUT`].
fn input(request: &WriteSession) -> Result<Vec<u8>, ServiceError> {
    let data = match (&request.data, &request.data_base64) {
        (Some(text), None) => text.as_bytes().to_vec(),
        (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|err| ServiceError::validation(format!("data_base64 is not base64: {err}")))?,
        _ => {
            return Err(ServiceError::validation(
                "send exactly one of data (UTF-8 text) and data_base64",
            ));
        }
    };
    if data.is_empty() {
        return Err(ServiceError::validation("the input is empty"));
    }
    if data.len() > MAX_INPUT {
        return Err(ServiceError::new(
            ErrorCode::PayloadTooLarge,
            format!("one write may carry at most {MAX_INPUT} bytes"),
        ));
    }
    Ok(data)
}

pub async fn write(
    sessions: &Sessions,
    ctx: RequestContext,
    request: WriteSession,
) -> Result<Written, ServiceError> {
    let data = input(&request)?;
    let session = sessions.owned(&ctx, &request.session_id)?;
    let len = data.len();
    let bytes = session.write(data, chrono::Utc::now()).await?;
    sessions.counters().add_in(len);
    Ok(Written { bytes })
}

pub async fn resize(
    sessions: &Sessions,
    ctx: RequestContext,
    request: ResizeSession,
) -> Result<TerminalSession, ServiceError> {
    if !(1..=1000).contains(&request.cols) || !(1..=1000).contains(&request.rows) {
        return Err(ServiceError::validation(
            "cols and rows must be between 1 and 1000",
        ));
    }
    sessions
        .owned(&ctx, &request.session_id)?
        .resize(request.cols, request.rows)
}

pub async fn history(
    sessions: &Sessions,
    ctx: RequestContext,
    request: GetHistory,
) -> Result<History, ServiceError> {
    let max = request
        .max_bytes
        .unwrap_or(HISTORY_PAGE)
        .clamp(1, HISTORY_PAGE);
    let session = sessions.owned(&ctx, &request.session_id)?;
    Ok(session.history(request.from_offset, max as usize))
}

pub async fn commands(
    sessions: &Sessions,
    ctx: RequestContext,
    request: ListCommands,
) -> Result<CommandList, ServiceError> {
    let session = sessions.owned(&ctx, &request.session_id)?;
    Ok(CommandList {
        commands: session.commands(),
    })
}

pub async fn attach(
    sessions: &Sessions,
    ctx: RequestContext,
    request: AttachSession,
) -> Result<TerminalSession, ServiceError> {
    let session = sessions.owned(&ctx, &request.session_id)?;
    Ok(session.attach(request.attachment_id, request.acked))
}

pub async fn detach(
    sessions: &Sessions,
    ctx: RequestContext,
    request: DetachSession,
) -> Result<TerminalSession, ServiceError> {
    let session = sessions.owned(&ctx, &request.session_id)?;
    Ok(session.detach(request.attachment_id))
}

#[cfg(test)]
mod tests {
    use contracts::terminal::{SessionId, new_instance_id};

    use super::*;

    fn write(data: Option<&str>, data_base64: Option<&str>) -> WriteSession {
        WriteSession {
            session_id: SessionId::new(&new_instance_id()),
            data: data.map(str::to_owned),
            data_base64: data_base64.map(str::to_owned),
        }
    }

    #[test]
    fn input_is_text_or_base64_never_both() {
        assert_eq!(input(&write(Some("ls\r"), None)).unwrap(), b"ls\r");
        assert_eq!(input(&write(None, Some("AwQ="))).unwrap(), [3, 4]);
        for bad in [
            write(None, None),
            write(Some("a"), Some("YQ==")),
            write(Some(""), None),
            write(None, Some("not base64!")),
        ] {
            assert_eq!(input(&bad).unwrap_err().code, ErrorCode::ValidationFailed);
        }
        let big = "x".repeat(MAX_INPUT + 1);
        assert_eq!(
            input(&write(Some(&big), None)).unwrap_err().code,
            ErrorCode::PayloadTooLarge
        );
    }
}
