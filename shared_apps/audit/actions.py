"""The audit log's one write: appending an entry (审计日志). Checkpoints, which sign the chains'
heads, are in checkpoints.py; verification in queries.py."""

import ipaddress
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, models, transaction
from django.utils import timezone

from shared_apps.audit.models import AuditEntry

GENESIS = "0" * 64
# Writers take pg_advisory_xact_lock(410002, hashtext(tenant code)), one writer per chain at a
# time, and the checkpoint gate (checkpoints.py) shared: both in audit_chain_next() (migration
# 0003).


@dataclass(frozen=True)
class Actor:
    """Who acts (行为主体): a person (`user`), another system (`client`, a SystemClient), or a label
    for the platform itself ("system:import"). `record_audit` takes an Actor, a User, a
    SystemClient, an ApiToken (its person or client) or a label."""

    user: AbstractBaseUser | None = None
    client: models.Model | None = None
    label: str = ""

    @classmethod
    def of(cls, value) -> "Actor":
        if isinstance(value, Actor):
            return value
        if isinstance(value, AbstractBaseUser):
            return cls(user=value)
        label = getattr(getattr(value, "_meta", None), "label", "")
        if label == "accounts.SystemClient":
            return cls(client=value)
        if label == "accounts.ApiToken":
            return cls(user=value.user, client=value.client)
        return cls(label=str(value))

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.get_username()
        if self.client is not None:
            return f"client:{self.client.client_id}"
        return self.label


def _client_ip(request) -> str | None:
    address = request.META.get("REMOTE_ADDR") if request is not None else None
    try:
        ip = ipaddress.ip_address(address) if address else None
    except ValueError:
        return None
    if getattr(ip, "scope_id", None):  # fe80::1%eth0: the column keeps no scope, nor does the hash
        ip = ipaddress.IPv6Address(int(ip))
    return str(ip) if ip else None


def record_audit(
    *,
    actor,
    action: str,
    target: str = "",
    data: dict | None = None,
    tenant=None,
    on_behalf_of: str = "",
    request=None,
) -> AuditEntry:
    """Append one entry to the audit chain. `actor`: see Actor. Done on behalf of someone (代办):
    taken from the request when not given."""
    who = Actor.of(actor)
    if (
        not on_behalf_of
        and request is not None
        and getattr(request, "acting_for", None) is not None
    ):
        on_behalf_of = request.acting_for.audit_label
    entry = AuditEntry(
        at=timezone.now(),
        actor=_text(who.name)[:150],
        actor_user=who.user,
        actor_client=who.client,
        on_behalf_of=_text(on_behalf_of)[:150],
        tenant_code=getattr(tenant, "code", "") or "",
        action=_text(action)[:100],
        target=_text(target)[:300],
        data=_storable(data or {}),
        ip_address=_client_ip(request),
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # Takes the locks, reads the chain's newest hash and draws the id the hash covers; and
        # writes the address as the column will give it back (::ffff:192.0.2.1, which Python
        # writes ::ffff:c000:201), or the entry would not verify.
        cursor.execute(
            "SELECT c.prev_hash, c.next_id, host(%s::inet) FROM audit_chain_next(%s) c",
            [entry.ip_address, entry.tenant_code],
        )
        prev_hash, entry.id, entry.ip_address = cursor.fetchone()
        entry.prev_hash = prev_hash or GENESIS
        entry.entry_hash = entry.compute_hash()
        entry.save(force_insert=True)
    return entry


def record_audit_many(
    *, actor, action: str, tenant, entries: list[tuple[str, dict]]
) -> list[AuditEntry]:
    """Append one entry per (target, data) of one action by one actor, in one unit's chain, at
    once: for a batch of steps a job applies together (the hand-off relay). The chain is locked and
    its head read once, the ids drawn in one statement (in order, after the lock: the chain's order
    is its ids'), and the entries written in one INSERT, each hashed over the one before."""
    if not entries:
        return []
    who = Actor.of(actor)
    chain = getattr(tenant, "code", "") or ""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT c.prev_hash, c.next_id FROM audit_chain_next(%s) c", [chain])
        prev_hash, first_id = cursor.fetchone()
        cursor.execute(
            "SELECT nextval('public.audit_auditentry_id_seq') FROM generate_series(2, %s)",
            [len(entries)],
        )
        ids = [first_id, *sorted(row[0] for row in cursor.fetchall())]
        prev_hash = prev_hash or GENESIS
        at = timezone.now()
        rows = []
        for entry_id, (target, data) in zip(ids, entries, strict=True):
            entry = AuditEntry(
                id=entry_id,
                at=at,
                actor=_text(who.name)[:150],
                actor_user=who.user,
                actor_client=who.client,
                tenant_code=chain,
                action=_text(action)[:100],
                target=_text(target)[:300],
                data=_storable(data or {}),
                prev_hash=prev_hash,
            )
            entry.entry_hash = prev_hash = entry.compute_hash()
            rows.append(entry)
        AuditEntry.objects.bulk_create(rows)
    return rows


def _text(value) -> str:
    # PostgreSQL text can't hold NUL: typed input (a sign-in name) must not make the audit fail.
    return str(value).replace("\x00", "\ufffd")


def _storable(value):
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {_text(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return value
