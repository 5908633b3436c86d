"""Who may do what in the FAQ, as plain functions of the user's role.

    ask      tenants (staff answer; their own questions go elsewhere)
    answer   everyone logged in; a caretaker's or agent's answer is staff's
    hide     agents, for a question or answer that breaks the house rules;
    show     agents, to undo a hide
    see      everyone sees what is not hidden; agents see hidden items too,
             marked, with who hid them and why

A hidden question is absent for everyone else (404, as if it never was), so
its id cannot be probed; its author does not see it either.
"""

from __future__ import annotations

from hub.directory.model import Role, User

STAFF = frozenset({Role.CARETAKER, Role.AGENT})


def may_ask(user: User) -> bool:
    return user.role is Role.TENANT


def may_answer(user: User) -> bool:
    return user.role in (Role.TENANT, Role.CARETAKER, Role.AGENT)


def may_moderate(user: User) -> bool:
    return user.role is Role.AGENT


def sees_hidden(user: User) -> bool:
    return may_moderate(user)


def is_staff(user: User) -> bool:
    return user.role in STAFF
