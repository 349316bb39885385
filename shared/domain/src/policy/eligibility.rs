//! Trainee eligibility (培训对象资格, 四, 三(一)(二), 七(三)): PERSON-ID and the ELIG-* rules.
//!
//! Each rule is a named function returning a [`RuleResult`]; [`judge_trainee`] runs them all so
//! the decision lists every reason, not only the first, and says which target group the trainee
//! is judged in (ELIG-GROUP) and whether they are a 培训对象 at all (OUT-RATE counts only those).
//! Under `rules_edition` 2 the rules read as POLICY.md v2: ELIG-AGE counted to the day with the
//! 2025 retirement reform, ELIG-LOCAL, the group chosen by precedence, ELIG-OVERLAP against
//! classes filed earlier, ELIG-PREHIRE with its key-project conditions.

use chrono::NaiveDate;

use crate::policy::decision::{Decision, Discloses, RuleResult};
use crate::policy::facts::{ClassFacts, KeyProject, TraineeFacts};
use crate::policy::set::PolicySet;
use crate::{IdNumber, OccupationCode, SkillLevel, TargetGroup, add_months};

/// PERSON-ID: the recorded number is a valid resident ID number.
pub fn person_id(raw: &str) -> (RuleResult, Option<IdNumber>) {
    match IdNumber::parse(raw) {
        Ok(id) => (RuleResult::pass("PERSON-ID", "身份证号码有效", "the id number is valid"), Some(id)),
        Err(e) => {
            (RuleResult::fail("PERSON-ID", "身份证号码无效", format!("the id number is invalid: {}", e.reason)), None)
        }
    }
}

/// Completed months between `birth` and `date`: a month is complete on the same day of month,
/// as [`IdNumber::age_on`] counts years.
fn completed_months(birth: NaiveDate, date: NaiveDate) -> u32 {
    use chrono::Datelike;
    if date < birth {
        return 0;
    }
    let mut months = (date.year() - birth.year()) * 12 + date.month() as i32 - birth.month() as i32;
    if date.day() < birth.day() {
        months -= 1;
    }
    u32::try_from(months).unwrap_or(0)
}

/// An age of `months` months as "60岁3个月" and "60 years 3 months".
fn age_text(months: u32) -> (String, String) {
    match months % 12 {
        0 => (format!("{}岁", months / 12), format!("{} years", months / 12)),
        m => (format!("{}岁{m}个月", months / 12), format!("{} years {m} months", months / 12)),
    }
}

/// ELIG-AGE: on the class's first day the trainee is at least `min_age` and below the
/// retirement age for their sex and birth cohort. Under edition 2 both are counted to the day
/// (DATE-MONTHS): the trainee is `min_age` from the date that many years after birth, and of
/// working age while the date the retirement age is reached is later than the first day.
pub fn elig_age(policy: &PolicySet, id: Option<&IdNumber>, first_day: NaiveDate) -> RuleResult {
    let Some(id) = id else {
        return RuleResult::fail(
            "ELIG-AGE",
            "身份证号码无效,无法判断年龄",
            "age cannot be judged without a valid id number",
        );
    };
    if policy.v2_rules() {
        return elig_age_to_the_day(policy, id, first_day);
    }
    let age = id.age_on(first_day);
    if age < policy.min_age {
        return RuleResult::fail(
            "ELIG-AGE",
            format!("开班首日{first_day}未满{}周岁(实际{age}周岁)", policy.min_age),
            format!("under {} on the first day {first_day} (age {age})", policy.min_age),
        );
    }
    let Some(retire) = policy.retirement_age_months(id.sex(), id.birth_date()) else {
        return RuleResult::fail(
            "ELIG-AGE",
            "政策参数未规定该出生人群的退休年龄",
            "the policy set has no retirement age for this birth cohort",
        );
    };
    if completed_months(id.birth_date(), first_day) >= retire {
        return RuleResult::fail(
            "ELIG-AGE",
            format!("开班首日{first_day}已达法定退休年龄"),
            format!("at or above the retirement age on the first day {first_day}"),
        );
    }
    RuleResult::pass(
        "ELIG-AGE",
        format!("开班首日{age}周岁,处于劳动年龄内"),
        format!("aged {age} on the first day, of working age"),
    )
}

