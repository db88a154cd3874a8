//! Exact fractions for time arithmetic: monthly ordered time multiplies
//! minutes by 365.25/12 or 52/12, and rounding each step would drift.

use std::ops::{Add, Mul};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ratio {
    num: i128,
    den: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

impl Ratio {
    pub(crate) const ZERO: Ratio = Ratio { num: 0, den: 1 };

    /// `den` must be positive; callers pass constants or counts of days.
    pub(crate) fn new(num: i128, den: i128) -> Ratio {
        let den = if den == 0 { 1 } else { den };
        let sign = if den < 0 { -1 } else { 1 };
        let g = gcd(num, den);
        Ratio {
            num: sign * num / g,
            den: sign * den / g,
        }
    }

    /// For constants: `num/den` must already be in lowest terms, `den` > 0.
    pub(crate) const fn new_const(num: i128, den: i128) -> Ratio {
        Ratio { num, den }
    }

    pub(crate) fn int(n: i128) -> Ratio {
        Ratio { num: n, den: 1 }
    }

    /// Rounds half away from zero to a whole number.
    pub(crate) fn round(self) -> i64 {
        let twice = 2 * self.num.abs() + self.den;
        let rounded = twice / (2 * self.den);
        let signed = if self.num < 0 { -rounded } else { rounded };
        i64::try_from(signed).unwrap_or(if signed < 0 { i64::MIN } else { i64::MAX })
    }
}

impl Add for Ratio {
    type Output = Ratio;
    fn add(self, o: Ratio) -> Ratio {
        Ratio::new(self.num * o.den + o.num * self.den, self.den * o.den)
    }
}

impl Mul for Ratio {
    type Output = Ratio;
    fn mul(self, o: Ratio) -> Ratio {
        Ratio::new(self.num * o.num, self.den * o.den)
    }
}

impl std::iter::Sum for Ratio {
    fn sum<I: Iterator<Item = Ratio>>(iter: I) -> Ratio {
        iter.fold(Ratio::ZERO, |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::Ratio;

    #[test]
    fn rounds_half_away_from_zero() {
        assert_eq!(Ratio::new(5, 2).round(), 3);
        assert_eq!(Ratio::new(7, 3).round(), 2);
        assert_eq!(Ratio::new(-5, 2).round(), -3);
        assert_eq!(Ratio::new(24837, 16).round(), 1552);
    }

    #[test]
    fn adds_and_multiplies_exactly() {
        let third = Ratio::new(1, 3);
        assert_eq!(third + third + third, Ratio::int(1));
        assert_eq!(Ratio::new(487, 16) * Ratio::int(16), Ratio::int(487));
    }
}
