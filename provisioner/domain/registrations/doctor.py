# ruff: noqa: E501 - the Japanese answers are one sentence per line (wide characters count double)
"""``device doctor``: one answer to "what is this phone doing?", in Japanese and English.

The facts are what the service already knows (timeline: fetches, refusals, alerts; lockouts;
registrations; PoE); each cause is one rule, tried in order from the most basic (no power, no
fetch) to the last step (registered, then lost). The first rule that holds is the most likely
cause; every fact is listed too, so support sees why.

Refusals come from the device's timeline: the delivery pipeline tells it a MAC mismatch, wrong
credentials and a first contact from outside the tenant's networks (once a minute per device
and reason, see delivery/told_refusals.py), never the routine 401 that opens every Digest fetch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from provisioner.db.models import Device, DeviceEvent, Lockout, utcnow
from provisioner.domain.delivery.authorization import NETWORK_NOT_ALLOWED, WRONG_CREDENTIALS
from provisioner.domain.poe.alerts import AlertKind
from provisioner.domain.poe.status import bench_poe
from provisioner.domain.registrations.status import LineStatus, aware, device_lines
from provisioner.domain.timeline import EventKind

RECENT_EVENTS = 200
WATCHER = "firmware watcher"  # the actor of the firmware watcher's alerts


@dataclass(frozen=True)
class Facts:
    device: Device
    lines: list[LineStatus]
    last_fetch: DeviceEvent | None  # served
    last_refusal: DeviceEvent | None
    held: DeviceEvent | None  # the firmware watcher's alert
    poe_alerts: tuple[str, ...]
    locked_until: dt.datetime | None


@dataclass(frozen=True)
class Diagnosis:
    cause: str  # a rule's name; "ok" when nothing is wrong that the service can see
    ja: str
    en: str
    facts: list[str] = field(default_factory=list)


Rule = tuple[str, Callable[[Facts], tuple[str, str] | None]]


def _at(event: DeviceEvent) -> str:
    return f"{aware(event.at):%Y-%m-%d %H:%M} UTC"


def _poe_unpowered(f: Facts) -> tuple[str, str] | None:
    if not any(alert.startswith(AlertKind.POE_ONLY_UNPOWERED) for alert in f.poe_alerts):
        return None
    return ("PoE給電のみの電話機ですが、接続先のポートが給電していません。PoEスイッチのポートを確認してください。",
            "a PoE-only phone on a port that delivers no power: check the switch port")  # fmt: skip


def _locked_out(f: Facts) -> tuple[str, str] | None:
    if f.locked_until is None or aware(f.locked_until) <= utcnow():
        return None
    until = f"{aware(f.locked_until):%H:%M} UTC"
    return (f"取得元アドレスが{until}までロックアウトされています（認証失敗の繰り返し）。解除を待つか、原因の機器を止めてください。",
            f"its address is locked out until {until} after repeated failed logins: wait, or "
            "stop whatever keeps guessing")  # fmt: skip


def _refused_since_fetch(f: Facts, reason: str) -> DeviceEvent | None:
    """The last refusal, if it was for ``reason`` and nothing was served since."""
    refusal = f.last_refusal
    if refusal is None or refusal.detail != reason or _after(f.last_fetch, refusal):
        return None
    return refusal


def _wrong_password(f: Facts) -> tuple[str, str] | None:
    if (refusal := _refused_since_fetch(f, WRONG_CREDENTIALS)) is None:
        return None
    return (f"{_at(refusal)}に{refusal.source}から誤ったプロビジョニング用パスワード（Digest認証）で取得しようとしました。"
            "電話機に設定されたパスワードが違います。再登録（device re-enrol）で新しい認証情報を届けてください。",
            f"it asked for its file at {_at(refusal)} from {refusal.source} with the wrong "
            "provisioning password (HTTP Digest): re-enrol it (`device re-enrol`) so that it "
            "gets new credentials")  # fmt: skip


def _network_not_allowed(f: Facts) -> tuple[str, str] | None:
    if (refusal := _refused_since_fetch(f, NETWORK_NOT_ALLOWED)) is None:
        return None
    return (f"{_at(refusal)}に{refusal.source}から初回取得がありましたが、このアドレスはテナントの許可ネットワークに含まれていません。"
            f"お客様の事務所のグローバルアドレスが{refusal.source}であれば、許可ネットワークに追加してください。",
            f"its first contact came at {_at(refusal)} from {refusal.source}, which is not in "
            f"its tenant's allowed networks: if the office's public address is "
            f"{refusal.source}, add it to the tenant's allowed networks")  # fmt: skip


def _never_fetched(f: Facts) -> tuple[str, str] | None:
    if f.last_fetch is not None:
        return None
    return ("設定ファイルを一度も取得していません。電源、ネットワーク、DHCPオプション66（プロビジョニングURL）を確認してください。",
            "it never fetched its file: check power, the network and DHCP option 66 "
            "(the provisioning URL)")  # fmt: skip


def _firmware_held(f: Facts) -> tuple[str, str] | None:
    if f.held is None:
        return None
    return (f"{_at(f.held)}にファームウェア更新がループしたため保留中です（{f.held.detail}）。イメージを確認してからロールアウトを再開してください。",
            f"its firmware update looped and is held since {_at(f.held)} ({f.held.detail}): "
            "check the image, then release it")  # fmt: skip


def _registered_then_lost(f: Facts) -> tuple[str, str] | None:
    lost = [line for line in f.lines if line.state == "unregistered" and line.lost_at]
    if not lost:
        return None
    ports = ", ".join(str(line.port) for line in lost)
    return (f"回線{ports}は登録されていましたが、{lost[0].lost_at:%H:%M} UTCに登録が切れました。"
            "電話機の電源とネットワーク、PBXへの経路を確認してください。",
            f"line {ports} was registered and lost its registration at "
            f"{lost[0].lost_at:%H:%M} UTC: check the phone's power and network and its path "
            "to the PBX core")  # fmt: skip


def _fetched_not_registered(f: Facts) -> tuple[str, str] | None:
    never = [line for line in f.lines if line.state == "unregistered" and not line.lost_at]
    if f.last_fetch is None or not never:
        return None
    ports = ", ".join(str(line.port) for line in never)
    fetch = f.last_fetch
    return (f"{_at(fetch)}に{fetch.source}から設定を取得しましたが、回線{ports}は一度も登録されていません。"
            "電話機がPBXに届いていません。"
            "事務所のネットワークが外向きUDP 5060を許可しているか確認してください。",
            f"fetched its file at {_at(fetch)} from {fetch.source} but line {ports} never "
            "registered: the phone cannot reach the PBX core, check that the office allows "
            "outbound UDP 5060")  # fmt: skip


RULES: Sequence[Rule] = (
    ("poe_only_unpowered", _poe_unpowered),
    ("locked_out", _locked_out),
    ("wrong_digest_password", _wrong_password),
    ("network_not_allowed", _network_not_allowed),
    ("never_fetched", _never_fetched),
    ("firmware_loop_held", _firmware_held),
    ("registered_then_lost", _registered_then_lost),
    ("fetched_not_registered", _fetched_not_registered),
)


def _after(first: DeviceEvent | None, second: DeviceEvent) -> bool:
    return first is not None and aware(first.at) > aware(second.at)


def facts(session: Session, device: Device, cores: Sequence[str]) -> Facts:
    events = list(
        session.scalars(
            select(DeviceEvent)
            .where(DeviceEvent.device_id == device.id)
            .order_by(DeviceEvent.at.desc(), DeviceEvent.id.desc())
            .limit(RECENT_EVENTS)
        )
    )
    fetch = next((e for e in events if e.kind == EventKind.FETCH and e.status == 200), None)
    refusal = next((e for e in events if e.kind == EventKind.REFUSED), None)
    held = next((e for e in events if e.kind == EventKind.ALERT and e.actor == WATCHER), None)
    latest = refusal or fetch
    source = latest.source if latest is not None else None
    locked = session.get(Lockout, source) if source else None
    poe = bench_poe(session, [device.mac]).get(device.mac)
    return Facts(device, device_lines(session, device, cores), fetch, refusal, held,
                 poe.alerts if poe else (), locked.until if locked else None)  # fmt: skip


def diagnose(session: Session, device: Device, cores: Sequence[str]) -> Diagnosis:
    """The first rule that holds, with the facts behind it."""
    found = facts(session, device, cores)
    listed = [f"state {device.state}"]
    if found.last_fetch is not None:
        listed.append(f"last fetch {_at(found.last_fetch)} from {found.last_fetch.source}")
    if found.last_refusal is not None:
        r = found.last_refusal
        listed.append(f"last refusal {_at(r)} from {r.source}: {r.status} {r.detail}")
    listed += [f"line {line.port}: {line.state}" for line in found.lines]
    listed += [f"PoE alert {alert}" for alert in found.poe_alerts]
    for name, rule in RULES:
        answer = rule(found)
        if answer is not None:
            return Diagnosis(name, answer[0], answer[1], listed)
    return Diagnosis("ok", "問題は見つかりませんでした。", "nothing wrong that the service can see",
                     listed)  # fmt: skip
