"""Who may see or do what for which unit, from ``schemas/roles.yaml`` (pure).

Every console route asks :func:`allowed` before it reads or signs anything for
a unit, so "a commune sees only its unit, a district steward only its subtree"
is one function with its own tests, not a check repeated in each route.
"""

from __future__ import annotations

from dvkn_pipeline.reference.hierarchy import Hierarchy
from schemas.roles import Account, Permission, RoleName, RoleSpec, load_roles


def role_spec(role: RoleName) -> RoleSpec:
    return load_roles().roles[role]


def permits(role: RoleName, permission: Permission) -> bool:
    """Whether the role has the permission at all (whatever the unit)."""
    return permission in role_spec(role).may


def covers(hierarchy: Hierarchy, scope: str, unit: str) -> bool:
    """``unit`` is the scope unit itself or lies below it in ``hierarchy`` (unknown: no)."""
    if unit == scope:
        return True
    if unit not in hierarchy:
        return False
    return any(a.code == scope for a in hierarchy.ancestors(unit))


def allowed(account: Account, permission: Permission, unit: str, hierarchy: Hierarchy) -> bool:
    """May ``account`` use ``permission`` for ``unit`` (read with the period's hierarchy)?

    A disabled account may nothing; a role without a scope level (admin) may act
    on any unit; every other role only on its scope unit and the units below it.
    """
    if account.disabled or not permits(account.role, permission):
        return False
    if role_spec(account.role).scope_level is None:
        return True
    return covers(hierarchy, account.scope, unit)


def scope_error(role: RoleName, scope: str, hierarchies: list[Hierarchy]) -> str | None:
    """Why ``scope`` cannot be the scope of a ``role`` account, or None.

    The scope unit must exist at the role's level in some hierarchy version
    (a commune code from before the 2025 reform is still a valid scope).
    """
    level = role_spec(role).scope_level
    if level is None:
        return None
    for h in hierarchies:
        found = h.get(scope)
        if found is not None and found.level == level:
            return None
    return f"{scope} is not a {level} in any hierarchy version (role {role} needs one)"
