//! Writing the directory's reference data: agencies, programs and funding-restriction flags,
//! each change with its audit event (`audited`). Callers have authorized the operation and
//! validated the input.
//!
//! A program's update (its fields or its flags) moves its `updated_at` and, in the same
//! transaction, the `updated_at` of every group of the program: a group shows its program,
//! its category (when it has none of its own) and its effective flags, so a mirror syncing
//! groups by `updatedSince` sees them again. A new flag is linked to nothing: it moves nothing.

use entities::{agency, funding_restriction, program};
use serde_json::json;

use crate::domain::validate;
use crate::errors::{ApiError, ApiResult};
use crate::repo::audit::Actor;
use crate::repo::programs::ProgramDraft;
use crate::repo::{self, Db};
use crate::services::audited::{self, Change};

/// The ids of funding-restriction `codes` (validated, sorted, without duplicates); an unknown
/// code is BAD_USER_INPUT on `field`.
pub async fn flag_ids(db: &impl sea_orm::ConnectionTrait, field: &str, codes: &[String]) -> ApiResult<Vec<i64>> {
    let codes = codes.iter().map(|c| validate::flag_code(field, c)).collect::<ApiResult<Vec<_>>>()?;
    let known = repo::flags::ids_by_code(db, &codes).await?;
    ids_of(field, &codes, &known)
}

/// [`flag_ids`] outside a transaction, from the process's memory of the codes it has seen
/// (for the read path: a filter by funding restriction).
pub async fn filter_flag_ids(db: &Db, field: &str, codes: &[String]) -> ApiResult<Vec<i64>> {
    let codes = codes.iter().map(|c| validate::flag_code(field, c)).collect::<ApiResult<Vec<_>>>()?;
    let known = repo::flags::ids_by_code_remembered(db, &codes).await?;
    ids_of(field, &codes, &known)
}

fn ids_of(field: &str, codes: &[String], known: &std::collections::HashMap<String, i64>) -> ApiResult<Vec<i64>> {
    let mut ids = codes
        .iter()
        .map(|c| known.get(c).copied().ok_or_else(|| ApiError::bad_input(field, format!("unknown funding restriction code {c:?}"))))
        .collect::<ApiResult<Vec<_>>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

pub async fn create_agency(db: &Db, actor: &Actor, name: String) -> ApiResult<agency::Model> {
    let txn = db.begin_write().await?;
    let agency = repo::agencies::create(&*txn, name).await?;
    let change = Change::new("agency.create", "agency", agency.id, json!({ "name": agency.name }));
    audited::commit(txn, actor, change).await?;
    Ok(agency)
}

/// A program's funding restrictions as they are set: the flag ids and, for the audit log,
/// the codes as given.
pub struct FlagChoice {
    pub ids: Vec<i64>,
    pub codes: Vec<String>,
}

pub async fn create_program(db: &Db, actor: &Actor, draft: ProgramDraft, flags: FlagChoice) -> ApiResult<program::Model> {
    let txn = db.begin_write().await?;
    let program = repo::programs::create(&*txn, draft).await?;
    repo::flags::set_for_program(&*txn, program.id, &flags.ids).await?;
    let payload = json!({ "slug": program.slug, "name": program.name, "fundingRestrictions": flags.codes });
    audited::commit(txn, actor, Change::new("program.create", "program", program.id, payload)).await?;
    Ok(program)
}

/// Applies `patch` to program `id` as it is inside the transaction (so that two admins'
/// changes do not overwrite each other's fields), and sets its flags when `flags` is given.
pub async fn update_program(
    db: &Db,
    actor: &Actor,
    id: i64,
    patch: impl FnOnce(&mut ProgramDraft) -> ApiResult<()>,
    flags: Option<FlagChoice>,
) -> ApiResult<program::Model> {
    let txn = db.begin_write().await?;
    let current = repo::programs::get(&*txn, id).await?.ok_or_else(|| ApiError::not_found("program"))?;
    let mut draft = ProgramDraft::from(&current);
    patch(&mut draft)?;
    if let Some(flags) = &flags {
        repo::flags::set_for_program(&*txn, id, &flags.ids).await?;
    }
    let program = repo::programs::update(&*txn, current, draft).await?;
    repo::groups::touch_program_groups(&*txn, id, program.updated_at).await?;
    let payload = json!({ "slug": program.slug, "name": program.name, "fundingRestrictions": flags.map(|f| f.codes) });
    audited::commit(txn, actor, Change::new("program.update", "program", program.id, payload)).await?;
    Ok(program)
}

pub async fn create_flag(
    db: &Db,
    actor: &Actor,
    code: String,
    label: String,
    description: String,
) -> ApiResult<funding_restriction::Model> {
    let txn = db.begin_write().await?;
    let flag = repo::flags::create(&*txn, code, label, description).await?;
    let change = Change::new("funding_restriction.create", "funding_restriction", flag.id, json!({ "code": flag.code }));
    audited::commit(txn, actor, change).await?;
    Ok(flag)
}
