//! Performed time of a month as the month views show it. The split of
//! visits over days, months and services lives in [`super::figures`],
//! which keeps the figures these are read from.

use std::collections::BTreeMap;

/// Seconds performed in a month, in total and per service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthSeconds {
    pub total: i64,
    pub by_service: BTreeMap<String, i64>,
    /// Time of visits checked out without any service.
    pub unassigned: i64,
}

/// Whole minutes of a number of seconds, rounded half up.
pub fn minutes(seconds: i64) -> i64 {
    (seconds + 30).div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_round_half_up() {
        assert_eq!(minutes(3900), 65);
        assert_eq!(minutes(89), 1);
        assert_eq!(minutes(90), 2);
        assert_eq!(minutes(-29), 0);
    }
}
