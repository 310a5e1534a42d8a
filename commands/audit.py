"""audit verify / audit export: check the hash chain (and the tail against the latest anchor), and
export the log as CSV or JSON with a detached digest (``dihya audit …`` does both from a shell)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.argtypes import Choice, Name, Text
from bot.audit import verify
from bot.context import Context
from bot.errors import UserError
from bot.i18n import N_, Msg
from bot.ports import Compliance, LogReport
from bot.registry import Arg, Attachment, Command, Reply

FORMAT = Choice({"csv": (), "json": ()}, expected=N_("an export format"))


def audit_verify(ctx: Context, args: Mapping[str, object]) -> Reply:
    """Reads the whole log: runs off the event loop (which keeps answering meanwhile)."""
    return Reply((), later=lambda: _verify(ctx))


def _verify(ctx: Context) -> Reply:
    compliance = ctx.services.compliance
    if compliance is not None:
        report = compliance.verify_log()
    else:
        store = ctx.services.store
        report = LogReport(verify(store.audit_records(), store.audit_head()), None)
    intact, lines = verification_lines(report)
    return Reply(lines) if intact else Reply(lines, outcome="tampered")


def verification_lines(report: LogReport) -> tuple[bool, tuple[Msg, ...]]:
    """What ``audit verify`` says, in chat and from ``dihya audit verify``: (intact, lines)."""
    if not report.chain.ok:
        return False, (Msg(N_("Audit log TAMPERED: row {seq} is bad ({reason})."),
                           {"seq": report.chain.bad_seq, "reason": Msg(report.chain.reason)}),)
    chain = Msg(N_("Audit log intact: {count} rows, chain verified."), {"count": report.chain.checked})
    if report.tail is None:
        return True, (chain,)
    if not report.tail.ok:
        return False, (Msg(N_("Audit log TAMPERED at its end: {reason} (anchored row {seq})."),
                           {"reason": Msg(report.tail.reason), "seq": report.tail.bad_seq}),)
    return True, (chain, Msg(N_("Tail check passed: the log still holds every row the latest anchor recorded.")))


def audit_export(ctx: Context, args: Mapping[str, object]) -> Reply:
    """Runs off the event loop, after the rows buffered so far are written (the command is durable)."""
    return Reply((), later=lambda: _export(ctx, args))


def _export(ctx: Context, args: Mapping[str, object]) -> Reply:
    compliance = _compliance(ctx)
    fmt = str(args.get("format") or "csv")
    since = str(args["since"]) if args.get("since") else None
    actions = frozenset(a for a in re.split(r"[\s,]+", str(args.get("actions") or "")) if a)
    files = compliance.audit_export(fmt, since, actions)
    main = files[0]
    uploads = tuple(Attachment(f.filename, f.path, Msg(N_("Audit export {name}"), {"name": f.filename}))
                    for f in files)
    check = N_("Audit export {name}: actors are pseudonyms, personal data is masked. Check it with "
               "“sha256sum -c {name}.sha256”.")
    lines: tuple[Msg, ...] = (Msg(check, {"name": main.filename}),)
    if any(f.filename.endswith(".sig") for f in files):
        lines += (Msg(N_("It is signed: {name}.sig verifies with the operator's Ed25519 public key."),
                      {"name": main.filename}),)
    details = {"format": fmt, "since": since or "", "actions": sorted(actions),
               "sha256": main.sha256}
    return Reply(lines, target=main.filename, details=details, uploads=uploads)


def _compliance(ctx: Context) -> Compliance:
    if ctx.services.compliance is None:
        raise UserError(N_("Audit exports are not available in this deployment."))
    return ctx.services.compliance


COMMANDS = (
    Command(
        name="audit.verify",
        phrases={"en": ("audit verify",), "fr": ("audit vérifier", "vérifier audit"),
                 "ar": ("تدقيق تحقق", "تحقق من السجل"), "tzm": ("ⴰⵙⴼⵔⵓⵔ ⵙⵏⵇⴷ",)},
        permission="audit.read",
        help=N_("Check that nobody has changed, removed or reordered audit rows."),
        handler=audit_verify,
        examples=("audit verify",),
    ),
    Command(
        name="audit.export",
        phrases={"en": ("audit export [{format}] [since {since}] [action {actions}]",),
                 "fr": ("audit exporter [{format}] [depuis {since}] [action {actions}]",
                        "exporter audit [{format}] [depuis {since}] [action {actions}]"),
                 "ar": ("تدقيق تصدير [{format}] [منذ {since}] [إجراء {actions}]",),
                 "tzm": ("ⴰⵙⴼⵔⵓⵔ ⵙⵙⵓⴼⵖ [{format}] [ⵙⴳ {since}] [ⵜⵉⴳⴰⵡⵜ {actions}]",)},
        args=(Arg("format", FORMAT, N_("export format"), optional=True),
              Arg("since", Name(), N_("date or duration"), optional=True),
              Arg("actions", Text(max_length=300), N_("actions"), optional=True)),
        permission="audit.export",
        help=N_("Export the audit log as CSV or JSON (pseudonymised), with its SHA-256 file; "
                "e.g. “audit export json since 7d action deploy”."),
        handler=audit_export,
        mutating=True,  # the audit row is written before the file leaves
        examples=("audit export csv since 7d",),
    ),
)
