"""An office of 300 phones behind one NAT address boots at once: every phone gets its file,
while an attacker guessing passwords from another address is locked out."""

from __future__ import annotations

from sqlalchemy import select

from provisioner.app.service import Service
from provisioner.db.models import Device
from provisioner.domain.delivery.digest import REALM, DigestResponse, expected_response
from provisioner.domain.delivery.pipeline import Fetch, Outcome
from provisioner.domain.inventory.sheet import import_sheet, sheet_rows

PHONES = 300
OFFICE, ATTACKER = "198.51.100.7", "203.0.113.66"  # neither is a staging network


def answer(challenge: str, user: str, password: str, uri: str) -> DigestResponse:
    nonce = challenge.split('nonce="', 1)[1].split('"', 1)[0]
    blank = DigestResponse(user, REALM, nonce, uri, "", "auth", "00000001", "5ca1ab1e", "MD5")
    return blank._replace(response=expected_response(blank, password, "GET"))


def test_three_hundred_phones_behind_one_address_all_get_their_files(service: Service) -> None:
    rows = [
        {"tenant": "acme", "extension": str(2000 + index), "display_name": f"Phone {index}",
         "mac": f"000b82b1{index:04x}", "model": "GXP1610", "port": "1"}
        for index in range(PHONES)
    ]  # fmt: skip
    with service.db.session() as session:
        assert import_sheet(session, service.box, sheet_rows(rows), actor="test").ok
        phones = {
            device.mac: (device.http_user, service.box.decrypt(device.http_password_encrypted))
            for device in session.scalars(select(Device))
            if device.http_user and device.http_password_encrypted
        }
    assert len(phones) == PHONES
    provisioner = service.provisioner
    names = {mac: f"cfg{mac}.xml" for mac in phones}

    # The power comes back: every phone asks at once, before any has answered its challenge.
    challenges = {mac: provisioner.deliver(Fetch(names[mac], "http", OFFICE)) for mac in phones}
    assert {d.outcome for d in challenges.values()} == {Outcome.UNAUTHORIZED}

    # Beside it, an attacker guesses a phone's password from elsewhere until locked out.
    victim = next(iter(phones))
    guesses = 0
    while not provisioner.admission.limiter.locked(ATTACKER):
        challenge = provisioner.deliver(Fetch(names[victim], "http", ATTACKER)).challenge
        assert challenge is not None
        guess = answer(challenge, phones[victim][0], "wrong", f"/{names[victim]}")
        refused = provisioner.deliver(Fetch(names[victim], "http", ATTACKER, digest=guess))
        guesses += 1
        assert guesses <= 15  # 300 tokens; a round costs 21 (challenge 1, wrong password 20)
        assert refused.outcome is Outcome.UNAUTHORIZED
    assert guesses == 15
    challenge = provisioner.deliver(Fetch(names[victim], "http", ATTACKER)).challenge
    assert challenge is not None
    guess = answer(challenge, phones[victim][0], "wrong", f"/{names[victim]}")
    later = provisioner.deliver(Fetch(names[victim], "http", ATTACKER, digest=guess))
    assert later.outcome is Outcome.LOCKED  # a wrong answer from a locked source: 429

    # Every phone answers its challenge and gets its file; the office is never locked out.
    for mac, (user, password) in phones.items():
        challenge = challenges[mac].challenge
        assert challenge is not None
        digest = answer(challenge, user, password, f"/{names[mac]}")
        delivery = provisioner.deliver(Fetch(names[mac], "http", OFFICE, digest=digest))
        assert delivery.outcome is Outcome.SERVED, (mac, delivery.reason)
    assert not provisioner.admission.limiter.locked(OFFICE)
    # Locked out: a scan gets nothing; a device's file only the challenge, which tells nothing.
    assert provisioner.deliver(Fetch("cfg.xml", "http", ATTACKER)).outcome is Outcome.LOCKED
    challenged = provisioner.deliver(Fetch(names[victim], "http", ATTACKER))
    assert challenged.outcome is Outcome.UNAUTHORIZED