/// ELIG-AGE under edition 2: the 2025 retirement reform by birth month, counted to the day.
fn elig_age_to_the_day(policy: &PolicySet, id: &IdNumber, first_day: NaiveDate) -> RuleResult {
    let birth = id.birth_date();
    let adult_on = add_months(birth, policy.min_age * 12);
    let age = id.age_on(first_day);
    if first_day < adult_on {
        return RuleResult::fail(
            "ELIG-AGE",
            format!("开班首日{first_day}未满{}周岁({adult_on}满{}周岁)", policy.min_age, policy.min_age),
            format!("under {} on the first day {first_day} (turns {} on {adult_on})", policy.min_age, policy.min_age),
        )
        .withholding(
            Discloses::BirthDate,
            format!("开班首日{first_day}未满{}周岁", policy.min_age),
            format!("under {} on the first day {first_day}", policy.min_age),
        );
    }
    let (Some(months), Some(retires_on)) =
        (policy.retirement_age_months(id.sex(), birth), policy.retirement_date(id.sex(), birth))
    else {
        return RuleResult::fail(
            "ELIG-AGE",
            "政策参数未规定该出生人群的退休年龄",
            "the policy set has no retirement age for this birth cohort",
        );
    };
    let (age_zh, age_en) = age_text(months);
    // ELIG-AGE: the retirement age is reached on the date itself; working age needs it later.
    if retires_on <= first_day {
        return RuleResult::fail(
            "ELIG-AGE",
            format!("法定退休年龄{age_zh},已于{retires_on}达到,开班首日{first_day}不在劳动年龄内"),
            format!("the retirement age of {age_en} was reached on {retires_on}, not after the first day {first_day}"),
        )
        .withholding(
            Discloses::BirthDate,
            format!("开班首日{first_day}已达法定退休年龄,不在劳动年龄内"),
            format!("at or above the retirement age on the first day {first_day}"),
        );
    }
    RuleResult::pass(
        "ELIG-AGE",
        format!("开班首日{age}周岁,法定退休年龄{age_zh}({retires_on}达到),处于劳动年龄内"),
        format!("aged {age} on the first day; the retirement age of {age_en} is reached on {retires_on}"),
    )
    .withholding(
        Discloses::BirthDate,
        format!("开班首日{age}周岁,处于劳动年龄内"),
        format!("aged {age} on the first day, of working age"),
    )
}

/// ELIG-FISCAL: budget-paid personnel (财政供养人员) are never subsidised.
pub fn elig_fiscal(trainee: &TraineeFacts) -> RuleResult {
    if trainee.budget_paid {
        RuleResult::fail(
            "ELIG-FISCAL",
            "财政供养人员不享受培训补贴",
            "personnel paid from the public budget are excluded",
        )
    } else {
        RuleResult::pass("ELIG-FISCAL", "非财政供养人员", "not paid from the public budget")
    }
}

/// The hint an ID number's address code gives (ELIG-LOCAL): where the ID was first issued, in
/// 咸宁 when 4212xx, or 4223xx of the former 咸宁地区 (before 1998). Never proof, never a refusal.
fn local_hint(id: Option<&IdNumber>) -> (String, String) {
    let Some(code) = id.map(|i| &i.as_str()[..6]) else {
        return (String::new(), String::new());
    };
    if code.starts_with("4212") || code.starts_with("4223") {
        (format!(";身份证地址码{code}属咸宁,仅作提示"), format!("; the id address code {code} is of 咸宁, a hint only"))
    } else {
        (
            format!(";身份证地址码{code}不属咸宁,仅作提示"),
            format!("; the id address code {code} is not of 咸宁, a hint only"),
        )
    }
}

/// ELIG-LOCAL (edition 2): the trainee is a 我市 worker on a recorded basis the set accepts
/// (`local_bases`): 户籍, a residence permit, or an employer registered in 咸宁. The ID address
/// code is shown as a hint for the officer; it neither proves nor refuses. Under edition 1 the
/// rule is not in force and passes saying so.
pub fn elig_local(policy: &PolicySet, trainee: &TraineeFacts, id: Option<&IdNumber>) -> RuleResult {
    if let Some(passed) = policy.not_enforced("ELIG-LOCAL") {
        return passed;
    }
    let (hint_zh, hint_en) = local_hint(id);
    match &trainee.local_basis {
        Some(basis) if policy.local_bases.contains(&basis.kind) => {
            let evidence =
                if basis.evidence.trim().is_empty() { String::new() } else { format!("({})", basis.evidence) };
            RuleResult::pass(
                "ELIG-LOCAL",
                format!("我市劳动者:{}{evidence}{hint_zh}", basis.kind.name_zh()),
                format!("a worker of 咸宁 on the basis {}{evidence}{hint_en}", basis.kind.code()),
            )
        }
        Some(basis) => RuleResult::fail(
            "ELIG-LOCAL",
            format!("记录的依据{}不被本政策版本认可{hint_zh}", basis.kind.name_zh()),
            format!("the recorded basis {} is not accepted by this policy set{hint_en}", basis.kind.code()),
        ),
        None => RuleResult::fail(
            "ELIG-LOCAL",
            format!("未记录我市劳动者依据(咸宁户籍、居住证或在咸宁注册的用人单位){hint_zh}"),
            format!(
                "no basis recorded for a worker of 咸宁 (household registration, residence permit or a local employer){hint_en}"
            ),
        ),
    }
}

