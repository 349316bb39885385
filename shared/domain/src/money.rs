//! Money (金额) in fen: `i64` at rest and on the wire, `Decimal` yuan only while computing.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::ValueError;

/// An amount of money in fen (分). Serialized as an integer number of fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    /// Zero.
    pub const ZERO: Money = Money(0);

    /// An amount of `fen` fen.
    pub const fn from_fen(fen: i64) -> Self {
        Self(fen)
    }

    /// An amount of whole yuan, `None` on overflow.
    pub fn from_yuan(yuan: i64) -> Option<Self> {
        yuan.checked_mul(100).map(Self)
    }

    /// The amount in fen.
    pub const fn fen(self) -> i64 {
        self.0
    }

    /// Parse a non-negative yuan amount with at most two decimals (`"12.34"`, `"5000"`).
    pub fn parse_yuan(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        let err = |reason: &str| ValueError::new("MONEY", reason.to_owned());
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("an amount is a non-negative number of yuan"));
        }
        if frac.len() > 2 || (s.contains('.') && frac.is_empty()) {
            return Err(err("an amount has at most two decimals"));
        }
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("an amount is a non-negative number of yuan"));
        }
        let whole: i64 = whole.parse().map_err(|_| err("the amount is too large"))?;
        let frac_fen: i64 = match frac.len() {
            0 => 0,
            1 => i64::from(frac.as_bytes()[0] - b'0') * 10,
            _ => frac.parse().map_err(|_| err("bad decimals"))?,
        };
        whole
            .checked_mul(100)
            .and_then(|f| f.checked_add(frac_fen))
            .map(Self)
            .ok_or_else(|| err("the amount is too large"))
    }

    /// The amount in yuan as an exact decimal with two places.
    pub fn to_decimal_yuan(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    /// Round a yuan amount half up to the fen (SUBS-ROUND); `None` if it does not fit.
    pub fn from_decimal_yuan_half_up(yuan: Decimal) -> Option<Self> {
        let fen = (yuan * Decimal::ONE_HUNDRED).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        i64::try_from(fen).ok().map(Self)
    }

    /// Checked addition.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Self)
    }

    /// Checked subtraction.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// The sum of `amounts`, `None` on overflow.
    pub fn checked_sum(amounts: impl IntoIterator<Item = Money>) -> Option<Money> {
        amounts.into_iter().try_fold(Money::ZERO, |acc, m| acc.checked_add(m))
    }

    /// The smaller of two amounts.
    pub fn min(self, other: Money) -> Money {
        if self <= other { self } else { other }
    }
}

impl std::fmt::Display for Money {
    /// Yuan with two decimals, `12.34`, `-0.05`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn money_parse_and_display() {
        assert_eq!(Money::parse_yuan("12.34").expect("ok").fen(), 1234);
        assert_eq!(Money::parse_yuan("12.3").expect("ok").fen(), 1230);
        assert_eq!(Money::parse_yuan("5000").expect("ok").fen(), 500_000);
        assert_eq!(Money::from_fen(5).to_string(), "0.05");
        assert_eq!(Money::from_fen(-1234).to_string(), "-12.34");
        for bad in ["-1", "1.234", "1.", ".5", "abc", "1,000", ""] {
            assert_eq!(Money::parse_yuan(bad).expect_err(bad).rule, "MONEY");
        }
    }

    #[test]
    fn subs_round_half_fen_rounds_up_in_money() {
        let half = Decimal::new(12345, 3); // 12.345 yuan
        assert_eq!(Money::from_decimal_yuan_half_up(half).expect("fits").fen(), 1235);
        let below = Decimal::new(123449, 4);
        assert_eq!(Money::from_decimal_yuan_half_up(below).expect("fits").fen(), 1234);
    }

    #[test]
    fn money_serde_is_integer_fen() {
        assert_eq!(serde_json::to_string(&Money::from_fen(1234)).expect("ser"), "1234");
        assert_eq!(Money::to_decimal_yuan(Money::from_fen(1234)), Decimal::new(1234, 2));
        assert_eq!(Money::checked_sum([Money::from_fen(1), Money::from_fen(2)]), Some(Money::from_fen(3)));
        assert_eq!(Money::from_fen(i64::MAX).checked_add(Money::from_fen(1)), None);
    }

    proptest! {
        #[test]
        fn money_display_parse_round_trips(fen in 0i64..1_000_000_000_000) {
            let m = Money::from_fen(fen);
            prop_assert_eq!(Money::parse_yuan(&m.to_string()).expect("parses"), m);
            prop_assert_eq!(m.to_decimal_yuan().to_string(), m.to_string());
        }
    }
}
