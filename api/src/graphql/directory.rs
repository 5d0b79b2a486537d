//! Queries and mutations of agencies, programs and funding-restriction flags, and `me`.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use crate::domain::validate;
use crate::errors::{ApiError, ApiResult};
use crate::graphql::context::{ContextExt, parse_id};
use crate::graphql::directory_types::{Agency, FundingRestriction, Program};
use crate::graphql::enums::Role;
use crate::graphql::enums::{Approach, Category, Orientation};
use crate::graphql::referrals::actor;
use crate::policy::{Operation, Scope};
use crate::repo;
use crate::repo::programs::ProgramDraft;
use crate::services::directory::{self, FlagChoice};

/// The caller, as the token and the database tell.
#[derive(SimpleObject)]
pub struct Me {
    pub subject: String,
    pub role: Role,
    pub agency: Option<Agency>,
    /// Ids of the groups a liaison is assigned to.
    pub liaison_group_ids: Vec<ID>,
}

#[derive(InputObject)]
pub struct ProgramInput {
    pub slug: String,
    pub name: String,
    #[graphql(default)]
    pub description: String,
    pub founded_year: Option<i32>,
    pub founded_place: Option<String>,
    pub approach: Approach,
    pub category: Category,
    pub orientation: Orientation,
    pub open_to: Option<String>,
    pub website: Option<String>,
    #[graphql(default)]
    pub funding_restrictions: Vec<String>,
}

/// Changes to a program: absent fields stay, null clears.
#[derive(InputObject, Default)]
pub struct ProgramPatch {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub founded_year: MaybeUndefined<i32>,
    pub founded_place: MaybeUndefined<String>,
    pub approach: Option<Approach>,
    pub category: Option<Category>,
    pub orientation: Option<Orientation>,
    pub open_to: MaybeUndefined<String>,
    pub website: MaybeUndefined<String>,
    pub funding_restrictions: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct FundingRestrictionInput {
    /// UPPER_SNAKE_CASE, e.g. NO_OUTSIDE_CONTRIBUTIONS.
    pub code: String,
    pub label: String,
    #[graphql(default)]
    pub description: String,
}

#[derive(InputObject)]
pub struct AgencyInput {
    pub name: String,
}

/// `Some` as a value, `None` as null (used when a whole input is applied as a patch).
fn defined<T>(v: Option<T>) -> MaybeUndefined<T> {
    v.map_or(MaybeUndefined::Null, MaybeUndefined::Value)
}

fn founded_year(v: i32) -> ApiResult<i32> {
    let this_year = chrono::Datelike::year(&chrono::Utc::now());
    validate::int_in("input.foundedYear", v, 1800..=this_year)
}

/// Validates `p` over `d` (a new program starts from an empty draft).
fn apply_program_patch(d: &mut ProgramDraft, p: ProgramPatch) -> ApiResult<()> {
    if let Some(v) = p.slug {
        d.slug = validate::slug("input.slug", &v)?;
    }
    if let Some(v) = p.name {
        d.name = validate::required_text("input.name", &v, 200)?;
    }
    if let Some(v) = p.description {
        d.description = validate::optional_text("input.description", Some(&v), 5000)?.unwrap_or_default();
    }
    match p.founded_year {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => d.founded_year = None,
        MaybeUndefined::Value(y) => d.founded_year = Some(founded_year(y)?),
    }
    let text = |field: &str, v: MaybeUndefined<String>, max: usize, target: &mut Option<String>| -> ApiResult<()> {
        match v {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => *target = None,
            MaybeUndefined::Value(s) => *target = validate::optional_text(field, Some(&s), max)?,
        }
        Ok(())
    };
    text("input.foundedPlace", p.founded_place, 200, &mut d.founded_place)?;
    text("input.openTo", p.open_to, 1000, &mut d.open_to)?;
    match p.website {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => d.website = None,
        MaybeUndefined::Value(s) => d.website = validate::url("input.website", Some(&s))?,
    }
    if let Some(v) = p.approach {
        d.approach = v.into();
    }
    if let Some(v) = p.category {
        d.category = v.into();
    }
    if let Some(v) = p.orientation {
        d.orientation = v.into();
    }
    Ok(())
}

#[derive(Default)]
pub struct DirectoryQueries;

#[Object]
impl DirectoryQueries {
    /// Who am I? Answers for any valid token.
    async fn me(&self, ctx: &Context<'_>) -> Result<Me> {
        let viewer = ctx.viewer()?;
        let db = ctx.db().conn();
        let agency = match viewer.agency_id {
            Some(id) => repo::agencies::get(db, id).await?.map(Agency::from),
            None => None,
        };
        let mut groups: Vec<i64> = viewer.assigned_groups(db).await?.iter().copied().collect();
        groups.sort_unstable();
        Ok(Me {
            subject: viewer.subject.clone(),
            role: viewer.role.into(),
            agency,
            liaison_group_ids: groups.into_iter().map(|id| ID(id.to_string())).collect(),
        })
    }

