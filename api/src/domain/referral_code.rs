//! Referral codes: 8 characters from an alphabet without look-alikes (no I, L, O, U, 0, 1),
//! drawn from the operating system's CSPRNG: 30^8 ≈ 6.6 × 10^11 codes.

use rand::Rng;

pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const LEN: usize = 8;

pub fn generate() -> String {
    let mut rng = rand::rng();
    (0..LEN).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// Upper-cases and drops spaces and hyphens; `None` if it cannot be a code.
pub fn normalise(input: &str) -> Option<String> {
    let code: String = input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
    (code.len() == LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_well_formed_and_vary() {
        let codes: std::collections::HashSet<String> = (0..1000).map(|_| generate()).collect();
        assert!(codes.len() > 990);
        for c in &codes {
            assert_eq!(normalise(c).as_deref(), Some(c.as_str()));
        }
        assert_eq!(normalise("abcd-efgh").as_deref(), Some("ABCDEFGH"));
        assert_eq!(normalise("ABCDEFG1"), None, "1 is not in the alphabet");
        assert_eq!(normalise("ABC"), None);
    }
}
