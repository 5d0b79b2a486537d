//! Output types of the directory: agencies, programs, funding-restriction flags. Built from
//! entity models; only the fields listed here are exposed.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entities::{agency, funding_restriction, program};

use crate::graphql::enums::{Approach, Category, Orientation};
use crate::graphql::loaders::{ProgramFlags, RequestLoader};

/// A referring organisation.
#[derive(SimpleObject, Clone)]
pub struct Agency {
    pub id: ID,
    pub name: String,
}

impl From<agency::Model> for Agency {
    fn from(m: agency::Model) -> Self {
        Self { id: ID(m.id.to_string()), name: m.name }
    }
}

/// A funding-restriction flag: what money, rooms or materials a program or group will not take.
#[derive(SimpleObject, Clone)]
pub struct FundingRestriction {
    pub id: ID,
    /// Stable code, e.g. NO_OUTSIDE_CONTRIBUTIONS.
    pub code: String,
    pub label: String,
    pub description: String,
}

impl From<funding_restriction::Model> for FundingRestriction {
    fn from(m: funding_restriction::Model) -> Self {
        Self { id: ID(m.id.to_string()), code: m.code, label: m.label, description: m.description }
    }
}

/// A national organisation or model (GROW, Emotions Anonymous, ...).
pub struct Program(pub program::Model);

#[Object]
impl Program {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn founded_year(&self) -> Option<i32> {
        self.0.founded_year
    }
    async fn founded_place(&self) -> Option<&str> {
        self.0.founded_place.as_deref()
    }
    async fn approach(&self) -> Result<Approach> {
        Ok(self.0.approach.into())
    }
    async fn category(&self) -> Result<Category> {
        Ok(self.0.category.into())
    }
    async fn orientation(&self) -> Result<Orientation> {
        Ok(self.0.orientation.into())
    }
    /// Who the program's groups are open to.
    async fn open_to(&self) -> Option<&str> {
        self.0.open_to.as_deref()
    }
    async fn website(&self) -> Option<&str> {
        self.0.website.as_deref()
    }
    async fn funding_restrictions(&self, ctx: &Context<'_>) -> Result<Vec<FundingRestriction>> {
        let flags = ctx.data_unchecked::<RequestLoader>().load_one(ProgramFlags(self.0.id)).await?;
        Ok(flags.unwrap_or_default().into_iter().map(Into::into).collect())
    }
    /// When the program or its flags last changed (its groups' `updatedAt` moves with it).
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