/// ELIG-GROUP (edition 1): the trainee has one of the plan's ten target groups (the type
/// guarantees it; the result records which).
pub fn elig_group(group: TargetGroup) -> RuleResult {
    RuleResult::pass(
        "ELIG-GROUP",
        format!("培训对象类别:{}", group.name_zh()),
        format!("target group {}", group.code()),
    )
}

/// ELIG-PREHIRE's conditions on the project (三(一), edition 2): a manufacturing project in a
/// city or county key-project library, and a class that starts before its expected production
/// date. `Err` says which one fails.
pub fn prehire_conditions(key_project: Option<&KeyProject>, class: &ClassFacts) -> Result<(), (String, String)> {
    let Some(project) = key_project else {
        return Err(("未登记重点项目".to_owned(), "no key project is recorded".to_owned()));
    };
    if project.library.is_none() {
        return Err((
            format!("{}的项目未纳入重点项目建设库", project.enterprise),
            format!("the project of {} is in no key-project library", project.enterprise),
        ));
    }
    if !project.manufacturing {
        return Err((
            format!("{}的项目不是生产制造类项目", project.enterprise),
            format!("the project of {} is not a manufacturing project", project.enterprise),
        ));
    }
    if class.first_day >= project.expected_production_on {
        return Err((
            format!("开班首日{}不早于预计投产日期{}", class.first_day, project.expected_production_on),
            format!(
                "the first day {} is not before the expected production date {}",
                class.first_day, project.expected_production_on
            ),
        ));
    }
    Ok(())
}

/// Whether the trainee's records support `group` (ELIG-GROUP, edition 2).
fn supports(trainee: &TraineeFacts, class: &ClassFacts, key_project: Option<&KeyProject>, group: TargetGroup) -> bool {
    match group {
        // Chosen when the class is filed under ELIG-PREHIRE and the project meets its conditions.
        TargetGroup::ProjectEnterpriseRecruit => class.prehire && prehire_conditions(key_project, class).is_ok(),
        // Chosen when a labour contract is in force on the first day (or the roster records it).
        TargetGroup::InServiceWorker => trainee.employed_on_first_day || trainee.group == TargetGroup::InServiceWorker,
        // 其他符合条件人员 is what every eligible trainee is at least.
        TargetGroup::OtherEligible => true,
        g => trainee.group == g || trainee.supported_groups.contains(&g),
    }
}

/// ELIG-GROUP (edition 2): the one group a trainee is judged in, chosen by `group_precedence`:
/// 项目企业拟招聘对象 when the class is filed under ELIG-PREHIRE and the project meets its
/// conditions, 在岗职工 when a labour contract is in force on the first day, otherwise the first
/// listed group the records support. The group fixes PROJ-BASIS and SUBS-FUND. Under edition 1
/// (no precedence) the recorded group is the group.
pub fn elig_group_in(
    policy: &PolicySet,
    trainee: &TraineeFacts,
    class: &ClassFacts,
    key_project: Option<&KeyProject>,
) -> (RuleResult, TargetGroup) {
    if policy.group_precedence.is_empty() {
        return (elig_group(trainee.group), trainee.group);
    }
    let chosen = policy
        .group_precedence
        .iter()
        .copied()
        .find(|g| supports(trainee, class, key_project, *g))
        .unwrap_or(TargetGroup::OtherEligible);
    let basis = policy.basis_for(chosen);
    let (basis_zh, basis_en) = match basis {
        crate::policy::outcome::Basis::Certificate => ("按取证率评估", "judged by the certificate rate"),
        crate::policy::outcome::Basis::Employment => ("按就业率评估", "judged by the employment rate"),
    };
    let fund = policy.fund_for(chosen);
    let (recorded_zh, recorded_en) = if chosen == trainee.group {
        (String::new(), String::new())
    } else {
        (format!(",记录的类别为{}", trainee.group.name_zh()), format!("; recorded as {}", trainee.group.code()))
    };
    (
        RuleResult::pass(
            "ELIG-GROUP",
            format!(
                "培训对象类别:{}(按优先顺序认定{recorded_zh}),{basis_zh},从{}列支",
                chosen.name_zh(),
                fund.name_zh()
            ),
            format!("target group {} by precedence{recorded_en}: {basis_en}, paid from {}", chosen.code(), fund.code()),
        ),
        chosen,
    )
}

