//! Facts the rules are evaluated over: classes (班次), trainees (学员) and their evidence.
//!
//! Facts are what handlers gather from storage (or what a replay file states). They hold raw
//! identity strings where a rule must be able to refuse them (PERSON-ID) and domain values
//! everywhere else.

use chrono::{Datelike, NaiveDate};

use crate::{Money, OccupationCode, RegionCode, SkillLevel, TargetGroup, ValueError};

/// A calendar month (`2025-09`), the unit of insurance, wages, operation and payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    /// The year.
    pub year: i32,
    /// The month, 1–12.
    pub month: u32,
}

impl YearMonth {
    /// Parse `YYYY-MM`.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let s = raw.trim();
        let err = || ValueError::new("DATE", format!("{} is not a month yyyy-mm", crate::quote(s)));
        let (y, m) = s.split_once('-').ok_or_else(err)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(err());
        }
        let year: i32 = y.parse().map_err(|_| err())?;
        let month: u32 = m.parse().map_err(|_| err())?;
        if !(1..=12).contains(&month) {
            return Err(err());
        }
        Ok(Self { year, month })
    }

    /// The month containing `date`.
    pub fn of(date: NaiveDate) -> Self {
        Self { year: date.year(), month: date.month() }
    }

    /// The first day of the month.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day of the month.
    pub fn last_day(self) -> NaiveDate {
        crate::add_months(self.first_day(), 1).pred_opt().unwrap_or(NaiveDate::MAX)
    }

    /// Whether the month overlaps the inclusive period `[from, to]` (OUT-MONTHS).
    pub fn overlaps(self, from: NaiveDate, to: NaiveDate) -> bool {
        self.first_day() <= to && from <= self.last_day()
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl serde::Serialize for YearMonth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for YearMonth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        YearMonth::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The kind of record that makes a trainee a 我市 worker (ELIG-LOCAL, 四 "我市劳动年龄段内…劳动者").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LocalBasisKind {
    /// 户籍 in 咸宁, from the 户口簿 or a department's data exchange.
    HouseholdRegistration,
    /// A 咸宁 residence permit (居住证).
    ResidencePermit,
    /// An employer registered in 咸宁 (用人单位).
    LocalEmployer,
    /// A key-project employer registered in 咸宁 (项目企业, ELIG-PREHIRE).
    KeyProjectEmployer,
}

impl LocalBasisKind {
    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            LocalBasisKind::HouseholdRegistration => "咸宁户籍",
            LocalBasisKind::ResidencePermit => "咸宁居住证",
            LocalBasisKind::LocalEmployer => "咸宁注册的用人单位",
            LocalBasisKind::KeyProjectEmployer => "咸宁注册的重点项目企业",
        }
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            LocalBasisKind::HouseholdRegistration => "HOUSEHOLD_REGISTRATION",
            LocalBasisKind::ResidencePermit => "RESIDENCE_PERMIT",
            LocalBasisKind::LocalEmployer => "LOCAL_EMPLOYER",
            LocalBasisKind::KeyProjectEmployer => "KEY_PROJECT_EMPLOYER",
        }
    }

    /// Every kind, in the order of POLICY.md.
    pub const ALL: [LocalBasisKind; 4] = [
        LocalBasisKind::HouseholdRegistration,
        LocalBasisKind::ResidencePermit,
        LocalBasisKind::LocalEmployer,
        LocalBasisKind::KeyProjectEmployer,
    ];
}

/// The one basis a roster entry records for a 我市 worker, ELIG-LOCAL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalBasis {
    /// What kind of record it is.
    pub kind: LocalBasisKind,
    /// Where it comes from: the document, or the data exchange and its reference.
    #[serde(default)]
    pub evidence: String,
}

/// A class (班次) as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassFacts {
    /// The class's identifier.
    pub id: String,
    /// The county the class runs in (its minimum wage applies, OUT-EMP-SERVICE).
    pub region: RegionCode,
    /// First day of training.
    pub first_day: NaiveDate,
    /// Last day of training.
    pub last_day: NaiveDate,
    /// Total class hours (学时), theory and practice.
    pub hours: u32,
    /// The day the class was filed (开班备案): of two overlapping classes of one person, the one
    /// filed first keeps them (ELIG-OVERLAP, OUT-RATE, edition 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filed_on: Option<NaiveDate>,
    /// The class was filed under ELIG-PREHIRE, for a key project's intended hires (三(一)).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub prehire: bool,
}

