#!/usr/bin/env python3
"""Issue #16's "Done when", tried as a new user would against a running `qiancheng dev`.

Run it like this (`dev` in an empty folder of its own; the script from anywhere):

    pip install grpcio grpcio-tools
    mkdir -p /tmp/qc-walk && cd /tmp/qc-walk
    # Optional, for the roster-reader check: a key of "demand" that dev is told to trust, so that a
    # SERVICE token of demand can be minted from outside (dev's own service keys live only in memory).
    qiancheng token --role SERVICE --key-file ./keys/demand.key --create-key > /dev/null
    QIANCHENG_SERVICE_PUBLIC_KEYS=demand=$(qiancheng public-key --key-file ./keys/demand.key) \
    QIANCHENG_SUPERVISION_CLOCK_FILE=$PWD/supervision-clock \
    QIANCHENG_STANDING_SWEEP_INTERVAL_MS=2000 \
        qiancheng dev --base-port 56050 &
    python3 <repo>/scripts/walkthrough_supervision.py --dev-dir /tmp/qc-walk --base-port 56050 \
        --clock-file /tmp/qc-walk/supervision-clock --service-key-file /tmp/qc-walk/keys/demand.key

(`cargo run -p qiancheng -- …` in place of `qiancheng` works the same; `--qiancheng PATH` names the
binary the script mints tokens with. `dev` takes the admin port 9464 whatever its --base-port, unless
that is 0: a second `dev` on one machine needs `--base-port 0`, and the script then needs the
addresses it printed, `--selection HOST:PORT --supervision HOST:PORT`.) The script generates Python gRPC stubs from the repository's
`proto/` into a temporary folder, mints every token with `qiancheng token` in `--dev-dir` (the key
`dev` made there), and moves supervision's development clock by writing `--clock-file`, so the
classes are lived through in the order things happen: filed on 2027-02-15 for 1 March to 30 April
2027, attendance sent on the evening of its day, a disqualification on 2 March. It prints each step
with what the service answered and ends with a table of checks; the exit status is the number of
checks that failed. Every name it makes (providers, people) is new on each run, so it can be run
again against the same `dev`.
"""

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import grpc
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(os.path.dirname(HERE), "proto")
COUNTY = "421221"
OTHER_COUNTY = "421222"

# The story's days, inside the plan's period whatever year the script runs in.
FILED_ON = (2027, 2, 15)
FIRST = (2027, 3, 1)
LAST = (2027, 4, 30)


# ---------------------------------------------------------------------------------------------
# Stubs, generated at run time from the repository's contracts.


def generate_stubs():
    out = tempfile.mkdtemp(prefix="qiancheng-stubs-")
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    files = []
    for root, _, names in os.walk(PROTO):
        files += [os.path.relpath(os.path.join(root, n), PROTO) for n in names if n.endswith(".proto")]
    args = ["protoc", f"-I{PROTO}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}"] + sorted(files)
    if protoc.main(args) != 0:
        sys.exit("protoc could not compile proto/")
    sys.path.insert(0, out)
    return out


generate_stubs()
from qiancheng.selection.v1 import selection_pb2 as sel  # noqa: E402
from qiancheng.selection.v1 import selection_pb2_grpc as sel_grpc  # noqa: E402
from qiancheng.supervision.v1 import supervision_pb2 as sup  # noqa: E402
from qiancheng.supervision.v1 import supervision_pb2_grpc as sup_grpc  # noqa: E402
from qiancheng.type.v1 import types_pb2 as types  # noqa: E402
from google.protobuf import field_mask_pb2  # noqa: E402
from google.protobuf import json_format  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Fixtures: check characters of credit codes (GB 32100) and resident ID numbers (GB 11643).

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(first17):
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return first17 + USCC_CHARS[(31 - total % 31) % 31]


def id_number(first17):
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(first17, weights))
    return first17 + "10X98765432"[total % 11]


def date(d):
    return types.Date(year=d[0], month=d[1], day=d[2])


def day_after(d, n):
    import datetime

    on = datetime.date(*d) + datetime.timedelta(days=n)
    return (on.year, on.month, on.day)