/// ELIG-OVERLAP as told to those who may not learn another provider's classes (a provider):
/// that there is an overlapping class filed earlier, without its dates or provider.
const OVERLAP_WITHHELD_ZH: &str =
    "已在时间重叠、先于本班备案的其他班次名单中,一人只算一名学员(详情请向县级人社部门了解)";
const OVERLAP_WITHHELD_EN: &str =
    "already on an overlapping class filed earlier: one person is one trainee (the county bureau has the details)";

/// ELIG-OVERLAP: the person is on no other class whose dates overlap this one. Under edition 2
/// only a class filed earlier stops them (the class filed first keeps the person); another
/// class whose filing date is unknown, or this class's, counts as filed earlier.
pub fn elig_overlap(trainee: &TraineeFacts, class: &ClassFacts) -> RuleResult {
    let clash = trainee.other_classes.iter().find(|o| o.from <= class.last_day && class.first_day <= o.to);
    match clash {
        Some(o) => RuleResult::fail(
            "ELIG-OVERLAP",
            format!("同时在{}至{}的其他班次名单中", o.from, o.to),
            format!("also on another class from {} to {}", o.from, o.to),
        )
        .withholding(
            Discloses::OtherClass,
            "同时在时间重叠的其他班次名单中(详情请向县级人社部门了解)",
            "also on another class of overlapping dates (the county bureau has the details)",
        ),
        None => RuleResult::pass("ELIG-OVERLAP", "无时间重叠的其他班次", "no overlapping class"),
    }
}

/// ELIG-OVERLAP under `policy`: [`elig_overlap`] for edition 1; for edition 2 only an
/// overlapping class filed on or before this one's filing day stops the trainee.
pub fn elig_overlap_in(policy: &PolicySet, trainee: &TraineeFacts, class: &ClassFacts) -> RuleResult {
    if !policy.v2_rules() {
        return elig_overlap(trainee, class);
    }
    let earlier = |filed: Option<NaiveDate>| match (filed, class.filed_on) {
        (Some(other), Some(this)) => other <= this,
        _ => true,
    };
    let clash = trainee
        .other_classes
        .iter()
        .find(|o| o.from <= class.last_day && class.first_day <= o.to && earlier(o.filed_on));
    match clash {
        Some(o) => {
            let filed = o.filed_on.map_or_else(|| "备案日期不明".to_owned(), |f| format!("{f}备案"));
            let filed_en = o.filed_on.map_or_else(|| "filed on an unknown day".to_owned(), |f| format!("filed {f}"));
            RuleResult::fail(
                "ELIG-OVERLAP",
                format!("已在{}至{}的其他班次名单中({filed},先于本班),一人只算一名学员", o.from, o.to),
                format!(
                    "already on another class from {} to {} ({filed_en}, first): one person is one trainee",
                    o.from, o.to
                ),
            )
            .withholding(Discloses::OtherClass, OVERLAP_WITHHELD_ZH, OVERLAP_WITHHELD_EN)
        }
        None => RuleResult::pass(
            "ELIG-OVERLAP",
            "无先于本班备案且时间重叠的其他班次",
            "no overlapping class filed before this one",
        ),
    }
}

/// ELIG-ONCE: not subsidised before for the same occupation and level.
pub fn elig_once(
    policy: &PolicySet,
    trainee: &TraineeFacts,
    occupation: &OccupationCode,
    level: SkillLevel,
) -> RuleResult {
    let before = trainee.prior_subsidies.iter().any(|p| &p.occupation == occupation && p.level == level);
    if policy.once_per_occupation_level && before {
        RuleResult::fail(
            "ELIG-ONCE",
            format!("已享受过{occupation}{}培训补贴", level.name_zh()),
            format!("already subsidised for {occupation} {}", level.code()),
        )
    } else {
        RuleResult::pass(
            "ELIG-ONCE",
            "未重复享受同职业同等级补贴",
            "not subsidised before for this occupation and level",
        )
    }
}