/// Where a key project (重点项目) stands, ELIG-PREHIRE (三(一)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyProjectLibrary {
    /// The city's key-project library (市重点项目建设库).
    City,
    /// A county's key-project library (县级重点项目建设库).
    County,
}

/// The enterprise project whose intended hires a pre-hire class trains, ELIG-PREHIRE.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyProject {
    /// The project enterprise (项目企业).
    pub enterprise: String,
    /// The key-project library it is in; absent if it is in none.
    #[serde(default)]
    pub library: Option<KeyProjectLibrary>,
    /// A manufacturing project (生产制造类项目).
    pub manufacturing: bool,
    /// The expected production date (预计投产日期).
    pub expected_production_on: NaiveDate,
}

/// An earlier subsidy a person received (ELIG-ONCE).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorSubsidy {
    /// Occupation subsidised.
    pub occupation: OccupationCode,
    /// Level subsidised.
    pub level: SkillLevel,
}

/// An inclusive date range (another class a person is on, ELIG-OVERLAP).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// The day that other class was filed; unknown counts as filed first (edition 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filed_on: Option<NaiveDate>,
}

/// A trainee (学员) and what the eligibility rules need to know about them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraineeFacts {
    /// The name (姓名), for the explanation.
    pub name: String,
    /// The resident ID number as recorded; PERSON-ID judges it.
    pub id_number: String,
    /// The target group (ELIG-GROUP).
    pub group: TargetGroup,
    /// Paid from the public budget (财政供养人员), ELIG-FISCAL.
    #[serde(default)]
    pub budget_paid: bool,
    /// The day the trainee was put on the real-name roster in the supervision system; absent if
    /// never (ELIG-REALNAME).
    #[serde(default)]
    pub roster_added_on: Option<NaiveDate>,
    /// Other classes the person is on the roster of (ELIG-OVERLAP).
    #[serde(default)]
    pub other_classes: Vec<DateRange>,
    /// Earlier subsidies (ELIG-ONCE).
    #[serde(default)]
    pub prior_subsidies: Vec<PriorSubsidy>,
    /// For a pre-hire trainee, the day the labour contract was signed (ELIG-PREHIRE).
    #[serde(default)]
    pub contract_signed_on: Option<NaiveDate>,
    /// The recorded basis on which the trainee is a 我市 worker (ELIG-LOCAL, edition 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_basis: Option<LocalBasis>,
    /// Other target groups the trainee's records support besides `group` (ELIG-GROUP, edition 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_groups: Vec<TargetGroup>,
    /// A labour contract was in force on the class's first day: an in-service worker (ELIG-GROUP,
    /// edition 2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub employed_on_first_day: bool,
}

/// Kind of certificate (证书), OUT-CERT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CertificateKind {
    /// 职业资格证书.
    VocationalQualification,
    /// 职业技能等级证书.
    SkillLevel,
    /// Any other certificate (training certificate, attendance): never counts.
    Other,
}

/// A certificate a trainee obtained.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Certificate {
    /// Kind of certificate.
    pub kind: CertificateKind,
    /// Certificate number.
    #[serde(default)]
    pub number: String,
    /// Occupation.
    pub occupation: OccupationCode,
    /// Level.
    pub level: SkillLevel,
    /// Issue date.
    pub issued_on: NaiveDate,
}

/// Kind of employment contract, OUT-EMP-CONTRACT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ContractKind {
    /// 劳动合同 (probation included).
    Labour,
    /// 实习或见习合同, counts only with accident insurance; under edition 2 its months count as
    /// employment time in place of insurance and wages.
    Internship,
}

/// A contract with an employer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmploymentContract {
    /// Employer (its credit code or name, matched against insurance and wages).
    pub employer: String,
    /// Kind of contract.
    pub kind: ContractKind,
    /// Signing date.
    pub signed_on: NaiveDate,
    /// For an internship: accident insurance is in place.
    #[serde(default)]
    pub accident_insurance: bool,
    /// The contract's last day; absent while it runs (an internship counts its months up to it,
    /// OUT-EMP-CONTRACT, edition 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_on: Option<NaiveDate>,
}

/// A month of social insurance or wages from one employer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmployerMonth {
    /// Employer.
    pub employer: String,
    /// The month.
    pub month: YearMonth,
}

