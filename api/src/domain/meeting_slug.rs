//! A meeting's slug: its stable identity in the Meeting Guide feed, where the app bookmarks
//! meetings by it. A listing update replaces a group's meetings, so the slug must survive
//! that: a meeting given without a slug keeps the slug of the old meeting on the same
//! weekday and start time, and only a meeting that is new gets a new one,
//! `g<group>-<day>-<HHMM>` (`-2`, `-3`, ... when that is taken in the group).

/// A meeting as far as its slug is concerned.
pub trait Slotted {
    /// The weekday's name and the local start time `HH:MM`.
    fn slot(&self) -> (&str, &str);
    fn slug(&self) -> Option<&str>;
    fn set_slug(&mut self, slug: String);
}

/// A slug the API accepts: 1 to 64 URL-safe characters.
pub fn is_valid(slug: &str) -> bool {
    (1..=64).contains(&slug.len()) && slug.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
}

/// Gives every meeting of `new` a slug: its own if it has one, else that of an `old`
/// meeting in the same slot that no other meeting kept, else a new one.
pub fn assign<M: Slotted>(group_id: i64, old: &[M], new: &mut [M]) {
    let mut taken: Vec<String> = new.iter().filter_map(|m| m.slug().map(str::to_owned)).collect();
    for m in new.iter_mut().filter(|m| m.slug().is_none()) {
        let (day, time) = m.slot();
        let kept = old.iter().filter(|o| o.slot() == (day, time)).filter_map(|o| o.slug()).find(|s| !taken.iter().any(|t| t == s));
        let slug = match kept {
            Some(s) => s.to_owned(),
            None => fresh(group_id, day, time, &taken),
        };
        taken.push(slug.clone());
        m.set_slug(slug);
    }
}

fn fresh(group_id: i64, day: &str, time: &str, taken: &[String]) -> String {
    let day: String = day.chars().take(3).collect::<String>().to_lowercase();
    let base = format!("g{group_id}-{day}-{}", time.replace(':', ""));
    (1..).map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") }).find(|s| !taken.contains(s)).unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug)]
    struct M(&'static str, &'static str, Option<String>);

    impl Slotted for M {
        fn slot(&self) -> (&str, &str) {
            (self.0, self.1)
        }
        fn slug(&self) -> Option<&str> {
            self.2.as_deref()
        }
        fn set_slug(&mut self, slug: String) {
            self.2 = Some(slug);
        }
    }

    fn slugs(ms: &[M]) -> Vec<&str> {
        ms.iter().map(|m| m.2.as_deref().unwrap_or("")).collect()
    }

    #[test]
    fn new_meetings_get_slugs_by_slot() {
        let mut new = vec![M("MONDAY", "19:00", None), M("MONDAY", "19:00", None), M("FRIDAY", "07:30", None)];
        assign(12, &[], &mut new);
        assert_eq!(slugs(&new), ["g12-mon-1900", "g12-mon-1900-2", "g12-fri-0730"]);
    }

    #[test]
    fn an_update_keeps_the_slugs_of_unchanged_slots() {
        let old = vec![M("MONDAY", "19:00", Some("sunday-serenity-14".into())), M("FRIDAY", "07:30", Some("g12-fri-0730".into()))];
        let mut new = vec![M("FRIDAY", "07:30", None), M("TUESDAY", "18:00", None), M("MONDAY", "19:00", None)];
        assign(12, &old, &mut new);
        assert_eq!(slugs(&new), ["g12-fri-0730", "g12-tue-1800", "sunday-serenity-14"]);
    }

    #[test]
    fn given_slugs_win_and_are_not_reused() {
        let old = vec![M("MONDAY", "19:00", Some("a".into()))];
        let mut new = vec![M("MONDAY", "19:00", None), M("MONDAY", "20:00", Some("a".into()))];
        assign(3, &old, &mut new);
        assert_eq!(slugs(&new), ["g3-mon-1900", "a"]);
    }

    #[test]
    fn valid_slugs() {
        assert!(is_valid("sunday-serenity-14"));
        assert!(is_valid("123"));
        assert!(!is_valid(""));
        assert!(!is_valid("has space"));
        assert!(!is_valid(&"x".repeat(65)));
    }
}
