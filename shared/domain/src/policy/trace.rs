//! The trace of the process (全程留痕, 八(三)): SUBS-KEEP.
//!
//! Every step of the process, from project approval to recovery, is recorded with who took it,
//! when, what it was and concerned, under which policy-set version, and with which evidence.
//! This module judges whether a recorded step is complete; storing the steps is the services'
//! part.

use chrono::{DateTime, FixedOffset};

use crate::policy::decision::RuleResult;

/// A step of the process (经办环节) that leaves a trace, SUBS-KEEP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StepKind {
    /// 立项审批: a project approved or refused.
    ProjectApproval,
    /// 开班审核: a class filing checked (CLASS-FILING).
    ClassFiling,
    /// 培训监管: an inspection recorded (CLASS-INSPECTION).
    Inspection,
    /// 补贴申报: a claim filed (附件4, SUBS-DEADLINE).
    ClaimFiling,
    /// 审核: a claim reviewed.
    Review,
    /// 审批: a claim approved (SUBS-SOD).
    Approval,
    /// 公示: a decision put on public notice (SUBS-NOTICE).
    Notice,
    /// 拨付: a payment made (SUBS-PAY).
    Payment,
    /// 追回: money recovered (SUBS-RECOVER).
    Recovery,
}

impl StepKind {
    /// The Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            StepKind::ProjectApproval => "立项审批",
            StepKind::ClassFiling => "开班审核",
            StepKind::Inspection => "培训监管",
            StepKind::ClaimFiling => "补贴申报",
            StepKind::Review => "审核",
            StepKind::Approval => "审批",
            StepKind::Notice => "公示",
            StepKind::Payment => "拨付",
            StepKind::Recovery => "追回",
        }
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            StepKind::ProjectApproval => "PROJECT_APPROVAL",
            StepKind::ClassFiling => "CLASS_FILING",
            StepKind::Inspection => "INSPECTION",
            StepKind::ClaimFiling => "CLAIM_FILING",
            StepKind::Review => "REVIEW",
            StepKind::Approval => "APPROVAL",
            StepKind::Notice => "NOTICE",
            StepKind::Payment => "PAYMENT",
            StepKind::Recovery => "RECOVERY",
        }
    }

    /// Whether the step must cite at least one piece of evidence (SUBS-KEEP): the steps where
    /// money is claimed, judged, paid or taken back.
    pub fn needs_evidence(self) -> bool {
        matches!(
            self,
            StepKind::ClaimFiling | StepKind::Review | StepKind::Approval | StepKind::Payment | StepKind::Recovery
        )
    }
}

/// A recorded step of the process (经办记录), SUBS-KEEP.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceStep {
    /// What kind of step it was.
    pub kind: StepKind,
    /// What it concerned: the project, class, claim or payment identifier.
    pub subject: String,
    /// Who took it: the officer or provider account.
    pub actor: String,
    /// When it was taken, with its offset (China Standard Time, DATE-TZ).
    #[serde(default)]
    pub at: Option<DateTime<FixedOffset>>,
    /// The policy-set version it was taken under (`xianning-2025-5/v1`).
    pub policy_version: String,
    /// References to the evidence (证明材料) it relied on: document or file identifiers.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// SUBS-KEEP: a recorded step is complete. Who, when and what are present; the policy-set
