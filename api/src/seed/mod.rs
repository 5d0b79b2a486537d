//! `circles seed-demo`: the programs of docs/data-model.md with their founding facts and funding
//! flags, a few agencies, and `n` synthetic groups across regions, formats and focus tags.
//! Idempotent: what exists already is kept; only missing rows are added. Deterministic:
//! group `i` is always the same group.

use entities::enums::{Approach, Category, Format, GroupStatus, Leadership, MeetingAccess, MeetingFrequency, Orientation, Weekday};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::errors::ApiResult;
use crate::repo::group_parts::MeetingDraft;
use crate::repo::groups::GroupDraft;
use crate::repo::programs::ProgramDraft;
use crate::repo::{self, Db};

pub mod literature;
mod referrals;
pub use referrals::seed_referrals;

const WEEKDAYS: [Weekday; 7] =
    [Weekday::Monday, Weekday::Tuesday, Weekday::Wednesday, Weekday::Thursday, Weekday::Friday, Weekday::Saturday, Weekday::Sunday];

pub const DEMO_LIAISON: &str = "liaison-demo";

const FLAGS: &[(&str, &str, &str)] = &[
    (
        "NO_OUTSIDE_CONTRIBUTIONS",
        "No outside contributions",
        "Self-supporting through members' own contributions; declines money, rooms or materials from outside bodies (twelfth tradition).",
    ),
    ("NO_GOVERNMENT_FUNDING", "No government funding", "Accepts no grants or contracts from government bodies."),
    ("NO_INDUSTRY_FUNDING", "No industry funding", "Accepts no money or sponsorship from pharmaceutical or other industry."),
];

struct ProgramFact {
    slug: &'static str,
    name: &'static str,
    year: Option<i32>,
    place: Option<&'static str>,
    approach: Approach,
    category: Category,
    orientation: Orientation,
    open_to: &'static str,
    website: Option<&'static str>,
    flags: &'static [&'static str],
    description: &'static str,
}

const PROGRAMS: &[ProgramFact] = &[
    ProgramFact {
        slug: "grow",
        name: "GROW",
        year: Some(1957),
        place: Some("Sydney, Australia"),
        approach: Approach::TwelveStep,
        category: Category::StressCoping,
        orientation: Orientation::InnerFocused,
        open_to: "Anyone with mental-health problems; no referral needed",
        website: Some("https://grow.org.au"),
        flags: &[],
        description: "Peer support and mutual-help groups following a 12-step program of personal growth; has received state and outside funding.",
    },
    ProgramFact {
        slug: "emotions-anonymous",
        name: "Emotions Anonymous",
        year: Some(1971),
        place: Some("Saint Paul, Minnesota, USA"),
        approach: Approach::TwelveStep,
        category: Category::BehaviorControl,
        orientation: Orientation::InnerFocused,
        open_to: "Anyone who wants to become well emotionally",
        website: Some("https://emotionsanonymous.org"),
        flags: &["NO_OUTSIDE_CONTRIBUTIONS"],
        description: "Twelve-step fellowship adapted from Alcoholics Anonymous for emotional difficulties; self-supporting under the twelve traditions.",
    },
    ProgramFact {
        slug: "recovery-international",
        name: "Recovery International",
        year: Some(1937),
        place: Some("Chicago, Illinois, USA"),
        approach: Approach::WillTraining,
        category: Category::StressCoping,
        orientation: Orientation::InnerFocused,
        open_to: "Adults with nervous symptoms, fears, anger or depression",
        website: Some("https://recoveryinternational.org"),
        flags: &[],
        description: "Founded by psychiatrist Abraham Low; members practise his cognitive-behavioural 'will training' method in structured meetings.",
    },
    ProgramFact {
        slug: "nami-peer-to-peer",
        name: "NAMI Peer-to-Peer",
        year: Some(1979),
        place: Some("Madison, Wisconsin, USA"),
        approach: Approach::EducationalCourse,
        category: Category::StressCoping,
        orientation: Orientation::OuterFocused,
        open_to: "Adults living with a mental-health condition",
        website: Some("https://www.nami.org"),
        flags: &[],
        description: "An education course led by trained peers, run by the National Alliance on Mental Illness (founded 1979 in Madison, Wisconsin).",
    },
    ProgramFact {
        slug: "neurotics-anonymous",
        name: "Neurotics Anonymous",
        year: Some(1964),
        place: Some("Washington, D.C., USA"),
        approach: Approach::TwelveStep,
        category: Category::BehaviorControl,
        orientation: Orientation::InnerFocused,
        open_to: "Anyone with emotional or mental illness",
        website: None,
        flags: &["NO_OUTSIDE_CONTRIBUTIONS"],
        description: "Twelve-step fellowship founded by Grover Boydston; accepts no outside contributions under the twelve traditions.",
    },
    ProgramFact {
        slug: "schizophrenics-anonymous",
        name: "Schizophrenics Anonymous",
        year: Some(1985),
        place: Some("Michigan, USA"),
        approach: Approach::Other,
        category: Category::StressCoping,
        orientation: Orientation::InnerFocused,
        open_to: "People with schizophrenia or related disorders",
        website: None,
        flags: &[],
        description: "Self-help groups following six steps, founded by Joanne Verbanic; later supported by mental-health associations.",
    },
    ProgramFact {
        slug: "talking-groups",
        name: "Talking Groups (Gesprächsgruppen)",
        year: None,
        place: Some("Germany"),
        approach: Approach::TalkingGroup,
        category: Category::StressCoping,
        orientation: Orientation::InnerFocused,
        open_to: "Anyone affected",
        website: None,
        flags: &[],
        description: "Member-led German self-help talking groups: equal rights, confidentiality, free of charge.",
    },
];

