"""The chain's hashed form is a contract with every database already written: it must not drift."""

from bot.audit import GENESIS, AuditDraft, chain_hash

DRAFT = AuditDraft(1732470000000000, "p-3f2a9c0d1e2b4a5c", "command:deploy", "web", "ok", "approval:7",
                   {"args": {"env": "production", "version": "v1.2.3"},
                    "note": "déployé ⵜⴰⵡⵉⵙⵉ \u2068x\u2069", "n": 3, "f": 0.5, "none": None})


def test_a_known_row_keeps_its_hash() -> None:
    # Computed by the first release (json.JSONEncoder(sort_keys, compact, ensure_ascii=False)).
    assert chain_hash(GENESIS, 1, DRAFT) == "4f7fb919668e42693d2b1a5f2ac6174b3a8bf08d8ba9575d328c640a2b9e9a90"