/// ELIG-REALNAME: on the real-name roster, added no later than
/// `roster_change_days_after_start` days into the class (0: before the first day).
pub fn elig_realname(policy: &PolicySet, trainee: &TraineeFacts, class: &ClassFacts) -> RuleResult {
    let Some(added) = trainee.roster_added_on else {
        return RuleResult::fail(
            "ELIG-REALNAME",
            "未纳入实名制花名册(凡补必进、不进不补)",
            "not on the real-name roster",
        );
    };
    let deadline = class
        .first_day
        .checked_add_days(chrono::Days::new(u64::from(policy.roster_change_days_after_start)))
        .unwrap_or(NaiveDate::MAX);
    // With 0 days nobody may be added on or after the first day: the class has started.
    if added >= deadline {
        return RuleResult::fail(
            "ELIG-REALNAME",
            format!("{added}开班后才加入花名册"),
            format!("added to the roster on {added}, after the class started"),
        );
    }
    RuleResult::pass("ELIG-REALNAME", "在实名制花名册内", "on the real-name roster")
}

/// ELIG-PREHIRE (edition 1): a pre-hire trainee (项目企业拟招聘对象) counts only once a labour
/// contract is signed, on or before `as_of`.
pub fn elig_prehire(trainee: &TraineeFacts, as_of: NaiveDate) -> RuleResult {
    if trainee.group != TargetGroup::ProjectEnterpriseRecruit {
        return RuleResult::pass("ELIG-PREHIRE", "非项目企业拟招聘对象", "not a pre-hire trainee");
    }
    match trainee.contract_signed_on {
        Some(signed) if signed <= as_of => RuleResult::pass(
            "ELIG-PREHIRE",
            format!("已于{signed}签订劳动合同"),
            format!("labour contract signed on {signed}"),
        ),
        _ => RuleResult::fail(
            "ELIG-PREHIRE",
            "项目企业拟招聘对象尚未签订劳动合同",
            "pre-hire trainee without a signed labour contract",
        ),
    }
}

/// ELIG-PREHIRE under `policy`. Edition 1: [`elig_prehire`] on the recorded group. Edition 2:
/// a trainee judged as 项目企业拟招聘对象 (`group`, from [`elig_group_in`]) is trained and judged
/// as an in-service worker (certificate rate, skill-upgrade account) and is subsidised only once a
/// labour contract is signed, on or before the claim's filing day `as_of` (training before the
/// contract counts); a trainee of a pre-hire class whose project fails the conditions
/// ([`prehire_conditions`]) is not stopped but takes the next group.
pub fn elig_prehire_in(
    policy: &PolicySet,
    trainee: &TraineeFacts,
    group: TargetGroup,
    class: &ClassFacts,
    key_project: Option<&KeyProject>,
    as_of: NaiveDate,
) -> RuleResult {
    if !policy.v2_rules() {
        return elig_prehire(trainee, as_of);
    }
    if group != TargetGroup::ProjectEnterpriseRecruit {
        return match (class.prehire, prehire_conditions(key_project, class)) {
            (true, Err((zh, en))) => RuleResult::pass(
                "ELIG-PREHIRE",
                format!("班次按项目企业拟招聘对象备案,但{zh},按{}认定", group.name_zh()),
                format!("a pre-hire class, but {en}: judged as {}", group.code()),
            ),
            (false, _) if trainee.group == TargetGroup::ProjectEnterpriseRecruit => RuleResult::pass(
                "ELIG-PREHIRE",
                format!("记录为项目企业拟招聘对象,但班次未按项目企业拟招聘对象备案,按{}认定", group.name_zh()),
                format!(
                    "recorded as pre-hire, but the class was not filed as a pre-hire class: judged as {}",
                    group.code()
                ),
            ),
            _ => RuleResult::pass("ELIG-PREHIRE", "非项目企业拟招聘对象", "not a pre-hire trainee"),
        };
    }
    let production = key_project.map_or_else(String::new, |p| p.expected_production_on.to_string());
    match trainee.contract_signed_on {
        Some(signed) if signed <= as_of => RuleResult::pass(
            "ELIG-PREHIRE",
            format!("重点项目预计{production}投产,开班早于投产;已于{signed}签订劳动合同,按在岗职工政策认定"),
            format!(
                "key project expected in production on {production}, class before it; labour contract signed on \
                 {signed}: judged as an in-service worker"
            ),
        ),
        Some(signed) => RuleResult::fail(
            "ELIG-PREHIRE",
            format!("劳动合同{signed}签订,晚于补贴申请日{as_of}"),
            format!("the labour contract was signed on {signed}, after the claim was filed on {as_of}"),
        ),
        None => RuleResult::fail(
            "ELIG-PREHIRE",
            "项目企业拟招聘对象尚未签订劳动合同,签订后方可申请补贴",
            "pre-hire trainee without a signed labour contract: subsidised only once hired",
        ),
    }
}

