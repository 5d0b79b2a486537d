//! The generator parameters of the demo data, taken from the literature on self-help groups
//! for mental health (README, "Reproducing the literature"). The demo draws every referral
//! and group from these parameters, so the statistics a researcher asks of the API show the
//! findings again: nothing here is an answer, each is an input the API has to estimate back.
//!
//! - **Channels.** Members learn of groups from the media (54 %) and from friends and relatives
//!   (40 %) far more than from professionals; professional referrals bring one fifth to one
//!   third of members. The surveys allowed several sources per member; a referral has one
//!   channel, so the demo keeps the ranking and the 54 : 40 ratio of media to friends and
//!   family, with professional referrals between one fifth and one third of members
//!   ([`MEMBER_CHANNEL_SHARES`]).
//! - **Uptake.** About 17 % of those a professional refers attend; an introduction by a
//!   veteran member works far better ([`UPTAKE`]). Referrals are drawn per channel in
//!   proportion to share ÷ uptake, so that the attendees have the shares above.
//! - **Tenure.** One third of those who attend stay past four months; Behavior Control members
//!   stay far longer than Stress Coping members (45 vs 11 months on average). Per category,
//!   a share stays past the retention window ([`Stay::past_window`]) and the others leave
//!   evenly over the first weeks; those who stay leave at a constant rate, set so that the
//!   category's mean tenure is [`Stay::mean_months`].
//! - **Group lifespan.** Without national affiliation professional involvement lengthens a
//!   group's life; with affiliation it shortens it ([`lifespan_mean_years`]); lifespans are
//!   exponential with these means.
//! - **Meeting size** (`super::ATTENDANCE_MIDPOINT_*`) and **Talking Groups free of charge**
//!   ([`FREE_OF_CHARGE_PROGRAM`]).

use entities::enums::{Category, Channel};

/// The shares of attendees (members) by the channel they came through.
pub const MEMBER_CHANNEL_SHARES: [(Channel, f64); 5] = [
    (Channel::Media, 0.39),
    (Channel::FamilyOrFriends, 0.29),
    (Channel::ProfessionalReferral, 0.22),
    (Channel::VeteranIntroduction, 0.06),
    (Channel::SelfReferral, 0.04),
];

/// The share of referrals (not withdrawn) that the person attends, by channel.
pub const UPTAKE: [(Channel, f64); 5] = [
    (Channel::Media, 0.30),
    (Channel::FamilyOrFriends, 0.30),
    (Channel::ProfessionalReferral, 0.17),
    (Channel::VeteranIntroduction, 0.45),
    (Channel::SelfReferral, 0.30),
];

/// The share of referrals the clinician withdraws (left out of every statistic).
pub const WITHDRAWN: f64 = 0.05;

/// The uptake of `channel`.
pub fn uptake(channel: Channel) -> f64 {
    UPTAKE.iter().find(|(c, _)| *c == channel).map_or(0.0, |(_, u)| *u)
}

/// The share of referrals made through each channel: share of members ÷ uptake, normalised.
pub fn referral_channel_shares() -> [(Channel, f64); 5] {
    let weights = MEMBER_CHANNEL_SHARES.map(|(c, share)| (c, share / uptake(c)));
    let total: f64 = weights.iter().map(|(_, w)| w).sum();
    weights.map(|(c, w)| (c, w / total))
}

/// How long the members of one category of group stay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stay {
    /// The share of attendees still attending at the retention window (four months).
    pub past_window: f64,
    /// The mean tenure, in months of 30.44 days.
    pub mean_months: f64,
}

/// Days in a month, on average.
pub const DAYS_PER_MONTH: f64 = 30.44;
/// Those who leave before the retention window leave evenly from this day after their first
/// meeting until the window.
pub const EARLIEST_LEAVING_DAY: u32 = 7;

/// How long members of groups of `category` stay (unaffiliated groups have no category).
/// With a quarter of groups Behavior Control, five eighths Stress Coping and one eighth
/// unaffiliated, about a third of all attendees stay past the window.
pub fn stay(category: Option<Category>) -> Stay {
    match category {
        Some(Category::BehaviorControl) => Stay { past_window: 0.55, mean_months: 45.0 },
        Some(Category::StressCoping) => Stay { past_window: 0.246, mean_months: 11.0 },
        None => Stay { past_window: 1.0 / 3.0, mean_months: 20.0 },
    }
}

impl Stay {
    /// The mean, in days, of the constant-rate stay after the window of those who stay past
    /// it, so that the mean tenure of everyone is `mean_months` (early leavers stay
    /// `EARLIEST_LEAVING_DAY`…`window` days, evenly).
    pub fn tail_mean_days(self, window: u32) -> f64 {
        let early_mean = f64::from(EARLIEST_LEAVING_DAY + window) / 2.0;
        let mean = self.mean_months * DAYS_PER_MONTH;
        ((mean - (1.0 - self.past_window) * early_mean) / self.past_window - f64::from(window)).max(1.0)
    }

