//! What the demand adds up to, as pure functions: how well a vacancy fits a worker (人岗精准匹配,
//! 二(一)), and the training-need summary that sets workers against published demand
//! (二(二) "用什么、学什么"). Neither is a rule of the plan; both are the suite's arithmetic over
//! the records the demand service keeps, and both explain themselves.

use crate::{Industry, RegionCode, SkillLevel};

/// Points for the occupation.
pub const OCCUPATION_POINTS: i32 = 40;
/// Points for the skill level.
pub const LEVEL_POINTS: i32 = 25;
/// Points for the pay.
pub const PAY_POINTS: i32 = 20;
/// Points for the county.
pub const COUNTY_POINTS: i32 = 15;

/// What a vacancy offers, as matching reads it.
#[derive(Debug, Clone, Copy)]
pub struct Posting<'a> {
    /// Occupation code of the post.
    pub occupation_code: &'a str,
    /// Its name.
    pub occupation_name: &'a str,
    /// Level the post requires.
    pub level: SkillLevel,
    /// Top of the pay range, in fen.
    pub pay_max_fen: i64,
    /// County where the work is done.
    pub work_region: RegionCode,
}

/// What a worker wants and holds, as matching reads it.
#[derive(Debug, Clone, Copy)]
pub struct Seeker<'a> {
    /// Occupation wanted.
    pub wanted: Option<&'a str>,
    /// Occupation held, with its level.
    pub held: Option<(&'a str, Option<SkillLevel>)>,
    /// Occupation the worker would train in.
    pub training: Option<&'a str>,
    /// Lowest pay wanted, in fen.
    pub pay_min_fen: i64,
    /// County the worker lives in.
    pub region: RegionCode,
}

/// One criterion's points and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// `OCCUPATION`, `LEVEL`, `PAY` or `COUNTY`.
    pub criterion: &'static str,
    /// Points earned.
    pub points: i32,
    /// Points the criterion can earn.
    pub max_points: i32,
    /// Why, in words.
    pub explanation: String,
}

/// A score out of 100 with one reason per criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    /// 0..=100.
    pub total: i32,
    /// Occupation, level, pay, county, in that order.
    pub reasons: Vec<Reason>,
}

impl Score {
    /// Whether the occupation earned anything: a match in no related occupation is no match.
    pub fn is_match(&self) -> bool {
        self.reasons.first().is_some_and(|r| r.points > 0)
    }
}

/// The major and middle group of an occupation code (`6-18` of `6-18-01-01`).
pub fn occupation_group(code: &str) -> &str {
    code.get(..4).unwrap_or(code)
}

fn reason(criterion: &'static str, points: i32, max_points: i32, explanation: String) -> Reason {
    Reason { criterion, points, max_points, explanation }
}