struct Place {
    city: &'static str,
    region: &'static str,
    country: &'static str,
    lat: f64,
    lon: f64,
    tz: &'static str,
    lang: &'static str,
    postal: &'static str,
}

const PLACES: &[Place] = &[
    Place {
        city: "Toronto",
        region: "Ontario",
        country: "CA",
        lat: 43.6532,
        lon: -79.3832,
        tz: "America/Toronto",
        lang: "en-CA",
        postal: "M5V",
    },
    Place {
        city: "Ottawa",
        region: "Ontario",
        country: "CA",
        lat: 45.4215,
        lon: -75.6972,
        tz: "America/Toronto",
        lang: "fr-CA",
        postal: "K1P",
    },
    Place {
        city: "Hamilton",
        region: "Ontario",
        country: "CA",
        lat: 43.2557,
        lon: -79.8711,
        tz: "America/Toronto",
        lang: "en-CA",
        postal: "L8P",
    },
    Place {
        city: "Vancouver",
        region: "British Columbia",
        country: "CA",
        lat: 49.2827,
        lon: -123.1207,
        tz: "America/Vancouver",
        lang: "en-CA",
        postal: "V6B",
    },
    Place {
        city: "Chicago",
        region: "Illinois",
        country: "US",
        lat: 41.8781,
        lon: -87.6298,
        tz: "America/Chicago",
        lang: "en-US",
        postal: "60601",
    },
    Place {
        city: "Saint Paul",
        region: "Minnesota",
        country: "US",
        lat: 44.9537,
        lon: -93.0900,
        tz: "America/Chicago",
        lang: "en-US",
        postal: "55101",
    },
    Place {
        city: "Minneapolis",
        region: "Minnesota",
        country: "US",
        lat: 44.9778,
        lon: -93.2650,
        tz: "America/Chicago",
        lang: "es-US",
        postal: "55401",
    },
    Place {
        city: "Sydney",
        region: "New South Wales",
        country: "AU",
        lat: -33.8688,
        lon: 151.2093,
        tz: "Australia/Sydney",
        lang: "en-AU",
        postal: "2000",
    },
    Place {
        city: "Newcastle",
        region: "New South Wales",
        country: "AU",
        lat: -32.9283,
        lon: 151.7817,
        tz: "Australia/Sydney",
        lang: "en-AU",
        postal: "2300",
    },
    Place {
        city: "Munich",
        region: "Bavaria",
        country: "DE",
        lat: 48.1351,
        lon: 11.5820,
        tz: "Europe/Berlin",
        lang: "de",
        postal: "80331",
    },
    Place { city: "Berlin", region: "Berlin", country: "DE", lat: 52.5200, lon: 13.4050, tz: "Europe/Berlin", lang: "de", postal: "10115" },
];

