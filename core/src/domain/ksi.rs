//! Codes of Socialstyrelsen's classification of social services'
//! interventions and activities (KSI). A code names an activity along
//! three axes: its inriktning (three letters), its type of agerande (two)
//! and its metod (two), written `SNH RB ZZ`. Catalogues and case systems
//! also write them without spaces or with dots; hemtid stores one form.

/// The code in its stored form (`SNH RB ZZ`), or `None` when `s` is not
/// three, two and two letters (separated by nothing, spaces, dots or
/// hyphens).
pub fn normalise(s: &str) -> Option<String> {
    let letters: String = s
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-'))
        .collect();
    let valid = letters.chars().count() == 7 && letters.chars().all(|c| c.is_ascii_alphabetic());
    // Separators only between the axes, never inside one.
    let parts: Vec<&str> = s
        .trim()
        .split([' ', '.', '-'])
        .filter(|p| !p.is_empty())
        .collect();
    let shaped = match parts.len() {
        1 => true,
        3 => parts[0].len() == 3 && parts[1].len() == 2 && parts[2].len() == 2,
        _ => false,
    };
    if !(valid && shaped) {
        return None;
    }
    let up = letters.to_ascii_uppercase();
    Some(format!("{} {} {}", &up[..3], &up[3..5], &up[5..]))
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn the_three_axes_in_one_form() {
        assert_eq!(normalise("SNH RB ZZ").as_deref(), Some("SNH RB ZZ"));
        assert_eq!(normalise("snhrbzz").as_deref(), Some("SNH RB ZZ"));
        assert_eq!(normalise(" SNH.RB.ZZ ").as_deref(), Some("SNH RB ZZ"));
        assert_eq!(normalise("SNH-RB-ZZ").as_deref(), Some("SNH RB ZZ"));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "SNH RB",
            "SN HRB ZZ",
            "SNH RB Z1",
            "SNH RB ZZZ",
            "SNHRBZ",
            "ÅÄÖ RB ZZ",
        ] {
            assert_eq!(normalise(bad), None, "{bad}");
        }
    }
}
