//! `import_keys`: the row an import made of a source's record, so the next import of the
//! same record updates it (`services::import`).

use entities::import_key;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::errors::ApiResult;

pub async fn local_id(db: &impl ConnectionTrait, source: &str, kind: &str, external_id: &str) -> ApiResult<Option<i64>> {
    let key = (source.to_owned(), kind.to_owned(), external_id.to_owned());
    Ok(import_key::Entity::find_by_id(key).one(db).await?.map(|k| k.local_id))
}

pub async fn insert(db: &impl ConnectionTrait, source: &str, kind: &str, external_id: &str, local_id: i64) -> ApiResult<()> {
    import_key::ActiveModel {
        source: Set(source.to_owned()),
        kind: Set(kind.to_owned()),
        external_id: Set(external_id.to_owned()),
        local_id: Set(local_id),
    }
    .insert(db)
    .await?;
    Ok(())
}