const FOCUS: &[&str] = &["depression", "anxiety", "bipolar", "families", "schizophrenia", "grief", "panic", "ocd", "trauma", "loneliness"];
const TONES: &[&str] = &["peer support", "mutual support", "recovery", "coping skills", "sharing circle", "friendship"];

/// Seeds the directory; returns how many groups were added.
pub async fn seed_demo(db: &Db, groups: u64) -> ApiResult<u64> {
    let txn = db.begin_write().await?;
    let existing_flags = repo::flags::list(&*txn).await?;
    for (code, label, description) in FLAGS {
        if !existing_flags.iter().any(|f| f.code == *code) {
            let flag = repo::flags::create(&*txn, (*code).into(), (*label).into(), (*description).into()).await?;
            let payload = serde_json::json!({ "code": flag.code, "demo": true });
            repo::audit::append(
                &txn,
                &repo::audit::Actor::system("seed-demo"),
                "funding_restriction.create",
                "funding_restriction",
                flag.id,
                payload,
            )
            .await?;
        }
    }
    for p in PROGRAMS {
        if repo::programs::by_slug(&*txn, p.slug).await?.is_some() {
            continue;
        }
        let draft = ProgramDraft {
            slug: p.slug.into(),
            name: p.name.into(),
            description: p.description.into(),
            founded_year: p.year,
            founded_place: p.place.map(Into::into),
            approach: p.approach,
            category: p.category,
            orientation: p.orientation,
            open_to: Some(p.open_to.into()),
            website: p.website.map(Into::into),
        };
        let program = repo::programs::create(&*txn, draft).await?;
        let payload = serde_json::json!({ "slug": program.slug, "demo": true });
        repo::audit::append(&txn, &repo::audit::Actor::system("seed-demo"), "program.create", "program", program.id, payload).await?;
        let codes: Vec<String> = p.flags.iter().map(|c| (*c).into()).collect();
        let ids = crate::services::directory::flag_ids(&*txn, "flags", &codes).await?;
        repo::flags::set_for_program(&*txn, program.id, &ids).await?;
    }
    for name in ["Riverside Community Mental Health", "Northgate Family Clinic", "Harbour Primary Care"] {
        if repo::agencies::list(&*txn, None).await?.iter().all(|a| a.name != name) {
            let agency = repo::agencies::create(&*txn, name.into()).await?;
            let payload = serde_json::json!({ "name": agency.name, "demo": true });
            repo::audit::append(&txn, &repo::audit::Actor::system("seed-demo"), "agency.create", "agency", agency.id, payload).await?;
        }
    }
    txn.commit().await?;

    let programs = repo::programs::list(db.conn()).await?;
    let industry = crate::services::directory::flag_ids(db.conn(), "flags", &["NO_INDUSTRY_FUNDING".to_owned()]).await?;
    let have = entities::group::Entity::find().count(db.conn()).await?;
    let mut added = 0;
    let mut index = have;
    while index < groups {
        let txn = db.begin_write().await?;
        let end = (index + 500).min(groups);
        for i in index..end {
            let mut rng = StdRng::seed_from_u64(i);
            let mut draft = demo_group(&mut rng, i, &programs, &industry);
            demo_location(i, &mut draft);
            demo_attendance(i, &mut draft, &programs);
            let group = repo::groups::create(&*txn, &draft).await?;
            let payload = serde_json::json!({ "name": group.name, "programId": group.program_id, "demo": true });
            repo::audit::append(&txn, &repo::audit::Actor::system("seed-demo"), "group.create", "group", group.id, payload).await?;
            if i < 5 {
                repo::liaisons::assign(&*txn, group.id, DEMO_LIAISON).await?;
            } else if let Some(closed_on) = demo_closing(i, &draft) {
                // Some have closed since: `groupStats` studies lifespans.
                repo::groups::set_status(&*txn, group.id, group.version, GroupStatus::Closed, Some(closed_on)).await?;
                let payload = serde_json::json!({ "status": GroupStatus::Closed, "closedOn": closed_on, "demo": true });
                repo::audit::append(&txn, &repo::audit::Actor::system("seed-demo"), "group.status", "group", group.id, payload).await?;
            }
            added += 1;
        }
        txn.commit().await?;
        index = end;
    }
    Ok(added)
}