def china_micros(d, hour=8, minute=0, second=0, micros=0):
    """`hour` o'clock China time on day `d`, in microseconds since the epoch."""
    import datetime

    at = datetime.datetime(*d, hour, minute, second, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    return int(at.timestamp()) * 1_000_000 + micros


# ---------------------------------------------------------------------------------------------
# Calls, refusals and checks.


def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def _fields(buf):
    """(field number, bytes or int) of a protobuf message, enough for google.rpc.Status."""
    i, out = 0, []
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            length, i = _varint(buf, i)
            value, i = buf[i : i + length], i + length
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            break
        out.append((number, value))
    return out


def details(error):
    """(reason of ErrorInfo, [field of each BadRequest violation]) of a refusal."""
    reason, fields = "", []
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        for number, any_bytes in _fields(value):
            if number != 3:
                continue
            parts = dict(_fields(any_bytes))
            type_url = parts.get(1, b"").decode()
            if type_url.endswith("google.rpc.ErrorInfo"):
                reason = dict(_fields(parts.get(2, b""))).get(1, b"").decode()
            elif type_url.endswith("google.rpc.BadRequest"):
                for n, violation in _fields(parts.get(2, b"")):
                    if n == 1:
                        fields.append(dict(_fields(violation)).get(1, b"").decode())
    return reason, fields


def show_error(error):
    reason, fields = details(error)
    text = f"{error.code().name}"
    if reason:
        text += f" reason={reason}"
    if fields:
        text += f" fields={fields}"
    message = error.details() or ""
    if len(message) > 300:
        message = message[:300] + f"… ({len(message)} characters)"
    return text + f" message={message!r}"


def short(message, limit=600):
    text = json.dumps(json_format.MessageToDict(message), ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


class Walk:
    def __init__(self, args):
        self.args = args
        self.results = []
        self.selection = sel_grpc.SelectionServiceStub(grpc.insecure_channel(args.selection))
        self.supervision = sup_grpc.SupervisionServiceStub(
            grpc.insecure_channel(args.supervision, options=[("grpc.max_send_message_length", 16 << 20)])
        )
        self._tokens = {}

    # Tokens ----------------------------------------------------------------------------------
    def token(self, *args):
        if args not in self._tokens:
            done = subprocess.run(
                [self.args.qiancheng, "token", *args], cwd=self.args.dev_dir, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise RuntimeError(f"qiancheng token {' '.join(args)}: {done.stderr.strip()}")
            self._tokens[args] = done.stdout.strip()
        return self._tokens[args]

    def officer(self, county=COUNTY):
        return self.token("--role", "COUNTY_OFFICER", "--region", county, "--subject", f"officer-{county}")

    def admin(self):
        return self.token("--role", "CITY_ADMIN", "--region", "421200", "--subject", "city-admin")

    def provider(self, code):
        return self.token("--role", "PROVIDER", "--org", code, "--subject", f"provider-{code}")

    # The clock -------------------------------------------------------------------------------
    def set_clock(self, d, at=None):
        text = f"{d[0]:04}-{d[1]:02}-{d[2]:02}" + (f"T{at}" if at else "")
        with open(self.args.clock_file, "w") as f:
            f.write(text)
        print(f"\n-- supervision's clock: {text} (China time{'' if at else ', the end of that day'})")

    # Calls -----------------------------------------------------------------------------------
    def call(self, what, method, request, token, stream=False):
        """Calls `method`; returns (response, None) or (None, grpc.RpcError), printing both."""
        metadata = [("authorization", f"Bearer {token}")] if token else []
        try:
            response = method(request, metadata=metadata, timeout=60)
            if stream:
                response = list(response)
            shown = f"{len(response)} messages" if stream else short(response)
            print(f"   {what}: OK {shown}")
            return response, None
        except grpc.RpcError as error:
            print(f"   {what}: {show_error(error)}")
            return None, error

    def must(self, what, method, request, token, stream=False):
        response, error = self.call(what, method, request, token, stream)
        if error is not None:
            raise Stop(f"{what} failed: {show_error(error)}")
        return response

    def check(self, name, passed, answer):
        self.results.append((name, bool(passed), answer))
        print(f"{'PASS' if passed else 'FAIL'} {name}\n     service answered: {answer}")

    def refused_with(self, name, outcome, code, reason):
        response, error = outcome
        if error is None:
            self.check(name, False, f"accepted: {short(response, 300)}")
            return
        got = (error.code().name, details(error)[0])
        self.check(name, got == (code, reason), show_error(error))


class Stop(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Selection: an approved project and a provider in good standing, as the county, the city and the
# provider do it through selection's API (shared/testkit/src/selection.rs does the same in Rust).


def approved_project(w, seed, headcount=40, hours=100):
    officer = w.officer()
    code = uscc(f"52{COUNTY}MJ{seed}")
    print(f"\n== selection: provider {code} registered, a catalog item, a round, an application, approval")
    w.must(
        "RegisterProvider",
        w.selection.RegisterProvider,
        sel.RegisterProviderRequest(
            provider=sel.Provider(
                credit_code=code,
                display_name=f"职业培训学校{seed}",
                region_code=COUNTY,
                pays_tax_locally=True,
                independent_legal_person=True,
                kind=sel.PROVIDER_KIND_PRIVATE_TRAINING_SCHOOL,
                conditions=sel.KindConditions(
                    passed_all_annual_inspections=True, subsidised_training_years=[2023, 2024, 2025, 2026]
                ),
                bank_account=sel.BankAccount(holder=f"职业培训学校{seed}", bank="咸宁农商银行", number="6228480012345678"),
            )
        ),
        officer,
    )
    item = w.must(
        "CreateCatalogItem",
        w.selection.CreateCatalogItem,
        sel.CreateCatalogItemRequest(
            catalog_item=sel.CatalogItem(
                region_code=COUNTY,
                industry=types.INDUSTRY_EQUIPMENT_MANUFACTURING,
                occupation_code="6-18-02-04",
                occupation_name="焊工",
                skill_level=types.SKILL_LEVEL_4,
                headcount=headcount,
                skill_requirements="达到焊工四级标准",
                content="焊接工艺与安全",
                hours=hours,
                mode=types.TRAINING_MODE_OFFLINE,
                answers=[f"岗位需求汇总: 焊工缺口{headcount}人"],
            )
        ),
        officer,
    ).catalog_item
    w.must("PublishCatalogItem", w.selection.PublishCatalogItem, sel.PublishCatalogItemRequest(name=item.name), officer)
    round_ = w.must(
        "CreateRound",
        w.selection.CreateRound,
        sel.CreateRoundRequest(
            round=sel.Round(
                title=f"焊工项目综合评议{seed}批",
                region_code=COUNTY,
                method=sel.SELECTION_METHOD_COMPREHENSIVE_EVALUATION,
                quota=headcount,
                deadline=date((2030, 1, 1)),
            )
        ),
        officer,
    ).round
    provider = w.provider(code)
    application = w.must(
        "CreateApplication",
        w.selection.CreateApplication,
        sel.CreateApplicationRequest(
            application=sel.Application(
                round=round_.name,
                catalog_item=item.name,
                provider_credit_code=code,
                headcount=headcount,
                training_region_code=COUNTY,
                filing=sel.Filing(
                    project_title="焊工项目化培训",
                    planned_start=date(FIRST),
                    planned_end=date(LAST),
                    venue="县实训基地",
                    contact="王老师",
                ),
                plan=sel.Plan(
                    application_summary="面向装备制造企业的焊工培训",
                    teaching_plan="理论40学时,实操60学时",
                    safety_content="焊接安全、防火防爆、个人防护",
                    training_mode=types.TRAINING_MODE_OFFLINE,
                    assessment_method="结业考核并组织职业技能等级认定",
                    employment_measures="与合作企业签订定向就业协议",
                ),
            )
        ),
        provider,
    ).application
    w.must("SubmitApplication", w.selection.SubmitApplication, sel.SubmitApplicationRequest(name=application.name), provider)
    w.must("CloseRound", w.selection.CloseRound, sel.CloseRoundRequest(name=round_.name), officer)
    decided = w.must(
        "DecideRound",
        w.selection.DecideRound,
        sel.DecideRoundRequest(
            name=round_.name, officer_scores=[sel.OfficerScore(application=application.name, score="85")]
        ),
        officer,
    )
    if not decided.projects:
        raise Stop("the round approved no project")
    return code, decided.projects[0].name


# ---------------------------------------------------------------------------------------------
# Supervision.


class People:
    """Trainees of 咸宁 with birth dates of this run, so that a second run meets nobody of the first."""

    def __init__(self):
        rng = random.Random()
        self.year = rng.randint(1975, 1999)
        self.month = rng.randint(1, 12)
        self.day = rng.randint(1, 28)

    def adult(self, n):
        first17 = f"421202{self.year:04}{self.month:02}{self.day:02}{100 + n:03}"
        return sup.TraineeInput(
            person_name=f"学员{n}号",
            id_number=id_number(first17),
            phone=f"139{random.randint(0, 99_999_999):08}",
            target_group=types.TARGET_GROUP_RURAL_MIGRANT,
            local_basis=sup.LOCAL_BASIS_HOUSEHOLD_REGISTRATION,
            local_basis_evidence="户口簿",
        )


def a_class(project, title, first, last, venue="嘉鱼县实训基地"):
    return sup.Class(
        project=project,
        title=title,
        first_day=date(first),
        last_day=date(last),
        theory_hours=40,
        practice_hours=60,
        mode=types.TRAINING_MODE_OFFLINE,
        venue=venue,
        teachers=[sup.Teacher(name="王师傅", qualification="焊工一级/高级技师")],
    )


def stream(w, token, class_name, events):
    def requests():
        for i in range(0, len(events), 250):
            yield sup.StreamAttendanceRequest(**{"class": class_name}, events=events[i : i + 250])

    return w.call("StreamAttendance", w.supervision.StreamAttendance, requests(), token, stream=True)


def trainees_of(w, class_name, token):
    return w.must(
        "ListTrainees",
        w.supervision.ListTrainees,
        sup.ListTraineesRequest(**{"class": class_name}, page_size=500),
        token,
    ).trainees


def walk(w):
    run = f"{random.randint(0, 9_999_999):07}"
    people = People()
    officer = w.officer()
    admin = w.admin()

    print("== the city sets the county's yearly quota (a round cannot be decided without one)")
    _, error = w.call("ListClasses (is dev there, and does it trust --dev-dir's key?)", w.supervision.ListClasses,
                      sup.ListClassesRequest(page_size=1), officer)
    if error is not None:
        raise Stop(f"supervision at {w.args.supervision} answered {show_error(error)}: is `qiancheng dev --base-port "
                   f"{w.args.base_port}` running in {w.args.dev_dir} (its ./data/dev-signing.key signs the tokens)?")
    w.must(
        "SetQuota",
        w.selection.SetQuota,
        sel.SetQuotaRequest(quota=sel.Quota(region_code=COUNTY, year=2030, trainees=9000, basis="2030年就业补助资金")),
        admin,
    )
    a_code, a_project = approved_project(w, run[:6] + "A")
    b_code, b_project = approved_project(w, run[:6] + "B")
    c_code, c_project = approved_project(w, run[:6] + "C")
    a, b, c = w.provider(a_code), w.provider(b_code), w.provider(c_code)

    # -- Filing, return, correction, acknowledgement ---------------------------------------
    w.set_clock(FILED_ON)
    print("\n== provider A files a class of 30 for 1 March to 30 April 2027")
    filed = w.must(
        "CreateClass",
        w.supervision.CreateClass,
        sup.CreateClassRequest(
            **{"class": a_class(a_project, "嘉鱼焊工培训乙班", FIRST, LAST)},
            roster=[people.adult(n) for n in range(30)],
        ),
        a,
    )
    main = getattr(filed, "class")
    if (main.filed_on.year, main.filed_on.month, main.filed_on.day) != FILED_ON:
        raise Stop(
            f"supervision filed the class on {short(main.filed_on)}, not on the day written to {w.args.clock_file}: "
            "start dev with QIANCHENG_SUPERVISION_CLOCK_FILE naming that file"
        )
    w.check(
        "a class is filed (CreateClass)",
        main.state == sup.CLASS_STATE_FILED and main.roster_size == 30 and not filed.refused,
        f"{main.name} state={sup.ClassState.Name(main.state)} roster_size={main.roster_size} refused={len(filed.refused)}",
    )

    print("\n== the county returns the filing with reasons")
    reasons = ["师资资格证明不全", "实训场地面积未说明"]
    returned, error = w.call(
        "ReturnClass", w.supervision.ReturnClass, sup.ReturnClassRequest(name=main.name, reasons=reasons), officer
    )
    got = list(getattr(returned, "class").open_return.reasons) if returned else show_error(error)
    w.check("the filing is returned with reasons (ReturnClass)", got == reasons, f"open_return.reasons={got}")
    w.refused_with(
        "a returned filing cannot be acknowledged (CLASS_RETURNED)",
        w.call("AcknowledgeClass", w.supervision.AcknowledgeClass, sup.AcknowledgeClassRequest(name=main.name), officer),
        "FAILED_PRECONDITION",
        "CLASS_RETURNED",
    )

    print("\n== provider A corrects the venue (UpdateClass refiles it)")
    venue = "嘉鱼县实训基地二号厂房(600平方米)"
    updated, error = w.call(
        "UpdateClass",
        w.supervision.UpdateClass,
        sup.UpdateClassRequest(
            name=main.name,
            **{"class": a_class(a_project, "", FIRST, LAST, venue=venue)},
            update_mask=field_mask_pb2.FieldMask(paths=["venue"]),
        ),
        a,
    )
    if updated:
        u = getattr(updated, "class")
        w.check(
            "the filing is corrected (UpdateClass)",
            u.venue == venue and u.filing_decision.outcome and not u.HasField("open_return"),
            f"venue={u.venue!r} filing_decision.outcome={u.filing_decision.outcome} open_return={u.HasField('open_return')}",
        )
    else:
        w.check("the filing is corrected (UpdateClass)", False, show_error(error))

    acked, error = w.call(
        "AcknowledgeClass", w.supervision.AcknowledgeClass, sup.AcknowledgeClassRequest(name=main.name), officer
    )
    state = sup.ClassState.Name(getattr(acked, "class").state) if acked else show_error(error)
    w.check("the corrected filing is acknowledged (AcknowledgeClass)", state == "CLASS_STATE_ACKNOWLEDGED", state)

    # -- ELIG-OVERLAP as provider C reads it ----------------------------------------------
    print("\n== provider C files a class of 1 April to 30 May with a person already on A's class (filed earlier)")
    overlap_first, overlap_last = (2027, 4, 1), (2027, 5, 30)
    c_filed, error = w.call(
        "CreateClass",
        w.supervision.CreateClass,
        sup.CreateClassRequest(
            **{"class": a_class(c_project, "嘉鱼焊工培训丙班", overlap_first, overlap_last)},
            roster=[people.adult(100), people.adult(0)],
        ),
        c,
    )
    if c_filed is None:
        w.check("ELIG-OVERLAP shown to a provider carries no other provider's dates", False, show_error(error))
    else:
        refused = [r for r in c_filed.refused if r.reason == "ELIG-OVERLAP"]
        if not refused:
            w.check(
                "ELIG-OVERLAP shown to a provider carries no other provider's dates",
                False,
                f"refused={[(r.index, r.reason) for r in c_filed.refused]}",
            )
        else:
            r = refused[0]
            rules = [x for x in r.decision.rules if x.code == "ELIG-OVERLAP"]
            texts = [r.message] + [t for x in rules for t in (x.reason_zh, x.reason_en)]
            leaks = [
                s
                for s in ("2027-03-01", "2027-04-30", "2027年3月1日", "2027年4月30日", a_code, main.name)
                if any(s in t for t in texts)
            ]
            w.check(
                "ELIG-OVERLAP shown to a provider carries no other provider's dates",
                not leaks,
                f"index={r.index} message={r.message!r} rule={[(x.reason_zh, x.reason_en) for x in rules]} leaked={leaks}",
            )

    # -- Provider B's two running classes (for the disqualification) -----------------------
    print("\n== provider B files two classes of 3 people, both acknowledged, a session on 2 March each")
    b_classes = []
    for k, title in enumerate(["嘉鱼焊工培训丁班", "嘉鱼焊工培训戊班"]):
        bf = w.must(
            "CreateClass",
            w.supervision.CreateClass,
            sup.CreateClassRequest(
                **{"class": a_class(b_project, title, FIRST, LAST)},
                roster=[people.adult(200 + 10 * k + n) for n in range(3)],
            ),
            b,
        )
        name = getattr(bf, "class").name
        w.must("AcknowledgeClass", w.supervision.AcknowledgeClass, sup.AcknowledgeClassRequest(name=name), officer)
        sessions = w.must(
            "CreateSessions",
            w.supervision.CreateSessions,
            sup.CreateSessionsRequest(
                **{"class": name},
                sessions=[sup.Session(held_on=date((2027, 3, 2)), hours=4, kind=sup.SESSION_KIND_THEORY, topic="焊接安全")],
            ),
            b,
        ).sessions
        b_classes.append((name, list(bf.trainees), list(sessions)))

    # -- Sessions, and hours past the filing -----------------------------------------------
    print("\n== provider A adds 60 sessions: 40 of 2 hours and 20 of 1 (40 theory, 60 practice: what was filed)")
    sessions = w.must(
        "CreateSessions",
        w.supervision.CreateSessions,
        sup.CreateSessionsRequest(
            **{"class": main.name},
            sessions=[
                sup.Session(
                    held_on=date(day_after(FIRST, i)),
                    hours=2 if i < 40 else 1,
                    kind=sup.SESSION_KIND_THEORY if i < 20 else sup.SESSION_KIND_PRACTICE,
                    topic="焊接工艺",
                )
                for i in range(60)
            ],
        ),
        a,
    ).sessions
    w.refused_with(
        "a session past the filed hours is refused (SESSION_HOURS_FILED)",
        w.call(
            "CreateSessions (one hour more)",
            w.supervision.CreateSessions,
            sup.CreateSessionsRequest(
                **{"class": main.name},
                sessions=[
                    sup.Session(held_on=date(day_after(FIRST, 59)), hours=1, kind=sup.SESSION_KIND_PRACTICE, topic="加课")
                ],
            ),
            a,
        ),
        "FAILED_PRECONDITION",
        "SESSION_HOURS_FILED",
    )

    # -- The first evening: 30 check-ins within 5 s on one device, one dated tomorrow -------
    trainees = list(filed.trainees)
    w.set_clock(FIRST, "20:00:00")
    print("\n== the first evening: gate-1 sends 30 check-ins 150 ms apart (4.35 s in all); gate-9, a day ahead, one dated tomorrow")
    burst = [
        sup.CheckIn(
            event_id=f"gate-1/{run}/{n}",
            session=sessions[0].name,
            trainee=t.name,
            checked_in_micros=china_micros(FIRST) + n * 150_000,
            device="gate-1",
        )
        for n, t in enumerate(trainees)
    ]
    ahead = sup.CheckIn(
        event_id=f"gate-9/{run}/ahead",
        session=sessions[1].name,
        trainee=trainees[2].name,
        checked_in_micros=china_micros(day_after(FIRST, 1)),
        device="gate-9",
    )
    acks, error = stream(w, a, main.name, burst + [ahead])
    results = {r.event_id: r for ack in (acks or []) for r in ack.results}
    r = results.get(ahead.event_id)
    w.check(
        "a check-in dated tomorrow is refused with its own result (ATTENDANCE_FUTURE)",
        r is not None and r.status == sup.CHECK_IN_STATUS_REFUSED and r.reason == "ATTENDANCE_FUTURE",
        f"{sup.CheckInStatus.Name(r.status)} reason={r.reason} message={r.message!r}" if r else show_error(error),
    )
    stored = [e.event_id for e in burst if e.event_id in results and results[e.event_id].status == sup.CHECK_IN_STATUS_STORED]
    w.check("the 30 check-ins of the burst are stored", len(stored) == 30, f"stored {len(stored)} of 30")

    print("\n== the county's officer lists the class's SYNC-CHECKIN signals")
    listed, error = w.call(
        "ListSignals",
        w.supervision.ListSignals,
        sup.ListSignalsRequest(**{"class": main.name}, code="SYNC-CHECKIN"),
        officer,
    )
    signal = listed.signals[0] if listed and listed.signals else None
    if signal is None:
        w.check("30 check-ins within 5 s on one device raise SYNC-CHECKIN", False, short(listed) if listed else show_error(error))
    else:
        ids = {e.id for e in signal.evidence if e.kind == "CHECK_IN"}
        w.check(
            "30 check-ins within 5 s on one device raise SYNC-CHECKIN with the event ids it rests on",
            signal.code == "SYNC-CHECKIN" and ids == {e.event_id for e in burst},
            f"{signal.name} severity={sup.SignalSeverity.Name(signal.severity)} explanation={signal.explanation!r} "
            f"evidence={len(signal.evidence)} check-ins, all of the burst: {ids == {e.event_id for e in burst}}; "
            f"parameters={[(p.name, p.value) for p in signal.parameters]}",
        )
        dismissed, error = w.call(
            "DismissSignal",
            w.supervision.DismissSignal,
            sup.DismissSignalRequest(name=signal.name, etag=signal.etag, reason="人脸闸机排队通过, 现场核实无代签"),
            officer,
        )
        d = dismissed.signal if dismissed else None
        w.check(
            "the officer dismisses it with a reason (DismissSignal)",
            d is not None and d.state == sup.SIGNAL_STATE_DISMISSED and d.state_note == "人脸闸机排队通过, 现场核实无代签",
            f"state={sup.SignalState.Name(d.state)} state_note={d.state_note!r} decided_by={d.decided_by!r}" if d else show_error(error),
        )

    # -- Completion before the last day ------------------------------------------------------
    print("\n== provider A records everyone's assessment and tries to complete the class on 1 March")
    w.call(
        "RecordAssessments",
        w.supervision.RecordAssessments,
        sup.RecordAssessmentsRequest(
            **{"class": main.name},
            results=[sup.TraineeAssessment(trainee=t.name, result=sup.ASSESSMENT_RESULT_PASSED) for t in trainees],
        ),
        a,
    )
    w.refused_with(
        "completion before the last day is refused (COMPLETION_EARLY)",
        w.call("CompleteClass", w.supervision.CompleteClass, sup.CompleteClassRequest(name=main.name), a),
        "FAILED_PRECONDITION",
        "COMPLETION_EARLY",
    )

    # -- The ledger: each mark's device and upload -----------------------------------------
    print("\n== the county's officer reads the ledger")
    parts, error = w.call("GetLedger", w.supervision.GetLedger, sup.GetLedgerRequest(**{"class": main.name}), officer, stream=True)
    marks = [m for p in (parts or []) if p.HasField("trainee") for m in p.trainee.attendance]
    mark_fields = set(sup.AttendanceMark.DESCRIPTOR.fields_by_name)
    wanted = ["event_id", "device", "uploaded_by", "received_micros"]
    missing = [f for f in wanted if f not in mark_fields]
    if marks:
        first = marks[0]
        try:
            from google.protobuf import unknown_fields

            unknown = [f.field_number for f in unknown_fields.UnknownFieldSet(first)]
        except Exception:  # older protobuf
            unknown = "?"
        shown = f"{len(marks)} marks; first: {short(first, 300)}; fields of AttendanceMark in proto/: {sorted(mark_fields)}"
        if missing:
            shown += f"; missing from the contract: {missing} (field numbers the service sent that proto/ does not know: {unknown})"
        ok = not missing and all(getattr(m, "device") and getattr(m, "uploaded_by") for m in marks)
        if not missing:
            devices = sorted({m.device for m in marks})
            uploaders = sorted({m.uploaded_by for m in marks})
            shown += f"; devices={devices} uploaded_by={uploaders}"
    else:
        ok, shown = False, (show_error(error) if error else "no attendance marks in the ledger")
    w.check("the ledger shows each mark's device and upload (GetLedger)", ok and len(marks) == 30, shown)

    # -- Disqualification in selection stops the provider's other running class -------------
    w.set_clock((2027, 3, 2), "07:00:00")
    print("\n== the county disqualifies provider B in selection (fraud); supervision has two running classes of B")
    w.must(
        "DisqualifyProvider",
        w.selection.DisqualifyProvider,
        sel.DisqualifyProviderRequest(
            provider=f"providers/{b_code}", misconduct=sel.MISCONDUCT_KIND_FRAUD, finding="虚报学员出勤"
        ),
        officer,
    )
    (b1, b1_trainees, b1_sessions), (b2, _, _) = b_classes
    waited, by = 0.0, "the standing sweep"
    while waited < w.args.sweep_wait:
        now = w.must("GetClass", w.supervision.GetClass, sup.GetClassRequest(name=b2), b)
        if getattr(now, "class").state == sup.CLASS_STATE_STOPPED:
            break
        time.sleep(1)
        waited += 1
    else:
        by = "the next write (no sweep within the wait)"
    print(f"   waited {waited:.0f} s for the sweep")
    acks, error = stream(
        w,
        b,
        b1,
        [sup.CheckIn(event_id=f"b/{run}/1", session=b1_sessions[0].name, trainee=b1_trainees[0].name,
                     checked_in_micros=china_micros((2027, 3, 2), 6, 55), device="gate-b")],
    )
    r = acks[0].results[0] if acks and acks[0].results else None
    w.check(
        "a disqualified provider's check-in is refused (PROV-DISQUALIFIED)",
        r is not None and r.status == sup.CHECK_IN_STATUS_REFUSED and r.reason == "PROV-DISQUALIFIED",
        f"{sup.CheckInStatus.Name(r.status)} reason={r.reason} message={r.message!r}" if r else show_error(error),
    )
    other = getattr(w.must("GetClass", w.supervision.GetClass, sup.GetClassRequest(name=b2), b), "class")
    b2_trainees = trainees_of(w, b2, b)
    w.check(
        f"the disqualified provider's other running class is stopped (by {by}) and its trainees terminated",
        other.state == sup.CLASS_STATE_STOPPED
        and other.stop_reason.startswith("PROV-DISQUALIFIED")
        and b2_trainees
        and all(t.state == sup.TRAINEE_STATE_WITHDRAWN and t.termination_reason.startswith("PROV-DISQUALIFIED") for t in b2_trainees),
        f"state={sup.ClassState.Name(other.state)} stop_reason={other.stop_reason!r} stopped_on={short(other.stopped_on)}; "
        f"trainees={[(sup.TraineeState.Name(t.state), t.termination_reason) for t in b2_trainees]}",
    )

    # -- ListProjectTrainees with a SERVICE token not among the roster readers -------------
    print("\n== demand's SERVICE token asks supervision for project A's whole roster")
    request = sup.ListProjectTraineesRequest(project=a_project)
    as_city, error = w.call("ListProjectTrainees (CITY_ADMIN, for comparison)", w.supervision.ListProjectTrainees, request, admin)
    key = w.args.service_key_file
    name = "a SERVICE token not in QIANCHENG_SUPERVISION_ROSTER_READERS cannot read ListProjectTrainees"
    if not key or not os.path.exists(key):
        w.check(
            name,
            False,
            f"not tried: no service key file ({key!r}). dev makes each service's key in memory at start "
            "and never writes it, so a SERVICE token can only come from a key dev was told to trust with "
            "QIANCHENG_SERVICE_PUBLIC_KEYS (see the top of this script)",
        )
    else:
        try:
            service = w.token("--role", "SERVICE", "--key-file", os.path.abspath(key))
        except RuntimeError as e:
            w.check(name, False, f"could not mint the token: {e}")
        else:
            outcome = w.call("ListProjectTrainees (SERVICE demand)", w.supervision.ListProjectTrainees, request, service)
            if outcome[1] is not None and outcome[1].code() == grpc.StatusCode.UNAUTHENTICATED:
                w.check(name, False, f"not proven: the token itself was refused ({show_error(outcome[1])}); "
                        "dev was not started with QIANCHENG_SERVICE_PUBLIC_KEYS=demand=<its public key>")
            else:
                w.refused_with(name, outcome, "PERMISSION_DENIED", details(outcome[1])[0] if outcome[1] else "")

    # -- Hostile inputs from outside ---------------------------------------------------------
    print("\n== hostile inputs (reported, checked only for not being INTERNAL or UNKNOWN)")
    megabyte = "x" * (1 << 20)
    hostile = [
        ("CreateClass with first day 9999-99-99", w.supervision.CreateClass,
         sup.CreateClassRequest(**{"class": sup.Class(project=a_project, title="荒唐日期", first_day=types.Date(year=9999, month=99, day=99),
                                                        last_day=types.Date(year=-5, month=0, day=0), theory_hours=40, practice_hours=60,
                                                        mode=types.TRAINING_MODE_OFFLINE, venue="x",
                                                        teachers=[sup.Teacher(name="王", qualification="x")])},
                                roster=[people.adult(300)]), a),
        ("CreateSessions held on 2027-02-30", w.supervision.CreateSessions,
         sup.CreateSessionsRequest(**{"class": main.name}, sessions=[sup.Session(held_on=types.Date(year=2027, month=2, day=30), hours=1,
                                                                                    kind=sup.SESSION_KIND_PRACTICE, topic="x")]), a),
        ("ReturnClass with a 1 MB reason", w.supervision.ReturnClass,
         sup.ReturnClassRequest(name=main.name, reasons=[megabyte]), officer),
        ("UpdateClass with a 1 MB title", w.supervision.UpdateClass,
         sup.UpdateClassRequest(name=main.name, **{"class": sup.Class(title=megabyte)}, update_mask=field_mask_pb2.FieldMask(paths=["title"])), a),
        ("DismissSignal with a 1 MB reason", w.supervision.DismissSignal,
         sup.DismissSignalRequest(name=signal.name if signal else "signals/x", reason=megabyte), officer),
        ("DismissSignal with a 501-character reason (the contract says at most 500)", w.supervision.DismissSignal,
         sup.DismissSignalRequest(name=signal.name if signal else "signals/x", reason="理" * 501), officer),
        ("ReturnClass with 21 reasons (the contract says at most 20)", w.supervision.ReturnClass,
         sup.ReturnClassRequest(name=main.name, reasons=[f"理由{i}" for i in range(21)]), officer),
        ("GetClass of a vacancy's name", w.supervision.GetClass, sup.GetClassRequest(name="vacancies/01m8abc"), officer),
        ("GetClass of classes/../../etc/passwd", w.supervision.GetClass, sup.GetClassRequest(name="classes/../../etc/passwd"), officer),
        ("GetLedger of projects/x", w.supervision.GetLedger, sup.GetLedgerRequest(**{"class": "projects/x"}), officer),
        ("ListSignals of a 1 MB code", w.supervision.ListSignals, sup.ListSignalsRequest(code=megabyte), officer),
        ("GetClass with a token of another county", w.supervision.GetClass, sup.GetClassRequest(name=main.name), w.officer(OTHER_COUNTY)),
        ("GetClass with no token", w.supervision.GetClass, sup.GetClassRequest(name=main.name), ""),
        ("GetClass with a forged token", w.supervision.GetClass, sup.GetClassRequest(name=main.name),
         officer[:-4] + ("AAAA" if not officer.endswith("AAAA") else "BBBB")),
    ]
    for what, method, request, token in hostile:
        streaming = method is w.supervision.GetLedger
        response, error = w.call(what, method, request, token, stream=streaming)
        code = error.code().name if error else "OK"
        w.check(f"hostile: {what} -> {code}", code not in ("INTERNAL", "UNKNOWN", "OK"),
                show_error(error) if error else "accepted")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev-dir", default=".", help="the folder `qiancheng dev` runs in (its ./data holds the signing key)")
    parser.add_argument("--base-port", type=int, default=50051, help="dev's --base-port (selection is +1, supervision +2)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--selection", help="selection's address as dev printed it (for --base-port 0)")
    parser.add_argument("--supervision", help="supervision's address as dev printed it (for --base-port 0)")
    parser.add_argument("--clock-file", required=True, help="the file dev's QIANCHENG_SUPERVISION_CLOCK_FILE names")
    parser.add_argument("--qiancheng", default="qiancheng", help="the suite's binary, for `qiancheng token`")
    parser.add_argument("--service-key-file", help="a key dev trusts for demand (QIANCHENG_SERVICE_PUBLIC_KEYS=demand=…)")
    parser.add_argument("--sweep-wait", type=float, default=15, help="seconds to wait for the standing sweep")
    args = parser.parse_args()
    args.selection = args.selection or f"{args.host}:{args.base_port + 1}"
    args.supervision = args.supervision or f"{args.host}:{args.base_port + 2}"
    args.dev_dir = os.path.abspath(args.dev_dir)
    args.clock_file = os.path.abspath(args.clock_file)
    w = Walk(args)
    try:
        walk(w)
    except (Stop, RuntimeError) as stop:
        w.check("the walk reached its end", False, str(stop))
    print("\n== summary")
    for name, passed, _ in w.results:
        print(f"  {'PASS' if passed else 'FAIL'}  {name}")
    failed = sum(1 for _, passed, _ in w.results if not passed)
    print(f"{len(w.results) - failed} passed, {failed} failed")
    sys.exit(min(failed, 100))


if __name__ == "__main__":
    main()
