//! Who may do what (docs/access.md): one deny-by-default table, `scope(role, operation)`,
//! and the record-level rules that apply a scope to a record: which referrals a viewer
//! reaches (`referral_reach`, `may_see_referral`), which groups it may change
//! (`may_update_group`, `may_change_classification`, `may_set_group_status`), in which
//! capacity it records outcomes (`recorder`), and what of a referral's history it reads
//! (`may_read_event_note`, `may_read_event_actor`). Resolvers and services ask here; nothing
//! else decides access.

use entities::enums::{GroupStatus, OutcomeSource};
use entities::referral;

use crate::auth::{Role, Viewer};
use crate::domain::referral::Recorder;
use crate::errors::{ApiError, ApiResult};
use crate::repo::Db;
use crate::repo::referrals::Visible;

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
    /// The group's responses to a referral: acknowledge it, refuse it.
    RespondToReferral,
    /// The audit log and chain verification.
    ReadAudit,
    /// `referralStats` and its CSV.
    ReadReferralStats,
    /// `groupStats` and its CSV.
    ReadGroupStats,
    /// `statsAccessLog`: the researchers' statistics requests.
    ReadStatsAccessLog,
    /// Webhook endpoints and their delivery log.
    ManageWebhooks,
}

impl Operation {
    /// Every operation, in the order of the access matrix (docs/access.md).
    pub const ALL: [Operation; 16] = {
        use Operation::*;
        [
            ReadDirectory,
            WriteDirectory,
            UpdateGroup,
            ManageLiaisons,
            ReadAgencies,
            CreateAgency,
            CreateReferral,
            ReadReferrals,
            RecordReferralOutcome,
            WithdrawReferral,
            RespondToReferral,
            ReadAudit,
            ReadReferralStats,
            ReadGroupStats,
            ReadStatsAccessLog,
            ManageWebhooks,
        ]
    };
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
        // Admins run the directory and read everything; they do not refer people (a referral
        // comes from an agency). Each operation is listed: a new one is denied until added.
        (
            Admin,
            WriteDirectory
            | UpdateGroup
            | ManageLiaisons
            | ReadAgencies
            | CreateAgency
            | ReadReferrals
            | RecordReferralOutcome
            | WithdrawReferral
            | RespondToReferral
            | ReadAudit
            | ReadReferralStats
            | ReadStatsAccessLog
            | ManageWebhooks,
        ) => Some(Scope::All),
        (Admin, CreateReferral) => None,
        (Liaison, UpdateGroup) => Some(Scope::OwnGroups),
        (Clinician, ReadAgencies | CreateReferral | ReadReferrals | RecordReferralOutcome | WithdrawReferral) => Some(Scope::OwnAgency),
        (Liaison, ReadReferrals | RecordReferralOutcome | RespondToReferral) => Some(Scope::OwnGroups),
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

/// The referrals `viewer` reaches under `scope`: all, its agency's, or those to its groups.
pub async fn referral_reach(db: &Db, viewer: &Viewer, scope: Scope) -> ApiResult<Visible> {
    Ok(match scope {
        Scope::All => Visible::All,
        Scope::OwnAgency => Visible::Agency(viewer.agency_id.ok_or_else(ApiError::forbidden)?),
        Scope::OwnGroups => Visible::Groups(viewer.assigned_groups(db.conn()).await?.iter().copied().collect()),
    })
}

/// Whether a viewer with `reach` may see this referral.
pub fn may_see_referral(reach: &Visible, r: &referral::Model) -> bool {
    reaches(reach, r.agency_id, r.group_id)
}

/// Whether `reach` takes in a referral of agency `agency_id` to group `group_id`.
pub fn reaches(reach: &Visible, agency_id: i64, group_id: i64) -> bool {
    match reach {
        Visible::All => true,
        Visible::Agency(id) => agency_id == *id,
        Visible::Groups(ids) => ids.contains(&group_id),
    }
}

/// In which capacity a viewer with `scope` records an outcome.
pub fn recorder(scope: Scope) -> Recorder {
    match scope {
        Scope::All => Recorder::Admin,
        Scope::OwnAgency => Recorder::ReferringClinician,
        Scope::OwnGroups => Recorder::GroupLiaison,
    }
}

/// Whether a viewer with `role` reads the note of a referral event recorded by a caller with
/// `actor_role` (the stored claim: `clinician`, `liaison`, `admin`, ...) as `source`. Admins
/// and the referring agency's clinicians read every note of the referrals they reach. A
/// liaison reads only what was recorded for the group (source GROUP_LIAISON, by a liaison or
/// an admin on the group's behalf): never a clinician's note (the referrer's note, a
/// withdrawal reason, a follow-up), nor an admin's note recorded for the agency.
/// Researchers read no referral.
pub fn may_read_event_note(role: Role, actor_role: &str, source: Option<OutcomeSource>) -> bool {
    match role {
        Role::Admin | Role::Clinician => true,
        Role::Liaison => source == Some(OutcomeSource::GroupLiaison) && matches!(actor_role, "liaison" | "admin"),
        Role::Researcher => false,
    }
}

/// Whether a viewer with `role` reads who recorded a referral event (`actorSubject`): admins.
pub fn may_read_event_actor(role: Role) -> bool {
    role == Role::Admin
}

/// Whether `viewer` (with `scope` for UpdateGroup) may change group `group_id`: admins any,
/// liaisons those assigned to them.
pub async fn may_update_group(db: &Db, viewer: &Viewer, scope: Scope, group_id: i64) -> ApiResult<()> {
    match scope {
        Scope::All => Ok(()),
        Scope::OwnGroups if viewer.assigned_groups(db.conn()).await?.contains(&group_id) => Ok(()),
        _ => Err(ApiError::Forbidden("you are not a liaison of this group".into())),
    }
}

/// A group's classification (program, category, leadership, funding restrictions) is for
/// admins: FORBIDDEN naming the first such field a liaison tried to set.
pub fn may_change_classification(scope: Scope, fields_set: &[(&str, bool)]) -> ApiResult<()> {
    match fields_set.iter().find(|(_, set)| *set) {
        Some((field, _)) if scope != Scope::All => {
            Err(ApiError::Forbidden(format!("{field}: a group's program, category, leadership and funding restrictions are set by admins")))
        }
        _ => Ok(()),
    }
}

/// Liaisons may pause and resume their groups; closing a group, and reopening a closed one,
/// is for admins.
pub fn may_set_group_status(scope: Scope, current: GroupStatus, new: GroupStatus) -> ApiResult<()> {
    match scope {
        Scope::All => Ok(()),
        _ if new == GroupStatus::Closed || current == GroupStatus::Closed => {
            Err(ApiError::Forbidden("closing a group, or reopening a closed one, is for admins".into()))
        }
        _ => Ok(()),
    }
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
            (RespondToReferral, [None, Some(Scope::OwnGroups), None, all]),
            (ReadAudit, [None, None, None, all]),
            (ReadReferralStats, [Some(Scope::OwnAgency), Some(Scope::OwnGroups), all, all]),
            (ReadGroupStats, [all, all, all, all]),
            (ReadStatsAccessLog, [None, None, None, all]),
            (ManageWebhooks, [None, None, None, all]),
        ];
        assert_eq!(cases.len(), Operation::ALL.len(), "every operation has a row");
        for (op, expected) in cases {
            for (role, want) in [Clinician, Liaison, Researcher, Admin].into_iter().zip(expected) {
                assert_eq!(scope(role, *op), *want, "{role:?} × {op:?}");
            }
        }
    }

    /// The whole matrix as a table, snapshotted: a change to who may do what shows up in
    /// review as a diff of `snapshots/circles__policy__tests__access_matrix.snap`.
    #[test]
    fn access_matrix() {
        let mut table = String::from("| operation | clinician | liaison | researcher | admin |\n|---|---|---|---|---|\n");
        for op in Operation::ALL {
            let cells: Vec<String> = Role::ALL
                .iter()
                .map(|role| match scope(*role, op) {
                    None => "-".to_owned(),
                    Some(s) => format!("{s:?}"),
                })
                .collect();
            table += &format!("| {op:?} | {} |\n", cells.join(" | "));
        }
        insta::assert_snapshot!(table);
    }

    #[test]
    fn record_level_rules() {
        use GroupStatus as G;
        // (scope, current, new) -> allowed
        let status_cases = [
            (Scope::OwnGroups, G::Active, G::Paused, true),
            (Scope::OwnGroups, G::Paused, G::Active, true),
            (Scope::OwnGroups, G::Active, G::Closed, false),
            (Scope::OwnGroups, G::Closed, G::Active, false),
            (Scope::All, G::Active, G::Closed, true),
            (Scope::All, G::Closed, G::Active, true),
        ];
        for (scope, current, new, ok) in status_cases {
            assert_eq!(may_set_group_status(scope, current, new).is_ok(), ok, "{scope:?} {current:?} -> {new:?}");
        }
        let program_set = [("input.programId", true), ("input.category", false)];
        assert!(may_change_classification(Scope::All, &program_set).is_ok());
        assert!(may_change_classification(Scope::OwnGroups, &program_set).is_err_and(|e| e.to_string().starts_with("input.programId")));
        assert!(may_change_classification(Scope::OwnGroups, &[("input.category", false)]).is_ok());
        assert_eq!(recorder(Scope::OwnGroups), Recorder::GroupLiaison);
        assert_eq!(recorder(Scope::OwnAgency), Recorder::ReferringClinician);
        assert_eq!(recorder(Scope::All), Recorder::Admin);
    }

    #[test]
    fn who_reads_the_notes_and_actors_of_a_referral_history() {
        use OutcomeSource as Src;
        let gl = Some(Src::GroupLiaison);
        let cr = Some(Src::ClientReport);
        let cf = Some(Src::ClinicianFollowUp);
        // (event recorded by, with source) -> [clinician, liaison, researcher, admin] read its note
        let cases: &[(&str, Option<Src>, [bool; 4])] = &[
            ("clinician", None, [true, false, false, true]), // the referrer's note at creation
            ("clinician", cr, [true, false, false, true]),
            ("clinician", cf, [true, false, false, true]), // e.g. a withdrawal reason
            ("liaison", gl, [true, true, false, true]),    // the group's acknowledgement or refusal
            ("admin", gl, [true, true, false, true]),      // an admin acting for the group
            ("admin", cr, [true, false, false, true]),     // an admin acting for the agency
            ("admin", cf, [true, false, false, true]),
            ("system", None, [true, false, false, true]),
            ("clinician", gl, [true, false, false, true]), // cannot be recorded; still withheld
        ];
        for (actor_role, source, expected) in cases {
            for (role, want) in [Clinician, Liaison, Researcher, Admin].into_iter().zip(expected) {
                assert_eq!(may_read_event_note(role, actor_role, *source), *want, "{role:?} reads a note of {actor_role} as {source:?}");
            }
        }
        let actors = [(Clinician, false), (Liaison, false), (Researcher, false), (Admin, true)];
        for (role, reads) in actors {
            assert_eq!(may_read_event_actor(role), reads, "{role:?}");
        }
    }

    #[test]
    fn reach_table() {
        // (reach, agency, group) -> reached? A referral of agency 1 to group 7.
        let cases = [
            (Visible::All, true),
            (Visible::Agency(1), true),
            (Visible::Agency(2), false),
            (Visible::Groups(vec![7, 8]), true),
            (Visible::Groups(vec![8]), false),
            (Visible::Groups(vec![]), false),
        ];
        for (reach, reached) in cases {
            assert_eq!(reaches(&reach, 1, 7), reached, "{reach:?}");
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
