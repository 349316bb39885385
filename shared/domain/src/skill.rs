//! Skill levels (职业技能等级) of the national five-level system.

use crate::error::{ValueError, serde_as_str};

/// A skill level (职业技能等级). Higher skill compares greater: `Level1` (高级技师) > `Level5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkillLevel {
    /// 五级/初级工
    Level5,
    /// 四级/中级工
    Level4,
    /// 三级/高级工
    Level3,
    /// 二级/技师
    Level2,
    /// 一级/高级技师
    Level1,
}

impl SkillLevel {
    /// Every level, lowest first.
    pub const ALL: [SkillLevel; 5] =
        [SkillLevel::Level5, SkillLevel::Level4, SkillLevel::Level3, SkillLevel::Level2, SkillLevel::Level1];

    /// Parse `"1"`–`"5"`, `LEVEL_5`, `五级`, `初级工` or `五级/初级工`.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        let upper = s.to_ascii_uppercase();
        Self::ALL
            .into_iter()
            .find(|l| {
                let (grade, title) = l.names();
                upper == l.code()
                    || upper == l.code().replace('_', "")
                    || s == l.number().to_string()
                    || s == grade
                    || s == title
                    || s == l.name_zh()
            })
            .ok_or_else(|| ValueError::new("SKILL-LEVEL", format!("{} is not a skill level", crate::quote(s))))
    }

    /// The level number, 5 (初级工) to 1 (高级技师).
    pub fn number(self) -> u8 {
        match self {
            SkillLevel::Level5 => 5,
            SkillLevel::Level4 => 4,
            SkillLevel::Level3 => 3,
            SkillLevel::Level2 => 2,
            SkillLevel::Level1 => 1,
        }
    }

    /// The stable code, `LEVEL_5` … `LEVEL_1`.
    pub fn code(self) -> &'static str {
        match self {
            SkillLevel::Level5 => "LEVEL_5",
            SkillLevel::Level4 => "LEVEL_4",
            SkillLevel::Level3 => "LEVEL_3",
            SkillLevel::Level2 => "LEVEL_2",
            SkillLevel::Level1 => "LEVEL_1",
        }
    }

    /// The Chinese name, `五级/初级工` … `一级/高级技师`.
    pub fn name_zh(self) -> &'static str {
        match self {
            SkillLevel::Level5 => "五级/初级工",
            SkillLevel::Level4 => "四级/中级工",
            SkillLevel::Level3 => "三级/高级工",
            SkillLevel::Level2 => "二级/技师",
            SkillLevel::Level1 => "一级/高级技师",
        }
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            SkillLevel::Level5 => ("五级", "初级工"),
            SkillLevel::Level4 => ("四级", "中级工"),
            SkillLevel::Level3 => ("三级", "高级工"),
            SkillLevel::Level2 => ("二级", "技师"),
            SkillLevel::Level1 => ("一级", "高级技师"),
        }
    }
}

impl std::fmt::Display for SkillLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

serde_as_str!(SkillLevel, code);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skill_level_parses_every_spelling() {
        for s in ["5", "五级", "初级工", "LEVEL_5", "level_5", "五级/初级工"] {
            assert_eq!(SkillLevel::parse(s).expect(s), SkillLevel::Level5);
        }
        assert_eq!(SkillLevel::parse("高级技师").expect("l1"), SkillLevel::Level1);
        assert_eq!(SkillLevel::parse("技师").expect("l2"), SkillLevel::Level2);
        assert_eq!(SkillLevel::parse("6").expect_err("six").rule, "SKILL-LEVEL");
    }

    #[test]
    fn skill_level_higher_skill_compares_greater() {
        assert!(SkillLevel::Level1 > SkillLevel::Level5);
        assert!(SkillLevel::Level3 > SkillLevel::Level4);
        assert_eq!(SkillLevel::Level2.number(), 2);
    }

    #[test]
    fn skill_level_serde_as_code() {
        assert_eq!(serde_json::to_string(&SkillLevel::Level3).expect("ser"), "\"LEVEL_3\"");
    }
}
