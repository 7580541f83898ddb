//! `portfolio.v1.activity.import|export`: Ghostfolio's CSV and JSON, all or nothing.

use bus::RequestContext;
use contracts::portfolio::{
    ActivitySource, ExportActivities, ExportedActivities, FileFormat, ImportActivities,
    ImportedActivities,
};

use super::{
    activity::{checked, record_all},
    owned, owner,
};
use crate::{app::AppState, domain::ghostfolio, error::PortfolioError, store};

#[tracing::instrument(name = "portfolio.activity.export", skip_all, fields(portfolio_id = %req.portfolio_id))]
pub async fn export(
    state: &AppState,
    ctx: RequestContext,
    req: ExportActivities,
) -> Result<ExportedActivities, PortfolioError> {
    let owner = owner(&ctx)?;
    let mut conn = state.db.acquire().await?;
    let portfolio = owned(&mut conn, owner, req.portfolio_id, false).await?;
    let activities = store::activity::history(&mut conn, portfolio.id).await?;
    let now = state.clock.now();
    let (content, extension) = match req.format {
        FileFormat::Csv => (ghostfolio::to_csv(&activities)?, "csv"),
        FileFormat::Json => (ghostfolio::to_json(&activities, now)?, "json"),
    };
    Ok(ExportedActivities {
        format: req.format,
        filename: format!("bourse-{}-{}.{extension}", portfolio.id, now.date_naive()),
        content,
    })
}

#[tracing::instrument(name = "portfolio.activity.import", skip_all, fields(portfolio_id = %req.portfolio_id))]
pub async fn import(
    state: &AppState,
    ctx: RequestContext,
    req: ImportActivities,
) -> Result<ImportedActivities, PortfolioError> {
    let owner = owner(&ctx)?;
    let mut tx = state.db.begin().await?;
    let portfolio = owned(&mut tx, owner, req.portfolio_id, true).await?;
    let rows = match req.format {
        FileFormat::Csv => ghostfolio::from_csv(&req.content, &portfolio.base_currency)?,
        FileFormat::Json => ghostfolio::from_json(&req.content, &portfolio.base_currency)?,
    };
    let activities = checked(state, &portfolio, rows, ActivitySource::Import)?;
    let symbols_added = record_all(state, &ctx, &mut tx, &portfolio, &activities).await?;
    tx.commit().await?;
    tracing::info!(imported = activities.len(), "activities imported");
    Ok(ImportedActivities {
        imported: u32::try_from(activities.len()).unwrap_or(u32::MAX),
        symbols_added,
    })
}
