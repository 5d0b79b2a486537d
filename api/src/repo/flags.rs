//! Funding-restriction flags and their links to programs and groups.

use std::collections::HashMap;

use entities::{funding_restriction as flag, group, group_funding_restriction as group_flag, program_funding_restriction as program_flag};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, UnionType};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::errors::{ApiError, ApiResult};
use crate::repo::Db;

pub async fn list(db: &impl ConnectionTrait) -> ApiResult<Vec<flag::Model>> {
    Ok(flag::Entity::find().order_by_asc(flag::Column::Code).all(db).await?)
}

pub async fn create(db: &impl ConnectionTrait, code: String, label: String, description: String) -> ApiResult<flag::Model> {
    if flag::Entity::find().filter(flag::Column::Code.eq(&code)).count(db).await? > 0 {
        return Err(ApiError::Conflict(format!("a funding restriction with code {code} exists already")));
    }
    Ok(flag::ActiveModel { code: Set(code), label: Set(label), description: Set(description), ..Default::default() }.insert(db).await?)
}

/// The ids of the flags with these codes; codes no flag has are missing from the map.
pub async fn ids_by_code(db: &impl ConnectionTrait, codes: &[String]) -> ApiResult<HashMap<String, i64>> {
    if codes.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, String)> = flag::Entity::find()
        .select_only()
        .columns([flag::Column::Id, flag::Column::Code])
        .filter(flag::Column::Code.is_in(codes.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, code)| (code, id)).collect())
}

