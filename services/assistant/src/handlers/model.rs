//! `assistant.v1.model.list`: what every configured provider offers now, and the offline model.

use bus::{RequestContext, ServiceError};
use contracts::assistant::{ListModels, ModelList};

use super::{Handlers, owner};

pub async fn list(
    h: &Handlers,
    ctx: RequestContext,
    _req: ListModels,
) -> Result<ModelList, ServiceError> {
    owner(&ctx)?;
    let models = h.0.providers.models().await;
    Ok(ModelList {
        models,
        default_model: h.0.providers.default_model(),
    })
}
