//! Who may do what: one deny-by-default table (DESIGN.md, "Who may do what").
//!
//! `scope(role, operation)` answers how far a role may go; resolvers ask it first and then
//! apply the scope (a liaison's own groups, a clinician's own agency) through the repo.

use crate::auth::{Role, Viewer};
use crate::errors::{ApiError, ApiResult};

/// Every operation the API guards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Programs, groups and funding-restriction flags.
    ReadDirectory,
    /// Create or change programs and flags, create groups.
    WriteDirectory,
    /// Change a group's listing or status.
    UpdateGroup,
    /// Assign or unassign liaisons; read a group's liaisons.
    ManageLiaisons,
    ReadAgencies,
    CreateAgency,
    CreateReferral,
    ReadReferrals,
    RecordReferralOutcome,
    WithdrawReferral,
    /// The audit log and chain verification.
    ReadAudit,
    /// `referralStats` and its CSV.
    ReadReferralStats,
    /// `groupStats` and its CSV.
    ReadGroupStats,
    /// `statsAccessLog`: the researchers' statistics requests.
    ReadStatsAccessLog,
}

/// How far an allowed operation reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Only the groups the liaison is assigned to.
    OwnGroups,
    /// Only the clinician's own agency.
    OwnAgency,
}

/// The table. Anything not listed is denied.
pub fn scope(role: Role, op: Operation) -> Option<Scope> {
    use Operation::*;
    use Role::*;
    match (role, op) {
        (_, ReadDirectory | ReadGroupStats) => Some(Scope::All),
        (Admin, CreateReferral) => None,
        (Admin, _) => Some(Scope::All),
        (Liaison, UpdateGroup) => Some(Scope::OwnGroups),
        (Clinician, ReadAgencies | CreateReferral | ReadReferrals | RecordReferralOutcome | WithdrawReferral) => Some(Scope::OwnAgency),
        (Liaison, ReadReferrals | RecordReferralOutcome) => Some(Scope::OwnGroups),
        (Clinician, ReadReferralStats) => Some(Scope::OwnAgency),
        (Liaison, ReadReferralStats) => Some(Scope::OwnGroups),
        (Researcher, ReadReferralStats) => Some(Scope::All),
        _ => None,
    }
}

/// Whether `groupStats` shown to `role` follow small-cell suppression: for every role but admin.
pub fn suppresses_small_cells(role: Role) -> bool {
    role != Role::Admin
}

/// Whether `referralStats` shown to `role` are perturbed (and budgeted and logged): for
/// researchers, the one role that may count referrals but never read one. Everyone else who
/// may count referrals may read the rows of that scope anyway, and gets exact counts.
pub fn perturbs_referral_stats(role: Role) -> bool {
    role == Role::Researcher
}

/// The viewer's scope for `op`, or FORBIDDEN.
pub fn authorize(viewer: &Viewer, op: Operation) -> ApiResult<Scope> {
    scope(viewer.role, op).ok_or_else(ApiError::forbidden)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Operation::*;
    use Role::*;

    #[test]
    fn the_table() {
        let all = Some(Scope::All);
        let cases: &[(Operation, [Option<Scope>; 4])] = &[
            //                 clinician               liaison                 researcher  admin
            (ReadDirectory, [all, all, all, all]),
            (WriteDirectory, [None, None, None, all]),
            (UpdateGroup, [None, Some(Scope::OwnGroups), None, all]),
            (ManageLiaisons, [None, None, None, all]),
            (ReadAgencies, [Some(Scope::OwnAgency), None, None, all]),
            (CreateAgency, [None, None, None, all]),
            (CreateReferral, [Some(Scope::OwnAgency), None, None, None]),
            (ReadReferrals, [Some(Scope::OwnAgency), Some(Scope::OwnGroups), None, all]),
            (RecordReferralOutcome, [Some(Scope::OwnAgency), Some(Scope::OwnGroups), None, all]),
            (WithdrawReferral, [Some(Scope::OwnAgency), None, None, all]),
            (ReadAudit, [None, None, None, all]),
            (ReadReferralStats, [Some(Scope::OwnAgency), Some(Scope::OwnGroups), all, all]),
            (ReadGroupStats, [all, all, all, all]),
            (ReadStatsAccessLog, [None, None, None, all]),
        ];
        for (op, expected) in cases {
            for (role, want) in [Clinician, Liaison, Researcher, Admin].into_iter().zip(expected) {
                assert_eq!(scope(role, *op), *want, "{role:?} × {op:?}");
            }
        }
    }

    #[test]
    fn group_statistics_are_suppressed_for_all_but_admins() {
        let cases = [(Clinician, true), (Liaison, true), (Researcher, true), (Admin, false)];
        for (role, suppressed) in cases {
            assert_eq!(suppresses_small_cells(role), suppressed, "{role:?}");
        }
    }

    #[test]
    fn referral_statistics_are_perturbed_for_researchers_only() {
        let cases = [(Clinician, false), (Liaison, false), (Researcher, true), (Admin, false)];
        for (role, perturbed) in cases {
            assert_eq!(perturbs_referral_stats(role), perturbed, "{role:?}");
        }
    }
}