/// The closing date of a demo group, if it has closed by now: its lifespan is exponential
/// with the mean `literature::lifespan_mean_years` gives for its affiliation and professional
/// involvement, drawn from a generator of its own (so the rest of the listing stays as it was).
fn demo_closing(i: u64, draft: &GroupDraft) -> Option<chrono::NaiveDate> {
    let founded = draft.founded_on?;
    let professional = draft.leadership != Leadership::MemberLed;
    let mean_days = literature::lifespan_mean_years(draft.program_id.is_some(), professional) * 365.25;
    let u: f64 = StdRng::seed_from_u64(3_000_000 + i).random();
    let lived = (-mean_days * (1.0 - u).ln()).min(1e6) as i64;
    let closed = founded + chrono::Duration::days(lived.max(1));
    (closed <= chrono::Utc::now().date_naive()).then_some(closed)
}

const STREETS: &[&str] = &["Main Street", "King Street", "Church Street", "Elm Avenue", "Park Road", "Queen Street", "Mill Lane"];
const VENUES: &[(&str, &str)] = &[
    ("Community Hall", "Side entrance, ground floor."),
    ("St. Andrew's Church", "Basement hall; use the door by the car park."),
    ("Public Library", "Meeting room 2, first floor."),
    ("Neighbourhood Health Centre", "Ask at reception for the group room."),
    ("Friends Meeting House", "Ring the bell at the back door."),
];

/// The place and standard types of demo group `i`, from `i` alone (the random draws of
/// the rest of the listing stay as they were).
fn demo_location(i: u64, draft: &mut GroupDraft) {
    use crate::domain::meeting_types::MeetingType as T;
    let online = draft.format == Format::Online;
    if !online {
        let (venue, notes) = VENUES[(i as usize) % VENUES.len()];
        draft.address_1 = Some(format!("{} {}", 10 + (i * 37) % 990, STREETS[(i as usize / 3) % STREETS.len()]));
        draft.location_name = Some(venue.into());
        draft.location_notes = Some(notes.into());
        draft.accessibility_notes = i.is_multiple_of(2).then(|| "Step-free entrance; accessible toilet on the same floor.".into());
    }
    let mut types = Vec::new();
    for (every, t) in [(3, T::Newcomer), (4, T::Discussion), (7, T::DualDiagnosis), (11, T::Women), (13, T::YoungPeople), (17, T::Lgbtq)] {
        if i.is_multiple_of(every) {
            types.push(t);
        }
    }
    if !online && i.is_multiple_of(2) {
        types.extend([T::WheelchairAccess, T::WheelchairAccessibleBathroom]);
    }
    types.sort();
    draft.meeting_types = types;
    for m in &mut draft.meetings {
        if m.online_url.is_some() && !i.is_multiple_of(2) {
            m.conference_phone = Some(format!("+1555010{:04},,{}#", i % 10_000, 80_000 + i % 10_000));
        }
    }
}