    /// Registered agencies (admins: all; clinicians: their own).
    async fn agencies(&self, ctx: &Context<'_>) -> Result<Vec<Agency>> {
        let (viewer, scope) = ctx.authorize(Operation::ReadAgencies)?;
        let only = match scope {
            Scope::All => None,
            // A clinician's token always names its agency (`Authn` refuses one without).
            _ => Some(viewer.agency_id.ok_or_else(ApiError::forbidden)?),
        };
        Ok(repo::agencies::list(ctx.db().conn(), only).await?.into_iter().map(Agency::from).collect())
    }

    /// Every program by name; with `updatedSince`, those whose `updatedAt` is at or after it
    /// (docs/sync.md).
    async fn programs(&self, ctx: &Context<'_>, updated_since: Option<DateTime<Utc>>) -> Result<Vec<Program>> {
        ctx.authorize(Operation::ReadDirectory)?;
        let db = ctx.db().conn();
        let rows = match updated_since {
            Some(since) => repo::programs::updated_since(db, since).await?,
            None => repo::programs::list(db).await?,
        };
        Ok(rows.into_iter().map(Program).collect())
    }

    /// A program by id or by slug (give exactly one).
    async fn program(&self, ctx: &Context<'_>, id: Option<ID>, slug: Option<String>) -> Result<Option<Program>> {
        ctx.authorize(Operation::ReadDirectory)?;
        let db = ctx.db().conn();
        let found = match (id, slug) {
            (Some(id), None) => repo::programs::get(db, parse_id("id", &id)?).await?,
            (None, Some(slug)) => repo::programs::by_slug(db, slug.trim()).await?,
            _ => return Err(ApiError::bad_input("id", "give either id or slug").into()),
        };
        Ok(found.map(Program))
    }

    async fn funding_restrictions(&self, ctx: &Context<'_>) -> Result<Vec<FundingRestriction>> {
        ctx.authorize(Operation::ReadDirectory)?;
        Ok(repo::flags::list(ctx.db().conn()).await?.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct DirectoryMutations;

/// The flags a program input names, resolved (unknown codes are BAD_USER_INPUT).
async fn flags(ctx: &Context<'_>, codes: Vec<String>) -> ApiResult<FlagChoice> {
    Ok(FlagChoice { ids: directory::flag_ids(ctx.db().conn(), "input.fundingRestrictions", &codes).await?, codes })
}

#[Object]
impl DirectoryMutations {
    /// Registers a referring agency (admins). Its id goes in clinicians' `agency` claim.
    async fn create_agency(&self, ctx: &Context<'_>, input: AgencyInput) -> Result<Agency> {
        let (viewer, _) = ctx.authorize(Operation::CreateAgency)?;
        let name = validate::required_text("input.name", &input.name, 200)?;
        Ok(directory::create_agency(ctx.db(), &actor(viewer), name).await?.into())
    }

    async fn create_program(&self, ctx: &Context<'_>, input: ProgramInput) -> Result<Program> {
        let (viewer, _) = ctx.authorize(Operation::WriteDirectory)?;
        let mut draft = ProgramDraft {
            slug: String::new(),
            name: String::new(),
            description: String::new(),
            founded_year: None,
            founded_place: None,
            approach: input.approach.into(),
            category: input.category.into(),
            orientation: input.orientation.into(),
            open_to: None,
            website: None,
        };
        apply_program_patch(
            &mut draft,
            ProgramPatch {
                slug: Some(input.slug),
                name: Some(input.name),
                description: Some(input.description),
                founded_year: defined(input.founded_year),
                founded_place: defined(input.founded_place),
                open_to: defined(input.open_to),
                website: defined(input.website),
                ..Default::default()
            },
        )?;
        let flags = flags(ctx, input.funding_restrictions).await?;
        Ok(Program(directory::create_program(ctx.db(), &actor(viewer), draft, flags).await?))
    }

    async fn update_program(&self, ctx: &Context<'_>, id: ID, input: ProgramPatch) -> Result<Program> {
        let (viewer, _) = ctx.authorize(Operation::WriteDirectory)?;
        let id = parse_id("id", &id)?;
        let flags = match input.funding_restrictions.clone() {
            Some(codes) => Some(flags(ctx, codes).await?),
            None => None,
        };
        let program = directory::update_program(ctx.db(), &actor(viewer), id, |draft| apply_program_patch(draft, input), flags).await?;
        Ok(Program(program))
    }

    async fn create_funding_restriction(&self, ctx: &Context<'_>, input: FundingRestrictionInput) -> Result<FundingRestriction> {
        let (viewer, _) = ctx.authorize(Operation::WriteDirectory)?;
        let code = validate::flag_code("input.code", &input.code)?;
        let label = validate::required_text("input.label", &input.label, 200)?;
        let description = validate::optional_text("input.description", Some(&input.description), 2000)?.unwrap_or_default();
        Ok(directory::create_flag(ctx.db(), &actor(viewer), code, label, description).await?.into())
    }
}
