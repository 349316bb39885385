//! Target groups (培训对象类别) of the plan, rule ELIG-GROUP, and key industries (重点产业).

use crate::error::{ValueError, serde_as_str};

/// Define a closed enum with a stable code and a Chinese name per variant.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $rule:literal, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident => ($code:literal, $zh:literal) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in the plan's order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The stable UPPER_SNAKE code.
            pub fn code(self) -> &'static str {
                match self { $( $name::$variant => $code ),+ }
            }

            /// The Chinese name as the plan writes it.
            pub fn name_zh(self) -> &'static str {
                match self { $( $name::$variant => $zh ),+ }
            }

            /// Parse a code (any case) or the Chinese name.
            pub fn parse(raw: &str) -> Result<Self, ValueError> {
                let s = raw.trim();
                let upper = s.to_ascii_uppercase();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.code() == upper || v.name_zh() == s)
                    .ok_or_else(|| ValueError::new($rule, format!(concat!("{} is not ", $what), crate::quote(s))))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        serde_as_str!($name, code);
    };
}

coded_enum! {
    /// A target group (培训对象类别), ELIG-GROUP: every trainee has exactly one.
    TargetGroup, "ELIG-GROUP", "a target group" {
        /// 项目企业拟招聘对象 (trained before being hired, ELIG-PREHIRE)
        ProjectEnterpriseRecruit => ("PROJECT_ENTERPRISE_RECRUIT", "项目企业拟招聘对象"),
        /// 脱贫劳动力
        PovertyAlleviated => ("POVERTY_ALLEVIATED", "脱贫劳动力"),
        /// 农村转移就业劳动者
        RuralMigrant => ("RURAL_MIGRANT", "农村转移就业劳动者"),
        /// 毕业年度高校毕业生
        GraduatingStudent => ("GRADUATING_STUDENT", "毕业年度高校毕业生"),
        /// 城镇登记失业人员
        RegisteredUnemployed => ("REGISTERED_UNEMPLOYED", "城镇登记失业人员"),
        /// 就业困难人员
        EmploymentDifficulty => ("EMPLOYMENT_DIFFICULTY", "就业困难人员"),
        /// 离校未就业高校毕业生
        UnemployedGraduate => ("UNEMPLOYED_GRADUATE", "离校未就业高校毕业生"),
        /// 在岗职工 (judged by certificates, PROJ-BASIS)
        InServiceWorker => ("IN_SERVICE_WORKER", "在岗职工"),
        /// 重点产业技能人才储备
        KeyIndustryReserve => ("KEY_INDUSTRY_RESERVE", "重点产业技能人才储备"),
        /// 其他符合条件人员
        OtherEligible => ("OTHER_ELIGIBLE", "其他符合条件人员"),
    }
}

coded_enum! {
    /// An industry (产业): the plan's five local key industries (5), the four emerging ones (4),
    /// and everything else.
    Industry, "INDUSTRY", "an industry" {
        /// 大健康
        HealthCare => ("HEALTH_CARE", "大健康"),
        /// 装备制造
        EquipmentManufacturing => ("EQUIPMENT_MANUFACTURING", "装备制造"),
        /// 食品饮料
        FoodAndBeverage => ("FOOD_AND_BEVERAGE", "食品饮料"),
        /// 新型建材
        NewBuildingMaterials => ("NEW_BUILDING_MATERIALS", "新型建材"),
        /// 文化旅游
        CultureTourism => ("CULTURE_TOURISM", "文化旅游"),
        /// 电子信息
        ElectronicInformation => ("ELECTRONIC_INFORMATION", "电子信息"),
        /// 生物医药
        Biomedicine => ("BIOMEDICINE", "生物医药"),
        /// 新材料
        NewMaterials => ("NEW_MATERIALS", "新材料"),
        /// 绿色能源
        GreenEnergy => ("GREEN_ENERGY", "绿色能源"),
        /// 其他
        Other => ("OTHER", "其他"),
    }
}

impl TargetGroup {
    /// Whether the group is judged by certificates rather than employment (PROJ-BASIS).
    pub fn is_in_service(self) -> bool {
        self == TargetGroup::InServiceWorker
    }
}

impl Industry {
    /// Whether the industry is one of the plan's nine key industries (5+4).
    pub fn is_key(self) -> bool {
        self != Industry::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elig_group_ten_groups_parse_by_code_and_name() {
        assert_eq!(TargetGroup::ALL.len(), 10);
        for g in TargetGroup::ALL {
            assert_eq!(TargetGroup::parse(g.code()).expect("code"), *g);
            assert_eq!(TargetGroup::parse(g.name_zh()).expect("name"), *g);
        }
        assert_eq!(TargetGroup::parse("in_service_worker").expect("lower"), TargetGroup::InServiceWorker);
        assert_eq!(TargetGroup::parse("学生").expect_err("none").rule, "ELIG-GROUP");
    }

    #[test]
    fn industry_key_industries_are_nine() {
        assert_eq!(Industry::ALL.len(), 10);
        assert_eq!(Industry::ALL.iter().filter(|i| i.is_key()).count(), 9);
        assert_eq!(Industry::parse("大健康").expect("zh"), Industry::HealthCare);
        assert_eq!(Industry::parse("x").expect_err("none").rule, "INDUSTRY");
        assert_eq!(serde_json::to_string(&Industry::GreenEnergy).expect("ser"), "\"GREEN_ENERGY\"");
    }
}