/// What [`judge_trainee`] needs to know besides the trainee.
#[derive(Debug, Clone, Copy)]
pub struct TraineeContext<'a> {
    /// The trainee's class.
    pub class: &'a ClassFacts,
    /// The project's occupation (ELIG-ONCE).
    pub occupation: &'a OccupationCode,
    /// The project's level (ELIG-ONCE).
    pub level: SkillLevel,
    /// The key project of a pre-hire class (ELIG-PREHIRE).
    pub key_project: Option<&'a KeyProject>,
    /// The day of the decision, the claim's filing day.
    pub as_of: NaiveDate,
}

/// What the eligibility rules found about a trainee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TraineeStanding {
    /// Every eligibility rule passed.
    pub eligible: bool,
    /// The group the trainee is judged in (ELIG-GROUP).
    pub group: TargetGroup,
    /// A 培训对象 of the plan: PERSON-ID, ELIG-AGE, ELIG-FISCAL and ELIG-LOCAL passed. Only they
    /// count in a rate (OUT-RATE, edition 2).
    pub plan_trainee: bool,
}

/// Run every eligibility rule for one trainee of one class: the decision lists each rule and its
/// outcome says whether all passed, the trainee's group and whether they are a 培训对象.
pub fn judge_trainee(
    policy: &PolicySet,
    ctx: &TraineeContext<'_>,
    trainee: &TraineeFacts,
) -> Decision<TraineeStanding> {
    let class = ctx.class;
    let (id_rule, id) = person_id(&trainee.id_number);
    let (group_rule, group) = elig_group_in(policy, trainee, class, ctx.key_project);
    let mut rules = vec![
        id_rule,
        elig_realname(policy, trainee, class),
        elig_age(policy, id.as_ref(), class.first_day),
        elig_fiscal(trainee),
    ];
    if policy.enforces("ELIG-LOCAL") {
        rules.push(elig_local(policy, trainee, id.as_ref()));
    }
    rules.push(group_rule);
    rules.push(elig_overlap_in(policy, trainee, class));
    rules.push(elig_once(policy, trainee, ctx.occupation, ctx.level));
    rules.push(elig_prehire_in(policy, trainee, group, class, ctx.key_project, ctx.as_of));
    let plan_trainee = ["PERSON-ID", "ELIG-AGE", "ELIG-FISCAL", "ELIG-LOCAL"]
        .iter()
        .all(|code| rules.iter().filter(|r| r.code == *code).all(|r| r.passed));
    let standing = TraineeStanding { eligible: rules.iter().all(|r| r.passed), group, plan_trainee };
    Decision { outcome: standing, policy_version: policy.version.clone(), rules }
}