/// The typical attendance of demo groups, by the category of the group's program: the
/// midpoint of the reported range, in people. Behavior Control meetings are about twice as
/// large as Stress Coping ones, as the literature reports; unaffiliated groups (no category)
/// sit between.
pub const ATTENDANCE_MIDPOINT_STRESS_COPING: i16 = 7;
pub const ATTENDANCE_MIDPOINT_BEHAVIOR_CONTROL: i16 = 14;
pub const ATTENDANCE_MIDPOINT_UNAFFILIATED: i16 = 9;
/// One demo group in this many has reported no attendance.
pub const ATTENDANCE_UNREPORTED_EVERY: u64 = 5;

/// Sets a typical attendance on demo group `i`, from `i` and its program's category only (no
/// random draw, so every other field of the group stays as it was): groups with
/// `i % ATTENDANCE_UNREPORTED_EVERY == ATTENDANCE_UNREPORTED_EVERY - 1` report none; the
/// others report a range around the category's midpoint, shifted by `(i div 5 mod 5) − 2`
/// people (−2…2 evenly, whichever groups report, so the category's median midpoint is its
/// parameter), `2 + i mod 3` people either side, reported on a day of 2025
/// (`1 January + 13i mod 365 days`).
fn demo_attendance(i: u64, draft: &mut GroupDraft, programs: &[entities::program::Model]) {
    use crate::repo::groups::TypicalAttendance;
    if i % ATTENDANCE_UNREPORTED_EVERY == ATTENDANCE_UNREPORTED_EVERY - 1 {
        return;
    }
    let category = draft.category.or_else(|| programs.iter().find(|p| Some(p.id) == draft.program_id).map(|p| p.category));
    let base = match category {
        Some(Category::BehaviorControl) => ATTENDANCE_MIDPOINT_BEHAVIOR_CONTROL,
        Some(Category::StressCoping) => ATTENDANCE_MIDPOINT_STRESS_COPING,
        _ => ATTENDANCE_MIDPOINT_UNAFFILIATED,
    };
    let mid = base + ((i / ATTENDANCE_UNREPORTED_EVERY) % 5) as i16 - 2;
    let half = 2 + (i % 3) as i16;
    let start = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default();
    draft.typical_attendance =
        Some(TypicalAttendance { min: (mid - half).max(1), max: mid + half, reported_on: start + chrono::Days::new((i * 13) % 365) });
}