/// A proof of real operation of a business for one month, OUT-EMP-BUSINESS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationProof {
    /// 经营收入合同.
    RevenueContract,
    /// 银行账户流水.
    BankFlow,
    /// 发票入账流水.
    Invoice,
    /// 税收上缴.
    TaxPaid,
    /// 为员工缴纳社保.
    StaffInsurance,
    /// 融资.
    Financing,
}

/// A month of operation with its proof.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationMonth {
    /// The month.
    pub month: YearMonth,
    /// The proof.
    pub proof: OperationProof,
}

/// A business (工商) or private non-enterprise (民非) registration, OUT-EMP-BUSINESS.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessRegistration {
    /// Registration date.
    pub registered_on: NaiveDate,
    /// The trainee is the legal representative (法人).
    pub legal_representative_is_trainee: bool,
    /// Months of operation with proofs.
    #[serde(default)]
    pub operation: Vec<OperationMonth>,
}

/// The route of a service-style employment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceRoute {
    /// Route ③: a labour-service agreement (劳务协议), OUT-EMP-SERVICE.
    ServiceAgreement,
    /// Route ④: an employment registration (就业登记), OUT-EMP-REGISTRATION.
    EmploymentRegistration,
    /// Route ④: an agency contract (中介服务合同), OUT-EMP-REGISTRATION.
    AgencyContract,
    /// Route ③: a match with an employer or a person made online or offline ("通过线上线下…对接"),
    /// OUT-EMP-SERVICE under edition 2.
    PlatformMatch,
}

/// How a payment was made, OUT-EMP-SERVICE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PaymentChannel {
    /// The employer's corporate account (对公账号).
    CorporateAccount,
    /// The person's bank account.
    Bank,
    /// Alipay.
    Alipay,
    /// WeChat.
    Wechat,
    /// Cash or anything else: never counts.
    Other,
}

/// A payment to the trainee.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payment {
    /// Payment date.
    pub paid_on: NaiveDate,
    /// Amount in fen.
    pub amount_fen: Money,
    /// Channel.
    pub channel: PaymentChannel,
    /// The months the payment's note (附言) names; empty means it pays for the month it was
    /// made in only.
    #[serde(default)]
    pub note_months: Vec<YearMonth>,
}

/// A service-style engagement (routes ③ and ④).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEngagement {
    /// Route.
    pub route: ServiceRoute,
    /// The employer or person served.
    pub counterparty: String,
    /// First day of service.
    pub start: NaiveDate,
    /// Last day of service.
    pub end: NaiveDate,
    /// Payments received.
    #[serde(default)]
    pub payments: Vec<Payment>,
    /// The county-level region where the work is done, whose minimum wage applies
    /// (OUT-EMP-SERVICE); absent: the class's county.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_region: Option<crate::policy::tables::WageRegion>,
}

/// The evidence of a trainee's outcome (七(四)).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeEvidence {
    /// The level the trainee held in the project's occupation before training, if any.
    #[serde(default)]
    pub prior_level: Option<SkillLevel>,
    /// Certificates obtained.
    #[serde(default)]
    pub certificates: Vec<Certificate>,
    /// Contracts.
    #[serde(default)]
    pub contracts: Vec<EmploymentContract>,
    /// Months of social insurance paid by an employer.
    #[serde(default)]
    pub insurance_months: Vec<EmployerMonth>,
    /// Months of wages from an employer (payroll, or its legal representative or finance staff).
    #[serde(default)]
    pub wage_months: Vec<EmployerMonth>,
    /// Business registrations.
    #[serde(default)]
    pub businesses: Vec<BusinessRegistration>,
    /// Service agreements, employment registrations, agency contracts.
    #[serde(default)]
    pub services: Vec<ServiceEngagement>,
}

/// What a trainee is judged by (PROJ-BASIS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Basis {
    /// 取证率: in-service workers.
    Certificate,
    /// 就业率: everyone else.
    Employment,
}

impl Basis {
    /// The Chinese name of the rate of this basis.
    pub fn rate_name_zh(self) -> &'static str {
        match self {
            Basis::Certificate => "取证率",
            Basis::Employment => "就业率",
        }
    }

    /// The English name of the rate of this basis.
    pub fn rate_name_en(self) -> &'static str {
        match self {
            Basis::Certificate => "certificate rate",
            Basis::Employment => "employment rate",
        }
    }
}