    /// The share still attending `days` after the first meeting, as the parameters imply.
    pub fn survival(self, days: f64, window: u32) -> f64 {
        let (start, end) = (f64::from(EARLIEST_LEAVING_DAY), f64::from(window));
        if days < start {
            1.0
        } else if days < end {
            1.0 - (1.0 - self.past_window) * (days - start) / (end - start)
        } else {
            self.past_window * (-(days - end) / self.tail_mean_days(window)).exp()
        }
    }

    /// The median tenure in days, as the parameters imply.
    pub fn median_days(self, window: u32) -> f64 {
        let (start, end) = (f64::from(EARLIEST_LEAVING_DAY), f64::from(window));
        if self.past_window < 0.5 {
            start + (end - start) * 0.5 / (1.0 - self.past_window)
        } else {
            end + self.tail_mean_days(window) * (self.past_window / 0.5).ln()
        }
    }

    /// A tenure in days from a uniform draw `u` in [0, 1) (inverse of `survival`).
    pub fn draw_days(self, u: f64, window: u32) -> u32 {
        let (start, end) = (f64::from(EARLIEST_LEAVING_DAY), f64::from(window));
        let days = if u < 1.0 - self.past_window {
            start + (end - start) * u / (1.0 - self.past_window)
        } else {
            // The part of `u` past the early leavers is uniform in [0, 1): an exponential draw.
            let v = (u - (1.0 - self.past_window)) / self.past_window;
            end - self.tail_mean_days(window) * (1.0 - v).ln()
        };
        days.min(f64::from(u32::MAX / 2)) as u32
    }
}

/// The mean lifespan in years of a group with or without a national program, with or without
/// professional involvement (professionally involved or led).
pub fn lifespan_mean_years(affiliated: bool, professional: bool) -> f64 {
    match (affiliated, professional) {
        (false, false) => 15.0,
        (false, true) => 40.0,
        (true, false) => 60.0,
        (true, true) => 20.0,
    }
}

/// Groups of this program (German talking groups) are always free of charge; other groups
/// are free with [`FREE_OF_CHARGE_OTHERS`].
pub const FREE_OF_CHARGE_PROGRAM: &str = "talking-groups";
/// The share of other groups that charge nothing (9 in 10).
pub const FREE_OF_CHARGE_OTHERS: (u32, u32) = (9, 10);

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: u32 = 120;

    #[test]
    fn referral_shares_give_the_member_shares_after_uptake() {
        let referrals = referral_channel_shares();
        assert!((referrals.iter().map(|(_, s)| s).sum::<f64>() - 1.0).abs() < 1e-9);
        let attended: Vec<(Channel, f64)> = referrals.iter().map(|(c, s)| (*c, s * uptake(*c))).collect();
        let total: f64 = attended.iter().map(|(_, a)| a).sum();
        for ((c, a), (c2, want)) in attended.iter().zip(MEMBER_CHANNEL_SHARES) {
            assert_eq!(*c, c2);
            assert!((a / total - want).abs() < 1e-9, "{c:?}");
        }
        assert!((MEMBER_CHANNEL_SHARES.iter().map(|(_, s)| s).sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn draws_have_the_stated_mean_and_share_past_the_window() {
        for category in [Some(Category::BehaviorControl), Some(Category::StressCoping), None] {
            let s = stay(category);
            let n = 200_000;
            let draws: Vec<u32> = (0..n).map(|i| s.draw_days((f64::from(i) + 0.5) / f64::from(n), WINDOW)).collect();
            let mean = draws.iter().map(|d| f64::from(*d)).sum::<f64>() / f64::from(n) / DAYS_PER_MONTH;
            let past = draws.iter().filter(|d| **d >= WINDOW).count() as f64 / f64::from(n);
            assert!((mean - s.mean_months).abs() < 0.02 * s.mean_months, "{category:?}: mean {mean}");
            assert!((past - s.past_window).abs() < 0.001, "{category:?}: past {past}");
            let median = f64::from(draws[draws.len() / 2]);
            assert!((median - s.median_days(WINDOW)).abs() <= 1.0, "{category:?}: median {median}");
            assert!((s.survival(s.median_days(WINDOW), WINDOW) - 0.5).abs() < 1e-9);
        }
    }

    #[test]
    fn a_third_of_all_attendees_stay_past_the_window() {
        // A quarter of groups Behavior Control, five eighths Stress Coping, an eighth none.
        let all = 0.25 * stay(Some(Category::BehaviorControl)).past_window
            + 0.625 * stay(Some(Category::StressCoping)).past_window
            + 0.125 * stay(None).past_window;
        assert!((all - 1.0 / 3.0).abs() < 0.005, "{all}");
    }

    #[test]
    fn professional_involvement_lengthens_unaffiliated_lives_and_shortens_affiliated_ones() {
        assert!(lifespan_mean_years(false, true) > lifespan_mean_years(false, false));
        assert!(lifespan_mean_years(true, true) < lifespan_mean_years(true, false));
    }
}