fn demo_group(rng: &mut StdRng, i: u64, programs: &[entities::program::Model], industry_flag: &[i64]) -> GroupDraft {
    let place = &PLACES[(i as usize) % PLACES.len()];
    // One group in eight is unaffiliated.
    let program = if rng.random_ratio(1, 8) { None } else { programs.choose(rng) };
    let how_many = rng.random_range(1..=3);
    let focus: Vec<String> = FOCUS.choose_multiple(rng, how_many).map(|s| (*s).to_owned()).collect();
    let format = *[Format::InPerson, Format::InPerson, Format::Online, Format::Hybrid].choose(rng).unwrap_or(&Format::InPerson);
    let tone = *TONES.choose(rng).unwrap_or(&"peer support");
    let weekday = *WEEKDAYS.choose(rng).unwrap_or(&Weekday::Monday);
    let label = program.map(|p| p.name.as_str()).unwrap_or("Peer circle");
    // Professionals are involved in a third of the unaffiliated groups and lead one in ten of
    // the affiliated ones (a program's groups are led by its members or by its professionals).
    let leadership = if program.is_none() && rng.random_ratio(1, 3) {
        Leadership::ProfessionallyInvolved
    } else if rng.random_ratio(1, 10) {
        if program.is_none() { Leadership::ProfessionallyInvolved } else { Leadership::ProfessionallyLed }
    } else {
        Leadership::MemberLed
    };
    let jitter = |rng: &mut StdRng| rng.random_range(-0.15..0.15);
    let online = format != Format::InPerson;
    GroupDraft {
        name: format!("{label} {} #{}", place.city, i + 1),
        program_id: program.map(|p| p.id),
        description: format!("A {tone} group in {} for people living with {}.", place.city, focus.join(", ")),
        leadership,
        format,
        audience: Some(if focus.contains(&"families".to_owned()) { "Family members and friends".into() } else { "Adults".into() }),
        city: Some(place.city.into()),
        region: Some(place.region.into()),
        postal_code: Some(place.postal.into()),
        country: place.country.into(),
        latitude: Some(place.lat + jitter(rng)),
        longitude: Some(place.lon + jitter(rng)),
        free_of_charge: rng.random_ratio(literature::FREE_OF_CHARGE_OTHERS.0, literature::FREE_OF_CHARGE_OTHERS.1)
            || program.is_some_and(|p| p.slug == literature::FREE_OF_CHARGE_PROGRAM),
        accepting_new_members: rng.random_ratio(9, 10),
        veteran_introduction: rng.random_ratio(1, 3),
        public_contact: Some(format!("group{}@example.org", i + 1)),
        founded_on: chrono::NaiveDate::from_ymd_opt(1990 + (i % 35) as i32, 1 + (i % 12) as u32, 1 + (i % 28) as u32),
        meetings: vec![MeetingDraft {
            weekday,
            start_time: format!("{:02}:{}", rng.random_range(9..21), if rng.random_bool(0.5) { "00" } else { "30" }),
            duration_minutes: *[60, 90, 120].choose(rng).unwrap_or(&90),
            time_zone: place.tz.into(),
            frequency: if rng.random_ratio(1, 5) { MeetingFrequency::Biweekly } else { MeetingFrequency::Weekly },
            access: if rng.random_ratio(1, 4) { MeetingAccess::Closed } else { MeetingAccess::Open },
            online_url: online.then(|| format!("https://meet.example.org/circles-{}", i + 1)),
            conference_phone: None,
            slug: None,
        }],
        focus,
        languages: vec![place.lang.into()],
        flag_ids: if program.is_none() && rng.random_ratio(1, 4) { industry_flag.to_vec() } else { Vec::new() },
        ..GroupDraft::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The median midpoint of the demo attendance of `n` groups of `category`.
    fn median_midpoint(category: Option<Category>, n: u64) -> f64 {
        let mut sums = std::collections::BTreeMap::new();
        for i in 0..n {
            let mut draft = GroupDraft { category, ..GroupDraft::default() };
            demo_attendance(i, &mut draft, &[]);
            if let Some(a) = draft.typical_attendance {
                assert!(1 <= a.min && a.min <= a.max && a.max <= 500, "{i}: {a:?}");
                *sums.entry(i64::from(a.min + a.max)).or_insert(0) += 1;
            }
        }
        assert_eq!(sums.values().sum::<u64>(), n - n / ATTENDANCE_UNREPORTED_EVERY, "one in five reports none");
        crate::services::group_stats::median_midpoint(&sums).unwrap_or_default()
    }

    #[test]
    fn demo_behavior_control_meetings_are_twice_as_large() {
        let bc = median_midpoint(Some(Category::BehaviorControl), 1000);
        let sc = median_midpoint(Some(Category::StressCoping), 1000);
        assert_eq!((bc, sc), (f64::from(ATTENDANCE_MIDPOINT_BEHAVIOR_CONTROL), f64::from(ATTENDANCE_MIDPOINT_STRESS_COPING)));
        assert_eq!(median_midpoint(None, 1000), f64::from(ATTENDANCE_MIDPOINT_UNAFFILIATED));
    }
}
