//! GraphQL subscriptions (served over WebSocket by `http::ws`): `referralUpdated` streams
//! the referrals of the viewer's scope as they change — a clinician's agency's, a liaison's
//! groups', every one for admins; researchers may not subscribe. Each event is the referral
//! as that change left it (its status and milestones; its `events` are the history as of
//! sending), read under the same field rules as a query. The change
//! notices come from the database feed (`repo::feed`): on PostgreSQL from every server
//! process, on SQLite from this one.

use async_graphql::{Context, Result, Subscription};
use futures_util::Stream;
use futures_util::stream::{self, StreamExt};
use tokio::sync::broadcast::error::RecvError;

use crate::errors::{ApiError, ApiResult};
use crate::graphql::context::ContextExt;
use crate::graphql::referral_types::Referral;
use crate::http::ws::{ConnectionInfo, SubscriptionLimits};
use crate::policy::{self, Operation};
use crate::repo::feed::ReferralNotice;
use crate::repo::referrals::Visible;
use crate::repo::{self, Db};

#[derive(Default)]
pub struct SubscriptionRoot;

/// Whose referrals a subscription follows: the viewer's reach (`policy::referral_reach`),
/// for a liaison read again for every notice (an unassignment takes effect at once).
#[derive(Clone, Debug)]
enum Follows {
    Fixed(Visible),
    LiaisonGroups(String),
}

impl Follows {
    async fn includes(&self, db: &Db, n: &ReferralNotice) -> ApiResult<bool> {
        Ok(match self {
            Follows::Fixed(reach) => policy::reaches(reach, n.agency_id, n.group_id),
            Follows::LiaisonGroups(subject) => {
                let reach = Visible::Groups(repo::liaisons::groups_of(db.conn(), subject).await?.into_iter().collect());
                policy::reaches(&reach, n.agency_id, n.group_id)
            }
        })
    }
}

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Each referral of the viewer's scope when it changes (created, acknowledged, refused,
    /// an outcome recorded, withdrawn), as it is after the change. Clinicians follow their
    /// agency's referrals, liaisons those to their groups, admins all. The stream ends when
    /// the connection's token expires.
    async fn referral_updated(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Result<Referral>> + use<>> {
        let (viewer, scope) = ctx.authorize(Operation::ReadReferrals)?;
        let follows = match policy::referral_reach(ctx.db(), viewer, scope).await? {
            Visible::Groups(_) => Follows::LiaisonGroups(viewer.subject.clone()),
            reach => Follows::Fixed(reach),
        };
        let info =
            ctx.data_opt::<ConnectionInfo>().ok_or_else(|| ApiError::bad_input("subscription", "subscribe over WebSocket at /graphql"))?;
        let guard = ctx.data_unchecked::<std::sync::Arc<SubscriptionLimits>>().subscription(&viewer.subject)?;
        let db = ctx.db().clone();
        let rx = db.feed().subscribe();
        let expires = info.expires_at;
        let events = stream::unfold((rx, db, follows, guard), |(mut rx, db, follows, guard)| async move {
            loop {
                let notice = match rx.recv().await {
                    Ok(n) => n,
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "a referralUpdated subscriber fell behind; it skips the oldest notices");
                        continue;
                    }
                    Err(RecvError::Closed) => return None,
                };
                let item = match follows.includes(&db, &notice).await {
                    Ok(false) => continue,
                    Ok(true) => match repo::referrals::get(db.conn(), notice.referral_id).await {
                        Ok(Some(r)) => Ok(Referral(notice.state.lay_over(r))),
                        Ok(None) => continue,
                        Err(e) => Err(e.into()),
                    },
                    Err(e) => Err(e.into()),
                };
                return Some((item, (rx, db, follows, guard)));
            }
        });
        let until = tokio::time::sleep_until(expires);
        Ok(events.take_until(until))
    }
}