/// Scores how well `posting` fits `seeker`: occupation 40, level 25, pay 20, county 15.
pub fn score(posting: &Posting<'_>, seeker: &Seeker<'_>) -> Score {
    let occupation = posting.occupation_code;
    let held = seeker.held.map(|(code, _)| code);
    let occupation_reason = if seeker.wanted == Some(occupation) || held == Some(occupation) {
        reason(
            "OCCUPATION",
            OCCUPATION_POINTS,
            OCCUPATION_POINTS,
            format!("wants or holds {occupation} {}", posting.occupation_name),
        )
    } else if seeker.training == Some(occupation) {
        reason(
            "OCCUPATION",
            30,
            OCCUPATION_POINTS,
            format!("wants training in {occupation} {}", posting.occupation_name),
        )
    } else if [seeker.wanted, held, seeker.training]
        .into_iter()
        .flatten()
        .any(|c| occupation_group(c) == occupation_group(occupation))
    {
        reason(
            "OCCUPATION",
            20,
            OCCUPATION_POINTS,
            format!("a related occupation in group {}", occupation_group(occupation)),
        )
    } else {
        reason("OCCUPATION", 0, OCCUPATION_POINTS, format!("no wish or skill in {occupation}"))
    };

    let wanted_level = posting.level;
    let level_reason = match seeker.held.filter(|(code, _)| *code == occupation).and_then(|(_, level)| level) {
        Some(level) if level >= wanted_level => {
            reason("LEVEL", LEVEL_POINTS, LEVEL_POINTS, format!("holds {} or higher", wanted_level.name_zh()))
        }
        Some(level) if level.number() == wanted_level.number() + 1 => reason(
            "LEVEL",
            10,
            LEVEL_POINTS,
            format!("holds {}, one level below {}: trainable", level.name_zh(), wanted_level.name_zh()),
        ),
        _ => reason("LEVEL", 0, LEVEL_POINTS, format!("needs training to {}", wanted_level.name_zh())),
    };

    let pay_reason = if seeker.pay_min_fen <= posting.pay_max_fen {
        reason("PAY", PAY_POINTS, PAY_POINTS, "the pay range reaches the pay wanted".to_owned())
    } else if seeker.pay_min_fen.saturating_mul(9) <= posting.pay_max_fen.saturating_mul(10) {
        reason("PAY", 10, PAY_POINTS, "the pay range is within 10% of the pay wanted".to_owned())
    } else {
        reason("PAY", 0, PAY_POINTS, "the pay range is below the pay wanted".to_owned())
    };

    let (work, home) = (posting.work_region, seeker.region);
    let county_reason = if work == home {
        reason("COUNTY", COUNTY_POINTS, COUNTY_POINTS, format!("works in the worker's county {}", work.name()))
    } else {
        reason("COUNTY", 0, COUNTY_POINTS, format!("works in {}, the worker lives in {}", work.name(), home.name()))
    };

    let reasons = vec![occupation_reason, level_reason, pay_reason, county_reason];
    Score { total: reasons.iter().map(|r| r.points).sum(), reasons }
}

/// Published demand for one county, industry, occupation and level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    /// Work county.
    pub region: RegionCode,
    /// Enterprise industry.
    pub industry: Industry,
    /// Occupation code.
    pub occupation_code: String,
    /// Occupation name.
    pub occupation_name: String,
    /// Level required.
    pub level: SkillLevel,
    /// Headcount wanted.
    pub headcount: i64,
}

/// What one worker brings to the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skills {
    /// County the worker lives in.
    pub region: RegionCode,
    /// Occupation and level held.
    pub held: Option<(String, SkillLevel)>,
    /// Occupation the worker wants training in, and the level wanted (any, if none).
    pub training: Option<(String, Option<SkillLevel>)>,
}

/// One row of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeedRow {
    /// The demand.
    pub demand: Demand,
    /// Qualified workers set against this row.
    pub qualified: i64,
    /// Willing workers set against this row.
    pub willing: i64,
}

impl NeedRow {
    /// The people to train.
    pub fn gap(&self) -> i64 {
        (self.demand.headcount - self.qualified).max(0)
    }
}

