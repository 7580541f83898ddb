//! `assistant.v1.folder.*`: folders, nested through `parent_id`.

use bus::{RequestContext, ServiceError};
use contracts::assistant::{
    CreateFolder, DeleteFolder, DeletedFolder, Folder, FolderList, ListFolders, UpdateFolder,
};
use uuid::Uuid;

use super::{Handlers, owner};
use crate::store;

fn folder_not_found(id: Uuid) -> ServiceError {
    ServiceError::not_found(format!("no folder {id}"))
}

pub async fn list(
    h: &Handlers,
    ctx: RequestContext,
    _req: ListFolders,
) -> Result<FolderList, ServiceError> {
    let owner = owner(&ctx)?;
    let mut db = h.0.db.acquire().await?;
    Ok(FolderList {
        folders: store::folder::list(&mut db, owner).await?,
    })
}

pub async fn create(
    h: &Handlers,
    ctx: RequestContext,
    req: CreateFolder,
) -> Result<Folder, ServiceError> {
    let owner = owner(&ctx)?;
    if req.name.as_str().is_empty() {
        return Err(ServiceError::validation("a folder needs a name"));
    }
    let mut tx = h.0.db.begin().await?;
    if let Some(parent) = req.parent_id
        && store::folder::get(&mut tx, owner, parent).await?.is_none()
    {
        return Err(folder_not_found(parent));
    }
    let folder = store::folder::insert(
        &mut tx,
        owner,
        contracts::new_id(),
        req.name.as_str(),
        req.parent_id,
    )
    .await?;
    tx.commit().await?;
    Ok(folder)
}

pub async fn update(
    h: &Handlers,
    ctx: RequestContext,
    req: UpdateFolder,
) -> Result<Folder, ServiceError> {
    let owner = owner(&ctx)?;
    let mut tx = h.0.db.begin().await?;
    let mut folder = store::folder::get(&mut tx, owner, req.folder_id)
        .await?
        .ok_or_else(|| folder_not_found(req.folder_id))?;
    if let Some(name) = req.name {
        if name.as_str().is_empty() {
            return Err(ServiceError::validation("a folder needs a name"));
        }
        folder.name = name.to_string();
    }
    if let Some(parent) = req.parent_id {
        if let Some(parent) = parent {
            if store::folder::get(&mut tx, owner, parent).await?.is_none() {
                return Err(folder_not_found(parent));
            }
            if store::folder::is_within(&mut tx, parent, folder.id).await? {
                return Err(ServiceError::conflict(
                    "a folder cannot move into itself or a folder inside it",
                ));
            }
        }
        folder.parent_id = parent;
    }
    let saved = store::folder::save(&mut tx, &folder).await?;
    tx.commit().await?;
    Ok(saved)
}

pub async fn delete(
    h: &Handlers,
    ctx: RequestContext,
    req: DeleteFolder,
) -> Result<DeletedFolder, ServiceError> {
    let owner = owner(&ctx)?;
    let mut tx = h.0.db.begin().await?;
    store::folder::get(&mut tx, owner, req.folder_id)
        .await?
        .ok_or_else(|| folder_not_found(req.folder_id))?;
    let mut conversations = 0;
    for folder in store::folder::subtree(&mut tx, req.folder_id).await? {
        conversations += if req.cascade {
            store::conversation::delete_in_folder(&mut tx, owner, folder).await?
        } else {
            // Moved out by the foreign key (`on delete set null`); counted here.
            u64::try_from(store::conversation::count_in_folder(&mut tx, owner, folder).await?)
                .unwrap_or(0)
        };
    }
    store::folder::delete(&mut tx, req.folder_id).await?;
    tx.commit().await?;
    Ok(DeletedFolder {
        folder_id: req.folder_id,
        conversations,
    })
}
