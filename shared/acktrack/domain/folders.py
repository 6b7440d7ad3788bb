"""Whose an inbound file is: the insurer folder its key sits under
(``inbound/<insurer id>/``), and whether its senders (ISA06) may speak through it."""

from __future__ import annotations

from acktrack.domain.ports import PipelineConfig

INBOUND_PREFIX = "inbound/"


def insurer_folder(key: str) -> str | None:
    """The insurer a key under ``inbound/<insurer id>/`` is bound to (None: no folder)."""
    below = key[len(INBOUND_PREFIX) :] if key.startswith(INBOUND_PREFIX) else key
    folder, slash, _ = below.partition("/")
    return folder if slash and folder else None


def sender_problem(key: str, senders: set[str], config: PipelineConfig) -> str:
    """Why an inbound file may not speak for its senders (ISA06), or "" when it may."""
    ours = sorted(senders & set(config.our_sender_ids))
    if ours:
        return (
            f"misplaced: ISA06 {ours[0]!r} is one of our own sender ids, so this is a file we "
            "sent; put it under outbound/ in the outbound bucket"
        )
    folder = insurer_folder(key)
    if folder is None:
        if config.require_insurer_folders:
            return (
                "inbound files must be under inbound/<insurer id>/ (their ISA06); "
                "RequireInsurerFolders is on"
            )
        return ""
    others = sorted(senders - {folder})
    if others:  # the folder is in the key the report shows; logs carry only this reason
        return (
            f"an insurer folder takes that insurer's files only; this one was sent by "
            f"{others[0]!r} (ISA06), another insurer"
        )
    return ""
