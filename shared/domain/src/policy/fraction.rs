//! Exact fractions for rates and thresholds (OUT-RATE, SUBS-TIER, CLASS-ATTENDANCE).
//!
//! A rate is never a float: it is a numerator over a denominator, and comparisons
//! cross-multiply in `u128` so 7/10 is exactly 70%.

use std::cmp::Ordering;

/// An exact non-negative fraction `numerator / denominator` (denominator > 0).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Fraction {
    /// The numerator.
    pub numerator: u64,
    /// The denominator, never zero.
    pub denominator: u64,
}

impl Fraction {
    /// `numerator / denominator`, `None` when the denominator is zero.
    pub fn new(numerator: u64, denominator: u64) -> Option<Self> {
        (denominator != 0).then_some(Self { numerator, denominator })
    }

    /// `percent / 100`.
    pub const fn percent(percent: u64) -> Self {
        Self { numerator: percent, denominator: 100 }
    }

    /// Whether `self >= other`, by cross-multiplication.
    pub fn at_least(self, other: Fraction) -> bool {
        self.cmp(&other) != Ordering::Less
    }

    /// Whether the denominator is non-zero (a deserialized fraction may not be).
    pub fn is_valid(self) -> bool {
        self.denominator != 0
    }

    /// The value as a percentage with two decimals, for explanations only (rounded half up).
    pub fn percent_display(self) -> String {
        if self.denominator == 0 {
            return "n/a".to_owned();
        }
        // basis points times 100, rounded half up: (n * 10000 * 2 + d) / (2d)
        let n = u128::from(self.numerator) * 20_000 + u128::from(self.denominator);
        let hundredths = n / (2 * u128::from(self.denominator));
        format!("{}.{:02}%", hundredths / 100, hundredths % 100)
    }
}

impl PartialEq for Fraction {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Fraction {}

impl PartialOrd for Fraction {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Fraction {
    fn cmp(&self, other: &Self) -> Ordering {
        let left = u128::from(self.numerator) * u128::from(other.denominator);
        let right = u128::from(other.numerator) * u128::from(self.denominator);
        left.cmp(&right)
    }
}

impl std::fmt::Display for Fraction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} ({})", self.numerator, self.denominator, self.percent_display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_rate_fraction_compares_exactly() {
        let seventy = Fraction::percent(70);
        assert!(Fraction::new(7, 10).expect("rate").at_least(seventy));
        assert!(Fraction::new(70, 100).expect("rate").at_least(seventy));
        assert!(!Fraction::new(6999, 10000).expect("rate").at_least(seventy));
        assert_eq!(Fraction::new(1, 3).expect("rate").percent_display(), "33.33%");
        assert_eq!(Fraction::new(2, 3).expect("rate").percent_display(), "66.67%");
        assert!(Fraction::new(1, 0).is_none());
    }
}