/// Run every eligibility rule for one trainee of one class; the outcome is whether all passed.
/// `as_of` is the day of the decision (the claim's filing date). [`judge_trainee`] also says the
/// trainee's group and takes the key project of a pre-hire class.
pub fn evaluate_trainee_eligibility(
    policy: &PolicySet,
    class: &ClassFacts,
    occupation: &OccupationCode,
    level: SkillLevel,
    trainee: &TraineeFacts,
    as_of: NaiveDate,
) -> Decision<bool> {
    let ctx = TraineeContext { class, occupation, level, key_project: None, as_of };
    let decision = judge_trainee(policy, &ctx, trainee);
    Decision { outcome: decision.outcome.eligible, policy_version: decision.policy_version, rules: decision.rules }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RegionCode;
    use crate::policy::facts::{DateRange, PriorSubsidy};

    pub(crate) fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn id_for(birth: &str, seq: &str) -> String {
        let first17 = format!("421202{birth}{seq}");
        let c = crate::id_number::check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    fn class() -> ClassFacts {
        ClassFacts {
            id: "C1".to_owned(),
            region: RegionCode::Xianan,
            first_day: d(2025, 9, 1),
            last_day: d(2025, 9, 30),
            hours: 100,
            filed_on: None,
            prehire: false,
        }
    }

    fn trainee(id: String) -> TraineeFacts {
        TraineeFacts {
            name: "张三".to_owned(),
            id_number: id,
            group: TargetGroup::RuralMigrant,
            budget_paid: false,
            roster_added_on: Some(d(2025, 8, 30)),
            other_classes: vec![],
            prior_subsidies: vec![],
            contract_signed_on: None,
            local_basis: None,
            supported_groups: vec![],
            employed_on_first_day: false,
        }
    }

    fn occ() -> OccupationCode {
        OccupationCode::parse("4-10-01-05").expect("code")
    }

    fn eval(t: &TraineeFacts) -> Decision<bool> {
        let policy = PolicySet::xianning_2025_5_v1();
        evaluate_trainee_eligibility(&policy, &class(), &occ(), SkillLevel::Level4, t, d(2026, 3, 1))
    }

    #[test]
    fn elig_age_16th_birthday_on_first_day() {
        let t = trainee(id_for("20090901", "123"));
        let dec = eval(&t);
        assert!(dec.rule("ELIG-AGE").expect("evaluated").passed);
        assert!(dec.outcome);
    }

    #[test]
    fn elig_age_16th_birthday_day_after_first_day() {
        let t = trainee(id_for("20090902", "123"));
        let dec = eval(&t);
        assert!(!dec.rule("ELIG-AGE").expect("evaluated").passed);
        assert!(!dec.outcome);
    }

    #[test]
    fn elig_age_retirement_male_60_female_55() {
        let policy = PolicySet::xianning_2025_5_v1();
        let first = d(2025, 9, 1);
        // 17th digit odd = male; born 1965-09-01 turns 60 on the first day: too old.
        let male60 = IdNumber::parse(&id_for("19650901", "013")).expect("id");
        assert!(!elig_age(&policy, Some(&male60), first).passed);
        let male59 = IdNumber::parse(&id_for("19650902", "013")).expect("id");
        assert!(elig_age(&policy, Some(&male59), first).passed);
        let female55 = IdNumber::parse(&id_for("19700901", "024")).expect("id");
        assert!(!elig_age(&policy, Some(&female55), first).passed);
        let female54 = IdNumber::parse(&id_for("19700902", "024")).expect("id");
        assert!(elig_age(&policy, Some(&female54), first).passed);
    }

    #[test]
    fn elig_age_retirement_by_cohort_months() {
        let mut policy = PolicySet::xianning_2025_5_v1();
        policy.retirement_ages.insert(
            0,
            crate::policy::set::RetirementAge {
                sex: crate::Sex::Male,
                born_from: Some(d(1965, 1, 1)),
                born_to: Some(d(1965, 12, 31)),
                years: 60,
                months: 3,
            },
        );
        let male = IdNumber::parse(&id_for("19650901", "013")).expect("id");
        assert!(elig_age(&policy, Some(&male), d(2025, 9, 1)).passed);
        assert!(elig_age(&policy, Some(&male), d(2025, 11, 30)).passed);
        assert!(!elig_age(&policy, Some(&male), d(2025, 12, 1)).passed);
    }

    #[test]
    fn person_id_invalid_stops_age_too() {
        let t = trainee("421202200909011230".to_owned());
        let dec = eval(&t);
        assert!(!dec.rule("PERSON-ID").expect("evaluated").passed);
        assert!(!dec.rule("ELIG-AGE").expect("evaluated").passed);
    }

    #[test]
    fn elig_fiscal_budget_paid_refused() {
        let mut t = trainee(id_for("19900101", "123"));
        t.budget_paid = true;
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-FISCAL");
    }

    #[test]
    fn elig_group_is_recorded() {
        let t = trainee(id_for("19900101", "123"));
        assert!(eval(&t).rule("ELIG-GROUP").expect("evaluated").reason_zh.contains("农村转移就业劳动者"));
    }

    #[test]
    fn reasons_that_disclose_another_class_or_a_birth_date_carry_a_form_without_it() {
        let mut t = trainee(id_for("19900101", "123"));
        t.other_classes = vec![DateRange { from: d(2025, 9, 30), to: d(2025, 10, 15), filed_on: None }];
        let overlap = eval(&t).rule("ELIG-OVERLAP").expect("evaluated").clone();
        assert!(overlap.reason_zh.contains("2025-09-30"), "officers read the dates: {overlap:?}");
        let withheld = overlap.shown(|_| false);
        assert!(!withheld.passed && withheld.withheld.is_none());
        assert!(!withheld.reason_zh.contains("2025") && !withheld.reason_en.contains("2025"), "{withheld:?}");
        assert_eq!(overlap.shown(|d| d == Discloses::OtherClass), overlap);

        // Edition 2 counts age to the day and names the dates (edition 1 names none).
        let v2 = PolicySet::xianning_2025_5_v2();
        let first_day = d(2025, 10, 1);
        let adult = IdNumber::parse(&id_for("19900101", "123")).expect("id");
        let age = elig_age(&v2, Some(&adult), first_day);
        assert_eq!(age.withheld.as_ref().map(|w| w.discloses), Some(Discloses::BirthDate));
        assert!(age.reason_en.contains("is reached on 20"), "the full reason names the retirement date: {age:?}");
        let masked = age.shown(|d| d != Discloses::BirthDate);
        assert!(masked.passed && !masked.reason_en.contains('-') && !masked.reason_zh.contains('-'), "{masked:?}");
        let young = IdNumber::parse(&id_for("20100101", "123")).expect("id");
        let refused = elig_age(&v2, Some(&young), first_day);
        assert!(!refused.passed && refused.reason_en.contains("2026-01-01"), "{refused:?}");
        let refused = refused.shown(|_| false);
        assert!(!refused.passed && !refused.reason_en.contains("2026-01-01"), "{refused:?}");
        let old = IdNumber::parse(&id_for("19550101", "123")).expect("id");
        let retired = elig_age(&v2, Some(&old), first_day).shown(|_| false);
        assert!(
            !retired.passed && !retired.reason_en.contains("2015") && !retired.reason_zh.contains("2015"),
            "{retired:?}"
        );
        assert!(eval(&t).rule("ELIG-FISCAL").expect("evaluated").withheld.is_none(), "nothing to withhold");
    }

    #[test]
    fn elig_overlap_touching_last_day_refused_day_after_allowed() {
        let mut t = trainee(id_for("19900101", "123"));
        t.other_classes = vec![DateRange { from: d(2025, 9, 30), to: d(2025, 10, 15), filed_on: None }];
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-OVERLAP");
        t.other_classes = vec![DateRange { from: d(2025, 10, 1), to: d(2025, 10, 15), filed_on: None }];
        assert!(eval(&t).outcome);
    }

    #[test]
    fn elig_once_same_occupation_and_level_refused() {
        let mut t = trainee(id_for("19900101", "123"));
        t.prior_subsidies = vec![PriorSubsidy { occupation: occ(), level: SkillLevel::Level4 }];
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-ONCE");
        t.prior_subsidies = vec![PriorSubsidy { occupation: occ(), level: SkillLevel::Level3 }];
        assert!(eval(&t).outcome);
    }

    #[test]
    fn elig_realname_added_on_first_day_refused_day_before_allowed() {
        let mut t = trainee(id_for("19900101", "123"));
        t.roster_added_on = Some(d(2025, 8, 31));
        assert!(eval(&t).outcome);
        t.roster_added_on = Some(d(2025, 9, 1));
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-REALNAME");
        t.roster_added_on = None;
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-REALNAME");
    }

    #[test]
    fn elig_realname_parameter_allows_days_after_start() {
        let mut policy = PolicySet::xianning_2025_5_v1();
        policy.roster_change_days_after_start = 2;
        let mut t = trainee(id_for("19900101", "123"));
        t.roster_added_on = Some(d(2025, 9, 2));
        assert!(elig_realname(&policy, &t, &class()).passed);
        t.roster_added_on = Some(d(2025, 9, 3));
        assert!(!elig_realname(&policy, &t, &class()).passed);
    }

    #[test]
    fn elig_prehire_needs_signed_contract() {
        let mut t = trainee(id_for("19900101", "123"));
        t.group = TargetGroup::ProjectEnterpriseRecruit;
        assert_eq!(eval(&t).first_failure().expect("fails").code, "ELIG-PREHIRE");
        t.contract_signed_on = Some(d(2025, 10, 10));
        assert!(eval(&t).outcome);
        t.contract_signed_on = Some(d(2026, 3, 2));
        assert!(!eval(&t).outcome);
    }
}
