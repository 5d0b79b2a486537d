//! A Kaplan–Meier estimate written apart from the server's (`domain::survival`), for the
//! tests of group survival and member tenure to compare against: by the book, events before
//! censorings at a tie. At each event time t, S ← S · (1 − events at t / observations lasting
//! at least t). A figure at time t is given while some observation lasts at least t, or once
//! S is 0.

/// A fitted curve over (days, event) observations.
pub struct Curve {
    obs: Vec<(u64, bool)>,
    steps: Vec<(u64, f64)>,
}

impl Curve {
    pub fn of(obs: Vec<(u64, bool)>) -> Self {
        let at_risk = |t: u64| obs.iter().filter(|(d, _)| *d >= t).count();
        let mut times: Vec<u64> = obs.iter().filter(|(_, e)| *e).map(|(d, _)| *d).collect();
        times.sort_unstable();
        times.dedup();
        let steps = times
            .iter()
            .scan(1.0, |s, &t| {
                let events = obs.iter().filter(|(d, e)| *e && *d == t).count();
                *s *= 1.0 - events as f64 / at_risk(t) as f64;
                Some((t, *s))
            })
            .collect();
        Self { obs, steps }
    }

    /// How many observations are in the estimate.
    pub fn n(&self) -> u64 {
        self.obs.len() as u64
    }

    fn at(&self, t: u64) -> f64 {
        self.steps.iter().rfind(|(u, _)| *u <= t).map_or(1.0, |(_, s)| *s)
    }

    /// S(t), where the data say something about it.
    pub fn figure(&self, t: u64) -> Option<f64> {
        let lasting = self.obs.iter().any(|(d, _)| *d >= t);
        (lasting || (!self.obs.is_empty() && self.at(t) == 0.0)).then(|| self.at(t))
    }

    /// The first time S reaches one half.
    pub fn median(&self) -> Option<f64> {
        self.steps.iter().find(|(_, s)| *s <= 0.5 + 1e-12).map(|(t, _)| *t as f64)
    }
}