/// version is stated and one of `known_versions`; a step that needs evidence
/// ([`StepKind::needs_evidence`]) cites at least one non-blank reference.
pub fn subs_keep(step: &TraceStep, known_versions: &[&str]) -> RuleResult {
    let mut missing: Vec<(&str, &str)> = Vec::new();
    if step.actor.trim().is_empty() {
        missing.push(("经办人", "who"));
    }
    if step.at.is_none() {
        missing.push(("经办时间", "when"));
    }
    if step.subject.trim().is_empty() {
        missing.push(("经办对象", "what"));
    }
    if step.policy_version.trim().is_empty() {
        missing.push(("政策版本", "the policy version"));
    }
    // SUBS-KEEP: money moves only on evidence that can be shown to an auditor (八(三)).
    let cited = step.evidence.iter().filter(|e| !e.trim().is_empty()).count();
    if step.kind.needs_evidence() && cited == 0 {
        missing.push(("证明材料", "evidence"));
    }
    let kind_zh = step.kind.name_zh();
    let kind_en = step.kind.code();
    if !missing.is_empty() {
        return RuleResult::fail(
            "SUBS-KEEP",
            format!("{kind_zh}记录缺少:{}", missing.iter().map(|m| m.0).collect::<Vec<_>>().join("、")),
            format!("the {kind_en} record lacks {}", missing.iter().map(|m| m.1).collect::<Vec<_>>().join(", ")),
        );
    }
    let version = step.policy_version.trim();
    if !known_versions.contains(&version) {
        return RuleResult::fail(
            "SUBS-KEEP",
            format!("{kind_zh}记录的政策版本{version}不存在"),
            format!("the {kind_en} record names policy version {version}, which is not known"),
        );
    }
    RuleResult::pass(
        "SUBS-KEEP",
        format!("{kind_zh}记录完整(政策版本{version},证明材料{cited}项)"),
        format!("the {kind_en} record is complete (policy version {version}, {cited} evidence reference(s))"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::set::PolicySet;

    const KNOWN: &[&str] = &[PolicySet::XIANNING_2025_5_V1];

    fn step(kind: StepKind) -> TraceStep {
        TraceStep {
            kind,
            subject: "CLAIM-1".to_owned(),
            actor: "officer-1".to_owned(),
            at: Some(DateTime::parse_from_rfc3339("2026-03-30T10:15:00+08:00").expect("time")),
            policy_version: PolicySet::XIANNING_2025_5_V1.to_owned(),
            evidence: vec!["doc:annex-4/CLAIM-1".to_owned()],
        }
    }

    #[test]
    fn subs_keep_complete_step_passes() {
        let r = subs_keep(&step(StepKind::Approval), KNOWN);
        assert!(r.passed, "{r:?}");
        assert_eq!(r.code, "SUBS-KEEP");
    }

    #[test]
    fn subs_keep_missing_policy_version_fails() {
        let mut s = step(StepKind::Review);
        s.policy_version = " ".to_owned();
        let r = subs_keep(&s, KNOWN);
        assert!(!r.passed);
        assert!(r.reason_zh.contains("政策版本"));
        assert!(r.reason_en.contains("the policy version"));
    }

    #[test]
    fn subs_keep_unknown_policy_version_fails() {
        let mut s = step(StepKind::Payment);
        s.policy_version = "xianning-2025-5/v9".to_owned();
        let r = subs_keep(&s, KNOWN);
        assert!(!r.passed);
        assert!(r.reason_en.contains("v9"));
        assert!(subs_keep(&s, &[PolicySet::XIANNING_2025_5_V1, "xianning-2025-5/v9"]).passed);
    }

    #[test]
    fn subs_keep_missing_who_when_what_named() {
        let mut s = step(StepKind::Notice);
        s.actor = String::new();
        s.at = None;
        s.subject = String::new();
        let r = subs_keep(&s, KNOWN);
        assert!(!r.passed);
        assert_eq!(r.reason_en, "the NOTICE record lacks who, when, what");
        assert!(r.reason_zh.contains("经办人、经办时间、经办对象"));
    }

    #[test]
    fn subs_keep_money_steps_need_evidence() {
        for kind in [StepKind::ClaimFiling, StepKind::Review, StepKind::Approval, StepKind::Payment, StepKind::Recovery]
        {
            let mut s = step(kind);
            s.evidence = vec!["  ".to_owned()];
            let r = subs_keep(&s, KNOWN);
            assert!(!r.passed, "{kind:?}");
            assert!(r.reason_en.contains("evidence"));
        }
        for kind in [StepKind::ProjectApproval, StepKind::ClassFiling, StepKind::Inspection, StepKind::Notice] {
            let mut s = step(kind);
            s.evidence.clear();
            assert!(subs_keep(&s, KNOWN).passed, "{kind:?}");
        }
    }

    #[test]
    fn subs_keep_step_json_round_trips() {
        let s = step(StepKind::Payment);
        let json = serde_json::to_string(&s).expect("ser");
        assert!(json.contains("\"PAYMENT\"") && json.contains("2026-03-30T10:15:00+08:00"));
        assert_eq!(serde_json::from_str::<TraceStep>(&json).expect("de"), s);
    }
}
