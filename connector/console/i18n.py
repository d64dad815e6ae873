"""The console's words in Japanese and English. Japanese is the default for a participant with
a Japanese name (the municipalities); an operator may switch per browser."""

from __future__ import annotations

import re

LANGUAGES = ("ja", "en")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")

TEXTS: dict[str, tuple[str, str]] = {
    # key: (ja, en)
    "console": ("運用コンソール", "Operator console"),
    "login": ("ログイン", "Log in"),
    "logout": ("ログアウト", "Log out"),
    "token": ("運用トークン", "Operator token"),
    "token_help": (
        "tsunagu.toml の [management] token に書かれた値です。",
        "The value of [management] token in tsunagu.toml.",
    ),
    "login_failed": ("トークンが違います。", "That token is not this connector's."),
    "login_expired": (
        "ログインフォームの有効期限が切れました。もう一度お試しください。",
        "The login form expired; please try again.",
    ),
    "overview": ("概要", "Overview"),
    "datasets": ("データセット", "Datasets"),
    "negotiations": ("契約交渉", "Negotiations"),
    "agreements": ("契約", "Agreements"),
    "transfers": ("データ転送", "Transfers"),
    "audit": ("監査ログ", "Audit log"),
    "river": ("河川ダッシュボード", "Flood dashboard"),
    "identity": ("識別子", "Identity"),
    "name": ("名称", "Name"),
    "mode": ("モード", "Mode"),
    "dev_mode": ("開発モード (HTTP, ループバックのみ)", "development (HTTP, loopback only)"),
    "production": ("本番 (HTTPS)", "production (HTTPS)"),
    "authorities": ("信頼する認証局", "Trusted authorities"),
    "peers": ("相手先", "Peers"),
    "last_contact": ("最終交信", "Last contact"),
    "health": ("状態", "Health"),
    "ok": ("正常", "ok"),
    "failing": ("エラーあり", "failing"),
    "recent": ("最近の出来事", "Recent activity"),
    "none": ("ありません", "none"),
    "id": ("ID", "ID"),
    "title": ("タイトル", "Title"),
    "state": ("状態", "State"),
    "role": ("役割", "Role"),
    "counterparty": ("相手", "Counterparty"),
    "dataset": ("データセット", "Dataset"),
    "policy": ("利用条件", "Policy"),
    "actions": ("操作", "Actions"),
    "approve": ("承認", "Approve"),
    "terminate": ("終了", "Terminate"),
    "counter_offer": ("条件を変えて提案", "Counter-offer"),
    "suspend": ("一時停止", "Suspend"),
    "resume": ("再開", "Resume"),
    "complete": ("完了", "Complete"),
    "waiting": ("承認待ち", "waiting for you"),
    "updated": ("更新", "Updated"),
    "format": ("形式", "Format"),
    "filter": ("絞り込み", "Filter"),
    "all": ("すべて", "all"),
    "next_page": ("次へ", "Next"),
    "prev_page": ("前へ", "Previous"),
    "create_dataset": ("データセットを公開", "Publish a dataset"),
    "data_address": ("データの所在 (JSON)", "Data address (JSON)"),
    "offer_policy": ("提供条件 (ODRL JSON)", "Offer policy (ODRL JSON)"),
    "requires_approval": ("契約ごとに承認する", "Approve each contract"),
    "publish": ("公開", "Publish"),
    "published": ("公開しました", "Published"),
    "done": ("完了しました", "Done"),
    "error": ("エラー", "Error"),
    "checkpoint": ("最新チェックポイント", "Latest checkpoint"),
    "tree_size": ("エントリ数", "Entries"),
    "root": ("ルートハッシュ", "Root hash"),
    "make_checkpoint": ("チェックポイントを作成", "Make a checkpoint"),
    "verify_now": ("今すぐ検証", "Verify now"),
    "verified_ok": ("検証済み: 改ざんは見つかりません", "Verified: nothing was altered"),
    "verified_bad": ("検証で問題が見つかりました", "Verification found problems"),
    "no_checkpoint": ("チェックポイントはまだありません", "No checkpoint yet"),
    "timeline": ("記録", "Timeline"),
    "station": ("観測所", "Station"),
    "water_level": ("水位", "Water level"),
    "rainfall": ("雨量", "Rainfall"),
    "alert": ("警戒レベル", "Alert level"),
    "observed": ("観測時刻", "Observed at"),
    "normal": ("平常", "normal"),
    "no_readings": (
        "まだ観測値がありません。データ転送が始まると表示されます。",
        "No readings yet; they appear once a transfer runs.",
    ),
    "map": ("流域の観測所", "Stations of the basin"),
    "live": ("ライブ更新中", "live"),
    "language": ("言語", "Language"),
    "bytes": ("転送量", "Bytes moved"),
    "search": ("データ検索", "Search"),
    "consents": ("同意記録", "Consent records"),
    "subject": ("本人", "Data subject"),
    "purposes": ("目的", "Purposes"),
    "recipients": ("提供先", "Recipients"),
    "valid": ("有効期間", "Valid"),
    "withdraw": ("同意を撤回", "Withdraw"),
    "start_transfer": ("データ転送を開始", "Start a transfer"),
    "search_text": ("キーワード", "Words"),
    "search_near": ("場所・上流", "Place / upstream of"),
    "search_theme": ("テーマ", "Theme"),
    "harvest": ("カタログを収集", "Harvest catalogues"),
    "hits": ("件数", "Hits"),
    "publisher": ("提供者", "Publisher"),
    "negotiate": ("契約を申し込む", "Negotiate"),
    "waits_since": ("待機開始", "waiting since"),
    "no_token_shown": ("(トークンは表示しません)", "(token not shown)"),
    "edit_dataset": ("データセットを編集", "Edit the dataset"),
    "description": ("説明", "Description"),
    "offers": ("利用条件（オファー）", "Offers"),
    "visibility": ("公開範囲", "Who may see it"),
    "add_offer": ("利用条件を追加（任意・JSON）", "Add an offer (optional, JSON)"),
    "save": ("保存", "Save"),
    "filter_text": ("含む文字（ID・DID・イベント）", "Containing (id, DID, event)"),
    "withdraw_short": ("取り下げ", "Withdraw"),
    "withdraw_offer": ("この利用条件を取り下げる", "Withdraw this offer"),
    "withdrawn": ("利用条件を取り下げました", "Offer withdrawn"),
    "last_offer_kept": ("唯一の利用条件は取り下げられません", "The only offer cannot be withdrawn"),
    "duties": ("義務", "Duties"),
    "duty_open": ("未履行", "open"),
    "duty_ongoing": ("利用のたび", "at every use"),
    "duty_fulfilled": ("履行済み", "met"),
    "duty_overdue": ("期限超過", "overdue"),
    "due": ("期限", "due"),
    "prohibited": ("禁止", "Prohibited"),
    "reads": ("読み出し回数", "Reads"),
    "transfer": ("データ転送", "Transfer"),
    "agreement": ("契約", "Agreement"),
    "login_oidc": ("組織のアカウントでログイン", "Log in with your organisation's account"),
    "oidc_refused": ("ログインできませんでした", "The login was refused"),
}


def translator(lang: str) -> dict[str, str]:
    index = 0 if lang == "ja" else 1
    return {key: pair[index] for key, pair in TEXTS.items()}


def default_language(participant_name: str) -> str:
    return "ja" if _CJK.search(participant_name) else "en"


def pick(requested: str | None, cookie: str | None, participant_name: str) -> str:
    for choice in (requested, cookie):
        if choice in LANGUAGES:
            return str(choice)
    return default_language(participant_name)
