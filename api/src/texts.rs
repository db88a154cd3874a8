//! Free texts at the API's edge: a note, a comment or a message longer
//! than its documented length is refused with `too_long` and its field
//! path (a 200,000-character acknowledgement note is a mistake or an
//! attack, and it would be stored, logged to the history and sent on).

use serde::de::{Deserialize, Deserializer, Error};
use std::borrow::Cow;

/// `#[serde(deserialize_with = "crate::texts::up_to::<2000, _>")]`.
pub fn up_to<'de, const N: usize, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s: Cow<'de, str> = Deserialize::deserialize(d)?;
    let n = s.chars().count();
    if n > N {
        return Err(D::Error::custom(format!(
            "too long: {n} characters, at most {N}"
        )));
    }
    Ok(s.into_owned())
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Note {
        #[serde(deserialize_with = "super::up_to::<5, _>")]
        note: String,
    }

    #[test]
    fn texts_are_counted_in_characters() {
        let ok: Note = serde_json::from_str(r#"{"note":"åäöÅÄ"}"#).unwrap();
        assert_eq!(ok.note, "åäöÅÄ");
        let err = serde_json::from_str::<Note>(r#"{"note":"åäöÅÄÖ"}"#)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.starts_with("too long: 6 characters, at most 5"),
            "{err}"
        );
    }
}