/// [`ids_by_code`] on the pool, remembering the codes found for the life of the process: a
/// flag is never deleted and its code never changes, so a code once found keeps its id. A
/// code not found is asked again next time (another server may create it). Only committed
/// flags are remembered (the pool, never a transaction, reads them).
///
/// The `groups` filters by funding restriction use it: the lookup was one statement of the
/// four of `bench/load.sh`'s query A.
pub async fn ids_by_code_remembered(db: &Db, codes: &[String]) -> ApiResult<HashMap<String, i64>> {
    let poisoned = || ApiError::Internal(anyhow::anyhow!("flag id cache lock poisoned"));
    let mut found = HashMap::new();
    let mut missing = Vec::new();
    {
        let known = db.flag_ids.read().map_err(|_| poisoned())?;
        for code in codes {
            match known.get(code) {
                Some(&id) => {
                    found.insert(code.clone(), id);
                }
                None => missing.push(code.clone()),
            }
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let read = ids_by_code(db.conn(), &missing).await?;
    db.flag_ids.write().map_err(|_| poisoned())?.extend(read.iter().map(|(code, &id)| (code.clone(), id)));
    found.extend(read);
    Ok(found)
}

/// Own flags of each group.
pub async fn for_groups(db: &impl ConnectionTrait, group_ids: &[i64]) -> ApiResult<HashMap<i64, Vec<flag::Model>>> {
    linked(db, "group_funding_restrictions", "group_id", group_ids).await
}

/// Flags of each program.
pub async fn for_programs(db: &impl ConnectionTrait, program_ids: &[i64]) -> ApiResult<HashMap<i64, Vec<flag::Model>>> {
    linked(db, "program_funding_restrictions", "program_id", program_ids).await
}

/// The effective flags of each group (its own and its program's, each once), by group id,
/// in one statement.
pub async fn effective_for_groups(db: &impl ConnectionTrait, group_ids: &[i64]) -> ApiResult<HashMap<i64, Vec<flag::Model>>> {
    if group_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let (owner, flag_id) = (Alias::new("owner_id"), Alias::new("flag_id"));
    let mut own = Query::select()
        .expr_as(Expr::col(group_flag::Column::GroupId), owner.clone())
        .expr_as(Expr::col(group_flag::Column::FundingRestrictionId), flag_id.clone())
        .from(group_flag::Entity)
        .and_where(group_flag::Column::GroupId.is_in(group_ids.iter().copied()))
        .to_owned();
    let inherited = Query::select()
        .expr_as(Expr::col((group::Entity, group::Column::Id)), owner.clone())
        .expr_as(Expr::col((program_flag::Entity, program_flag::Column::FundingRestrictionId)), flag_id.clone())
        .from(group::Entity)
        .inner_join(
            program_flag::Entity,
            Expr::col((program_flag::Entity, program_flag::Column::ProgramId)).equals((group::Entity, group::Column::ProgramId)),
        )
        .and_where(Expr::col((group::Entity, group::Column::Id)).is_in(group_ids.iter().copied()))
        .to_owned();
    let links = Alias::new("links");
    let query = Query::select()
        .column((links.clone(), owner.clone()))
        .columns([
            (flag::Entity, flag::Column::Id),
            (flag::Entity, flag::Column::Code),
            (flag::Entity, flag::Column::Label),
            (flag::Entity, flag::Column::Description),
        ])
        .from_subquery(own.union(UnionType::Distinct, inherited).take(), links.clone())
        .inner_join(flag::Entity, Expr::col((links, flag_id)).equals((flag::Entity, flag::Column::Id)))
        .order_by((flag::Entity, flag::Column::Code), Order::Asc)
        .to_owned();
    owned_flags(db.query_all(&query).await?)
}

/// Rows of `owner_id` and a flag's columns, grouped by owner.
fn owned_flags(rows: Vec<sea_orm::QueryResult>) -> ApiResult<HashMap<i64, Vec<flag::Model>>> {
    let mut out: HashMap<i64, Vec<flag::Model>> = HashMap::new();
    for row in rows {
        let owner_id: i64 = row.try_get("", "owner_id")?;
        out.entry(owner_id).or_default().push(flag::Model::from_query_result(&row, "")?);
    }
    Ok(out)
}

/// Flags reached through a link table, by owner id, in one statement.
async fn linked(
    db: &impl ConnectionTrait,
    link: &'static str,
    owner: &'static str,
    owners: &[i64],
) -> ApiResult<HashMap<i64, Vec<flag::Model>>> {
    if owners.is_empty() {
        return Ok(HashMap::new());
    }
    let (link, owner) = (Alias::new(link), Alias::new(owner));
    let query = Query::select()
        .expr_as(Expr::col((link.clone(), owner.clone())), Alias::new("owner_id"))
        .columns([
            (flag::Entity, flag::Column::Id),
            (flag::Entity, flag::Column::Code),
            (flag::Entity, flag::Column::Label),
            (flag::Entity, flag::Column::Description),
        ])
        .from(link.clone())
        .inner_join(flag::Entity, Expr::col((link.clone(), Alias::new("funding_restriction_id"))).equals((flag::Entity, flag::Column::Id)))
        .and_where(Expr::col((link, owner)).is_in(owners.iter().copied()))
        .order_by((flag::Entity, flag::Column::Code), Order::Asc)
        .to_owned();
    owned_flags(db.query_all(&query).await?)
}

/// Replaces the flag links of a program.
pub async fn set_for_program(db: &impl ConnectionTrait, program_id: i64, flag_ids: &[i64]) -> ApiResult<()> {
    program_flag::Entity::delete_many().filter(program_flag::Column::ProgramId.eq(program_id)).exec(db).await?;
    if !flag_ids.is_empty() {
        let rows = flag_ids.iter().map(|&id| program_flag::ActiveModel { program_id: Set(program_id), funding_restriction_id: Set(id) });
        program_flag::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}

/// Replaces the own flag links of a group.
pub async fn set_for_group(db: &impl ConnectionTrait, group_id: i64, flag_ids: &[i64]) -> ApiResult<()> {
    group_flag::Entity::delete_many().filter(group_flag::Column::GroupId.eq(group_id)).exec(db).await?;
    if !flag_ids.is_empty() {
        let rows = flag_ids.iter().map(|&id| group_flag::ActiveModel { group_id: Set(group_id), funding_restriction_id: Set(id) });
        group_flag::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}