/// Sets workers against demand, each worker at most once in the whole summary.
///
/// Rows of one county and occupation are served from the highest level down: a worker who
/// qualifies for a row qualifies for every lower one, so taking any qualifying worker for the
/// hardest row first never leaves a lower row short that could have been filled. Qualified
/// workers fill rows up to their headcount; then workers willing to train (to the row's level or
/// higher) are set against the remaining gaps, and any still left count on the first row they
/// fit, so that every willing worker is counted once.
pub fn summarize(mut demand: Vec<Demand>, workers: &[Skills]) -> Vec<NeedRow> {
    demand.sort_by(|a, b| {
        (a.region, &a.occupation_code, std::cmp::Reverse(a.level), a.industry).cmp(&(
            b.region,
            &b.occupation_code,
            std::cmp::Reverse(b.level),
            b.industry,
        ))
    });
    let mut rows: Vec<NeedRow> = demand.into_iter().map(|d| NeedRow { demand: d, qualified: 0, willing: 0 }).collect();
    let mut used = vec![false; workers.len()];
    for row in &mut rows {
        let d = &row.demand;
        for (i, w) in workers.iter().enumerate() {
            if row.qualified >= d.headcount {
                break;
            }
            let holds = w.held.as_ref().is_some_and(|(code, level)| *code == d.occupation_code && *level >= d.level);
            if !used[i] && w.region == d.region && holds {
                used[i] = true;
                row.qualified += 1;
            }
        }
    }
    let fits = |w: &Skills, d: &Demand| {
        w.region == d.region
            && w.training
                .as_ref()
                .is_some_and(|(code, level)| *code == d.occupation_code && level.is_none_or(|l| l >= d.level))
    };
    for row in &mut rows {
        for (i, w) in workers.iter().enumerate() {
            if row.willing >= row.gap() {
                break;
            }
            if !used[i] && fits(w, &row.demand) {
                used[i] = true;
                row.willing += 1;
            }
        }
    }
    for (i, w) in workers.iter().enumerate() {
        if !used[i]
            && let Some(row) = rows.iter_mut().find(|r| fits(w, &r.demand))
        {
            used[i] = true;
            row.willing += 1;
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    const WELDER: &str = "6-18-02-04";

    fn county(code: &str) -> RegionCode {
        RegionCode::parse(code).expect("county")
    }

    fn posting(occupation_code: &'static str, level: SkillLevel, pay_max_fen: i64, region: &str) -> Posting<'static> {
        Posting { occupation_code, occupation_name: "焊工", level, pay_max_fen, work_region: county(region) }
    }

    fn seeker<'a>(
        held: Option<(&'a str, SkillLevel)>,
        training: Option<&'a str>,
        pay: i64,
        region: &str,
    ) -> Seeker<'a> {
        Seeker {
            wanted: None,
            held: held.map(|(c, l)| (c, Some(l))),
            training,
            pay_min_fen: pay,
            region: county(region),
        }
    }

    #[test]
    fn a_qualified_local_worker_scores_full_marks_with_four_reasons() {
        let v = posting(WELDER, SkillLevel::Level4, 600_000, "421221");
        let s = score(&v, &seeker(Some((WELDER, SkillLevel::Level3)), None, 500_000, "421221"));
        assert_eq!(s.total, 100);
        assert_eq!(s.reasons.iter().map(|r| r.criterion).collect::<Vec<_>>(), ["OCCUPATION", "LEVEL", "PAY", "COUNTY"]);
        assert!(s.is_match());
    }

    #[test]
    fn one_level_below_is_trainable_and_scores_less() {
        let v = posting(WELDER, SkillLevel::Level4, 600_000, "421221");
        let s = score(&v, &seeker(Some((WELDER, SkillLevel::Level5)), None, 500_000, "421222"));
        assert_eq!(s.reasons[1].points, 10);
        assert_eq!(s.reasons[3].points, 0);
        assert_eq!(s.total, 40 + 10 + 20);
        let senior = posting(WELDER, SkillLevel::Level3, 600_000, "421221");
        let two_below = score(&senior, &seeker(Some((WELDER, SkillLevel::Level5)), None, 500_000, "421221"));
        assert_eq!(two_below.reasons[1].points, 0, "two levels below needs training");
    }

    #[test]
    fn pay_within_ten_percent_earns_half_and_below_earns_none() {
        let v = posting(WELDER, SkillLevel::Level5, 450_000, "421221");
        assert_eq!(score(&v, &seeker(None, Some(WELDER), 500_000, "421221")).reasons[2].points, 10);
        assert_eq!(score(&v, &seeker(None, Some(WELDER), 500_001, "421221")).reasons[2].points, 0);
        assert_eq!(score(&v, &seeker(None, Some(WELDER), 450_000, "421221")).reasons[2].points, 20);
    }

    #[test]
    fn an_unrelated_occupation_earns_no_occupation_points() {
        let v = posting(WELDER, SkillLevel::Level5, 450_000, "421221");
        let s = score(&v, &seeker(Some(("4-10-01-01", SkillLevel::Level3)), None, 0, "421221"));
        assert_eq!(s.reasons[0].points, 0);
        assert!(!s.is_match());
        let related = score(&v, &seeker(Some(("6-18-01-01", SkillLevel::Level3)), None, 0, "421221"));
        assert_eq!(related.reasons[0].points, 20);
        assert_eq!(score(&v, &seeker(None, Some(WELDER), 0, "421221")).reasons[0].points, 30);
    }

    fn demand(industry: Industry, level: SkillLevel, headcount: i64) -> Demand {
        Demand {
            region: county("421221"),
            industry,
            occupation_code: WELDER.into(),
            occupation_name: "焊工".into(),
            level,
            headcount,
        }
    }

    fn holder(level: SkillLevel, region: &str) -> Skills {
        Skills { region: county(region), held: Some((WELDER.into(), level)), training: None }
    }

    fn trainee(level: Option<SkillLevel>) -> Skills {
        Skills { region: county("421221"), held: None, training: Some((WELDER.into(), level)) }
    }

    #[test]
    fn each_qualified_worker_counts_once_across_industries() {
        let rows = summarize(
            vec![
                demand(Industry::EquipmentManufacturing, SkillLevel::Level4, 2),
                demand(Industry::NewBuildingMaterials, SkillLevel::Level4, 2),
            ],
            &[holder(SkillLevel::Level3, "421221"), holder(SkillLevel::Level3, "421221")],
        );
        assert_eq!(rows.iter().map(|r| r.qualified).sum::<i64>(), 2);
        assert_eq!(rows.iter().map(NeedRow::gap).sum::<i64>(), 2, "the city still needs two more welders");
    }

    #[test]
    fn higher_levels_are_served_first_and_lower_holders_never_fill_them() {
        let rows = summarize(
            vec![demand(Industry::Other, SkillLevel::Level5, 1), demand(Industry::Other, SkillLevel::Level3, 1)],
            &[holder(SkillLevel::Level5, "421221"), holder(SkillLevel::Level2, "421221")],
        );
        assert_eq!(rows[0].demand.level, SkillLevel::Level3, "the hardest row comes first");
        assert_eq!((rows[0].qualified, rows[1].qualified), (1, 1));
        let other_county =
            summarize(vec![demand(Industry::Other, SkillLevel::Level5, 1)], &[holder(SkillLevel::Level1, "421222")]);
        assert_eq!(other_county[0].qualified, 0);
    }

    #[test]
    fn willing_workers_fill_gaps_and_are_each_counted_once() {
        let rows = summarize(
            vec![
                demand(Industry::Other, SkillLevel::Level4, 1),
                demand(Industry::EquipmentManufacturing, SkillLevel::Level5, 1),
            ],
            &[trainee(Some(SkillLevel::Level5)), trainee(None), trainee(None)],
        );
        // The Level-4 row takes the worker who would train to any level; the Level-5 trainee
        // fills the Level-5 gap; the third worker is counted once, on the first row they fit.
        let level4 = rows.iter().find(|r| r.demand.level == SkillLevel::Level4).expect("row");
        let level5 = rows.iter().find(|r| r.demand.level == SkillLevel::Level5).expect("row");
        assert_eq!((level4.willing, level5.willing), (2, 1));
        assert_eq!(rows.iter().map(|r| r.willing).sum::<i64>(), 3);
    }

    #[test]
    fn a_worker_who_already_qualifies_is_not_also_willing() {
        let both = Skills { training: Some((WELDER.into(), None)), ..holder(SkillLevel::Level4, "421221") };
        let rows = summarize(vec![demand(Industry::Other, SkillLevel::Level5, 3)], &[both]);
        assert_eq!((rows[0].qualified, rows[0].willing, rows[0].gap()), (1, 0, 2));
    }
}
