"""Reasons in words: English and Japanese renderings of decisions and comparisons.

Every reason code has a template per language; arguments fill it, the reasons beneath fill
`{because}`. `explain` gives the multi-line explanation `tsunagu policy explain` prints.
Codes without a template (a new one added without words) still render: code and arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from policies.reasons import Reason, as_text

if TYPE_CHECKING:
    from policies.comparison import PolicyComparison
    from policies.decision import Decision

LANGUAGES = ("en", "ja")

_RULE: Mapping[str, tuple[str, str]] = {
    "permission_satisfied": (
        "permission {index} ({action}) is satisfied: {because}",
        "許可 {index}（{action}）を満たします：{because}",
    ),
    "permission_not_satisfied": (
        "permission {index} ({action}) is not satisfied: {because}",
        "許可 {index}（{action}）を満たしません：{because}",
    ),
    "permission_undecidable": (
        "permission {index} ({action}) cannot be evaluated: {because}",
        "許可 {index}（{action}）は評価できません：{because}",
    ),
    "prohibition_applies": (
        "prohibition {index} ({action}) applies: {because}",
        "禁止 {index}（{action}）に該当します：{because}",
    ),
    "prohibition_undecidable": (
        "prohibition {index} ({action}) cannot be evaluated, so it is taken to apply: {because}",
        "禁止 {index}（{action}）は評価できないため、該当するものとみなします：{because}",
    ),
    "prohibition_overridden": (
        "prohibition {index} ({action}) also applies, but the conflict strategy 'perm' lets "
        "the permission prevail: {because}",
        "禁止 {index}（{action}）も該当しますが、競合戦略「perm」により許可が優先されます："
        "{because}",
    ),
    "policy_void_conflict": (
        "a permission and a prohibition both apply and the conflict strategy is '{strategy}': "
        "the policy is void",
        "許可と禁止が同時に該当し、競合戦略が「{strategy}」のため、ポリシーは無効です",
    ),
    "no_permission": (
        "no permission covers the action '{action}'",
        "操作「{action}」を許可する規則がありません",
    ),
    "duty_owed": (
        "duty '{action}'{terms} is owed (agreed, not enforced by the decision point)",
        "義務「{action}」{terms}を負います（合意事項であり、判定では強制しません）",
    ),
    "obligation_owed": (
        "obligation '{action}'{terms} is owed (agreed, not enforced by the decision point)",
        "責務「{action}」{terms}を負います（合意事項であり、判定では強制しません）",
    ),
    "action_prohibited": (
        "'{action}' is prohibited (kept with the agreement and shown to the consumer)",
        "「{action}」は禁止されています（契約とともに保存され、利用者に示されます）",
    ),
    "no_constraints": ("no constraints", "制約なし"),
    "constraint_holds": (
        "{constraint} holds ({fact} is {actual})",
        "{constraint} を満たします（{fact}：{actual}）",
    ),
    "constraint_fails": (
        "{constraint} fails ({fact} is {actual})",
        "{constraint} を満たしません（{fact}：{actual}）",
    ),
    "fact_missing": (
        "{constraint} fails (no {fact})",
        "{constraint} を満たしません（{fact}がありません）",
    ),
    "count_agreed": (
        "{constraint} {outcome} (an access limit of {limit}, counted by the data plane at every "
        "access)",
        "{constraint} {outcome}（上限 {limit} 回、データプレーンが利用のたびに数えます）",
    ),
    "count_used": (
        "{constraint} {outcome} ({uses} of {limit} accesses used)",
        "{constraint} {outcome}（{limit} 回中 {uses} 回利用済み）",
    ),
    "logical": ("{operator}: {because}", "{operator}（{outcome}）：{because}"),
    # comparison of a counter-offer with an offer
    "narrower_or_equal": (
        "the counter-offer is as narrow as the offer or narrower",
        "対案は提示条件と同じか、より狭い条件です",
    ),
    "wider": ("the counter-offer is wider than the offer: {because}",
              "対案は提示条件より広いため受け入れられません：{because}"),
    "permission_wider": (
        "permission {index} ({action}) is not within any permission of the offer: {because}",
        "許可 {index}（{action}）は提示条件のどの許可にも収まりません：{because}",
    ),
    "constraint_dropped": (
        "the offer's constraint {constraint} is missing or relaxed",
        "提示条件の制約 {constraint} が欠けているか緩められています",
    ),
    "duty_dropped": (
        "the offer's duty '{action}' is missing",
        "提示条件の義務「{action}」がありません",
    ),
    "prohibition_dropped": (
        "the offer's prohibition of '{action}' is missing",
        "提示条件の「{action}」の禁止がありません",
    ),
    "obligation_dropped": (
        "the offer's obligation '{action}' is missing",
        "提示条件の責務「{action}」がありません",
    ),
    "conflict_relaxed": (
        "the conflict strategy '{counter}' lets more through than the offer's '{offer}'",
        "競合戦略「{counter}」は提示条件の「{offer}」より多くを許します",
    ),
}  # fmt: skip

# Undecidable constraints: the English detail comes from the check itself; Japanese names
# the kind of problem and then quotes it.
_UNDECIDABLE_JA: Mapping[str, str] = {
    "unknown_operand": "プロファイルにない左オペランドです",
    "unknown_term": "プロファイルにない用語です",
    "unsupported_operator": "この左オペランドには使えない演算子です",
    "invalid_value": "右オペランドの値が不正です",
    "invalid_unit": "単位（通貨）が不正です",
    "no_geography": "流域の地理情報がありません",
    "no_alert_state": "警報状態の提供元がありません",
    "unknown_area": "警報状態が分からない地域です",
    "no_agreement_time": "契約の成立時刻が分かりません",
    "naive_now": "判定時刻にタイムゾーンがありません",
    "count_not_counted": "回数制限は許可の and 結合の中でのみ数えられます",
    "unsupported_count": "回数制限として読めません",
}
_UNDECIDABLE_EN: Mapping[str, str] = {
    "no_geography": "no geography to resolve {detail}",
    "no_alert_state": "no alert state is available to this decision point",
    "unknown_area": "the alert state knows nothing of {detail}",
    "no_agreement_time": "the agreement's time is not known",
    "naive_now": "the decision time {detail} has no UTC offset",
}

_FACTS: Mapping[str, tuple[str, str]] = {
    "role": ("requester role", "要求者の役割"),
    "memberships": ("verified memberships", "所属"),
    "municipality": ("verified municipality code", "市区町村コード"),
    "now": ("now", "現在時刻"),
    "elapsed": ("the agreement's instant", "契約の成立時刻"),
    "last_use": ("previous use", "前回の利用"),
    "alert": ("alert level in force", "発令中の警戒レベル"),
    "recipient": ("requester DID", "要求者のDID"),
    "purpose": ("stated purpose", "申告された目的"),
    "payment": ("payment", "支払い"),
    "limit": ("access limit counted by the data plane", "データプレーンが数える利用回数の上限"),
    "uses": ("accesses used", "利用済み回数"),
}
_OUTCOME_JA = {"holds": "成立", "fails": "不成立", "undecidable": "評価不能"}


def render(reason: Reason, language: str = "en") -> str:
    """One line for a reason and everything beneath it."""
    ja = _language(language) == "ja"
    args = {k: as_text(v) for k, v in reason.args}
    because = ("；" if ja else "; ").join(render(r, language) for r in reason.because)
    if reason.code in ("constraint_holds", "constraint_fails", "fact_missing"):
        fact = args.get("fact", "")
        args["fact"] = _FACTS.get(fact, (fact, fact))[1 if ja else 0]
        if not args.get("actual"):
            args["actual"] = "—"
    if reason.code in ("count_agreed", "count_used") and ja:
        args["outcome"] = "を満たします" if args.get("outcome") == "holds" else "を満たしません"
    if reason.code == "logical" and ja:
        args["outcome"] = _OUTCOME_JA.get(args.get("outcome", ""), args.get("outcome", ""))
    if reason.code in ("duty_owed", "obligation_owed") and args.get("terms"):
        args["terms"] = f"（{args['terms']}）" if ja else f" ({args['terms']})"
    template = _RULE.get(reason.code)
    if template is not None:
        return _fill(template[1 if ja else 0], args, because)
    constraint, detail = args.get("constraint", ""), args.get("detail", "")
    if ja:
        kind = _UNDECIDABLE_JA.get(reason.code, "評価できません")
        text = f"{constraint}：評価できません（{kind}" + (f"：{detail}" if detail else "") + "）"
        return text
    english = _UNDECIDABLE_EN.get(reason.code)
    detail = _fill(english, args, because) if english else detail or reason.code
    return f"{constraint}: {detail}" if constraint else detail


def explain(decision: Decision, language: str = "en") -> str:
    """A decision as lines for a person: the outcome, then each reason with its place."""
    ja = _language(language) == "ja"
    if ja:
        head = "許可されます" if decision.allowed else "拒否されます"
    else:
        head = "allowed" if decision.allowed else "denied"
    lines = [head]
    for reason in decision.details:
        lines.extend(_tree(reason, language, 1))
    return "\n".join(lines)


def explain_comparison(comparison: PolicyComparison, language: str = "en") -> str:
    lines = [render(r, language) for r in comparison.reasons]
    return "\n".join(lines)


def _tree(reason: Reason, language: str, depth: int) -> list[str]:
    """A reason as an indented tree: its own line (without its children), then theirs."""
    own = render(Reason(reason.code, reason.path, reason.args), language)
    for suffix in (": ", "："):
        if reason.because and own.endswith(suffix):
            own = own[: -len(suffix)]
    where = f"  [{reason.path}]" if reason.path else ""
    lines = ["  " * depth + "- " + own + where]
    for child in reason.because:
        lines.extend(_tree(child, language, depth + 1))
    return lines


def _fill(template: str, args: Mapping[str, str], because: str) -> str:
    values = dict(args)
    values["because"] = because
    try:
        return template.format_map(_Default(values))
    except (ValueError, IndexError):  # a template with a stray brace; show it as written
        return template


class _Default(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _language(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r}: use one of {', '.join(LANGUAGES)}")
    return language
