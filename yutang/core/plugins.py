"""Plugin discovery, per-plugin-set hook callers, owned objects, and the one traced call
site through which the core calls plugin code (pluggy's callers cannot await)."""

from __future__ import annotations

import importlib.metadata
import inspect
import logging
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import msgspec
import pluggy
from packaging.requirements import InvalidRequirement, Requirement

from yutang.core import hookspecs
from yutang.core.contract import ROLES, ErrorCodes, Permission, TenantInfo
from yutang.core.errors import ConfigError
from yutang.core.plugin_inputs import OPERATIONS, PluginInput, plugin_input

ENTRY_POINT_GROUP = "yutang.plugins"
CORE_PLUGIN = "core"
CORE_DISTRIBUTION = "yutang"
# Registration hooks returning objects the core calls by key, and the key's attribute.
OWNED = {
    "yutang_activities": "kind",
    "yutang_fulfilment_methods": "name",
    "yutang_reward_kinds": "kind",
    "yutang_payment_providers": "name",
    "yutang_verification_providers": "name",
}

trace_log = logging.getLogger("yutang.plugins.trace")


@dataclass(frozen=True, slots=True)
class Owned:
    """An object a plugin registered (an activity kind, a fulfilment method, a reward
    kind) with the plugin that owns it."""

    plugin: str
    obj: Any


@dataclass(frozen=True)
class PluginInfo:
    """An installed plugin: its name (entry-point name), module and distribution."""

    name: str
    module: object
    version: str
    distribution: str
    settings_schema: type[msgspec.Struct] | None
    models: str | None
    hooks: tuple[str, ...] = field(default=())
    permissions: tuple[Permission, ...] = field(default=())
    error_codes: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, PluginInput] = field(default_factory=dict)


class PluginSet:
    """Hook callers restricted to one set of plugins, built once per distinct set.

    The core plugin is always part of the set. Subset callers are cached per hook (the
    pattern of pytest's FSHookProxy); ``memo`` caches what is derived from the set.
    """

    def __init__(self, registry: PluginRegistry, names: frozenset[str]) -> None:
        self.registry = registry
        self.names = names
        self._removed = [registry.pm.get_plugin(n) for n in registry.plugins if n not in names]
        self._callers: dict[str, pluggy.HookCaller] = {}
        self.memo: dict[Hashable, Any] = {}

    def caller(self, hook: str) -> pluggy.HookCaller:
        """The hook caller for ``hook`` limited to this set."""
        cached = self._callers.get(hook)
        if cached is None:
            cached = self.registry.pm.subset_hook_caller(hook, remove_plugins=self._removed)
            self._callers[hook] = cached
        return cached

    def implementers(self, hook: str) -> list[str]:
        """Names of plugins in this set implementing ``hook``, in call order."""
        return [impl.plugin_name for impl in reversed(self.caller(hook).get_hookimpls())]

    async def call(
        self, hook: str, *, each: Mapping[str, Mapping[str, Any]] | None = None, **kwargs: Any
    ) -> list[Any]:
        """Call every implementation in order, awaiting async ones; non-None results.

        ``each`` maps an argument to its value per plugin (what a plugin's own price steps
        kept for it): every implementation gets its own, None when it has none.
        """
        results = []
        for impl in reversed(self.caller(hook).get_hookimpls()):
            args = kwargs
            if each:
                args = {**kwargs, **{a: v.get(impl.plugin_name) for a, v in each.items()}}
            res = await self.registry.invoke(
                impl.plugin_name, hook, impl.function, {a: args[a] for a in impl.argnames}
            )
            if res is not None:
                results.append(res)
        return results

    async def first(self, hook: str, **kwargs: Any) -> Any:
        """Call implementations in order until one returns non-None (a plugin's own
        ``firstresult`` hookspec, such as the distributor's payout provider)."""
        for impl in reversed(self.caller(hook).get_hookimpls()):
            res = await self.registry.invoke(
                impl.plugin_name, hook, impl.function, {a: kwargs[a] for a in impl.argnames}
            )
            if res is not None:
                return res
        return None

    def owned(self, hook: str) -> dict[str, Owned]:
        """What the plugins of this set registered through an owned-object hook
        (``yutang_activities``...), by key."""
        found: dict[str, Owned] | None = self.memo.get(("owned", hook))
        if found is None:
            found = {
                key: owned
                for key, owned in self.registry.owned[hook].items()
                if owned.plugin in self.names
            }
            self.memo[("owned", hook)] = found
        return found

    def by_name(self, hook: str) -> dict[str, Any]:
        """The payment or verification providers of this set, by ``name`` (one plugin's
        each: a second plugin offering a taken name is refused at registration)."""
        return {key: owned.obj for key, owned in self.owned(hook).items()}

    def collect(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a synchronous registration hook; ``(plugin, result)`` pairs, non-None."""
        out = []
        for impl in reversed(self.caller(hook).get_hookimpls()):
            res = impl.function(*(kwargs[a] for a in impl.argnames))
            if res is not None:
                out.append((impl.plugin_name, res))
        return out


class PluginRegistry:
    """The process-wide plugin manager: every installed, allowed plugin registered once.

    Per-tenant enablement never registers or unregisters anything; it selects a
    :class:`PluginSet`.
    """

    def __init__(self, *, trace: bool = False, core_version: str = "") -> None:
        self.trace = trace
        self.core_version = core_version or installed_version()
        self.pm = pluggy.PluginManager("yutang")
        self.pm.add_hookspecs(hookspecs)
        # Historic: replayed to every plugin registered later, so each may add its specs.
        self.pm.hook.yutang_add_hookspecs.call_historic(kwargs={"plugin_manager": self.pm})
        self.plugins: dict[str, PluginInfo] = {}
        self.permissions: dict[str, Permission] = {}
        self.error_codes: dict[str, str] = {}
        self.owned: dict[str, dict[str, Owned]] = {hook: {} for hook in OWNED}
        self._sets: dict[frozenset[str], PluginSet] = {}

    async def invoke(
        self, plugin: str, what: str, fn: Callable[..., Any], kwargs: Mapping[str, Any]
    ) -> Any:
        """Call plugin code (a hook implementation or an owned object's method), awaiting
        what it returns; with tracing on, log the plugin, what was called and how long it
        took. Every call the core makes into a plugin after start-up goes through here."""
        if not self.trace:
            res = fn(**kwargs)
            return await res if inspect.isawaitable(res) else res
        started = time.perf_counter()
        outcome = "error"
        try:
            res = fn(**kwargs)
            if inspect.isawaitable(res):
                res = await res
            outcome = "ok"
            return res
        finally:
            trace_log.info(
                "%s %s %s %.3f ms", plugin, what, outcome, (time.perf_counter() - started) * 1e3
            )

    def register(
        self, name: str, module: object, version: str = "", distribution: str = ""
    ) -> None:
        """Register one plugin under ``name``; checks its hooks against the specs, and
        that a plugin of another distribution supports this core's version."""
        if name in self.plugins:
            raise ConfigError(f"plugin {name!r} is installed twice ({distribution})")
        if not name.isidentifier() or name != name.lower():
            raise ConfigError(f"plugin name {name!r} must be a lower-case identifier")
        if distribution and distribution != CORE_DISTRIBUTION:
            self._check_supported(name, distribution)
        try:
            self.pm.register(module, name=name)
        except pluggy.PluginValidationError as exc:
            raise ConfigError(f"plugin {name!r}: {exc}") from exc
        except Exception as exc:  # its yutang_add_hookspecs raised
            self._forget(name)
            raise ConfigError(f"plugin {name!r}: yutang_add_hookspecs raised {exc!r}") from exc
        try:
            info, owned = self._declarations(name, module, version, distribution)
        except ConfigError:
            self._forget(name)
            raise
        except Exception as exc:  # a registration hook of the plugin raised
            self._forget(name)
            raise ConfigError(f"plugin {name!r}: a registration hook raised {exc!r}") from exc
        self.permissions.update((p.name, p) for p in info.permissions)
        self.error_codes.update(info.error_codes)
        for hook, objs in owned.items():
            self.owned[hook].update(objs)
        self.plugins[name] = info
        self._sets.clear()

    def _forget(self, name: str) -> None:
        """Take a refused plugin out of the manager, so none of its hooks ever runs."""
        if self.pm.has_plugin(name):
            self.pm.unregister(name=name)

    def _declarations(
        self, name: str, module: object, version: str, distribution: str
    ) -> tuple[PluginInfo, dict[str, dict[str, Owned]]]:
        """What plugin ``name`` declares through its registration hooks, checked; nothing
        is recorded until all of it passes."""
        for impl_caller in self.pm.get_hookcallers(module) or []:
            for impl in impl_caller.get_hookimpls():
                if impl.plugin_name == name and (impl.hookwrapper or impl.wrapper):
                    raise ConfigError(f"plugin {name!r}: hook wrappers are not supported")
        hooks = tuple(sorted(c.name for c in self.pm.get_hookcallers(module) or []))
        self._check_jobs(name)
        owned = {hook: self._owned_by(name, hook, key) for hook, key in OWNED.items()}
        info = PluginInfo(
            name=name,
            module=module,
            version=version,
            distribution=distribution,
            settings_schema=self._own(name, "yutang_settings_schema"),
            models=self._own(name, "yutang_models"),
            hooks=hooks,
            permissions=self._permissions(name),
            error_codes=self._error_codes(name),
            inputs=self._inputs(name),
        )
        return info, owned

    def _check_jobs(self, name: str) -> None:
        """A plugin's job names are ``<plugin>.<job>``: no two plugins share one, so the
        worker never runs one plugin's handler for another's job."""
        for impl in self.pm.hook.yutang_jobs.get_hookimpls():
            if impl.plugin_name != name:
                continue
            jobs = cast(dict[str, Any], impl.function() or {})
            for job in jobs:
                if not job.startswith(f"{name}.") or job == f"{name}.":
                    raise ConfigError(f"plugin {name!r}: job {job!r} must look like {name}.what")

    def _check_supported(self, name: str, distribution: str) -> None:
        """Refuse a plugin whose distribution does not declare that it supports the
        running core (``yutang~=0.2.0`` among its dependencies)."""
        try:
            requires = importlib.metadata.requires(distribution) or []
        except importlib.metadata.PackageNotFoundError:
            requires = []
        declared = []
        for line in requires:
            try:
                req = Requirement(line)
            except InvalidRequirement:
                continue
            if req.name.lower() == CORE_DISTRIBUTION and req.marker is None:
                declared.append(req)
        if not declared:
            raise ConfigError(
                f"plugin {name!r} ({distribution}) does not say which Yutang it supports: "
                f"add a dependency such as yutang~={'.'.join(self.core_version.split('.')[:2])}.0"
            )
        for req in declared:
            if not req.specifier.contains(self.core_version, prereleases=True):
                raise ConfigError(
                    f"plugin {name!r} ({distribution}) supports yutang{req.specifier}, "
                    f"not this Yutang {self.core_version}: upgrade the plugin or pin Yutang"
                )

    def _owned_by(self, name: str, hook: str, key: str) -> dict[str, Owned]:
        """What plugin ``name`` registers through an owned-object hook, by key; a key is a
        lower-case identifier no other plugin registered."""
        found: dict[str, Owned] = {}
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin_name != name:
                continue
            for obj in impl.function() or ():
                value = getattr(obj, key, None)
                if not isinstance(value, str) or not value.isidentifier() or value != value.lower():
                    raise ConfigError(
                        f"plugin {name!r}: {hook} returned an object whose {key} "
                        f"{value!r} is not a lower-case identifier"
                    )
                other = self.owned[hook].get(value) or found.get(value)
                if other is not None:
                    raise ConfigError(
                        f"plugin {name!r}: {key} {value!r} of {hook} is registered by "
                        f"plugin {other.plugin!r} already"
                    )
                found[value] = Owned(name, obj)
        return found

    def _permissions(self, name: str) -> tuple[Permission, ...]:
        """Plugin ``name``'s declared permissions, each ``<name>.<what>`` with known roles."""
        declared = tuple(self._own(name, "yutang_permissions") or ())
        seen: set[str] = set()
        for perm in declared:
            if not isinstance(perm, Permission):
                raise ConfigError(f"plugin {name!r}: permissions must be api.Permission")
            prefix, _, what = perm.name.partition(".")
            parts = what.split(".")
            if prefix != name or not all(p.isidentifier() and p == p.lower() for p in parts):
                raise ConfigError(
                    f"plugin {name!r}: permission {perm.name!r} must look like {name}.what"
                )
            unknown = set(perm.roles) - set(ROLES)
            if unknown:
                raise ConfigError(
                    f"plugin {name!r}: permission {perm.name!r} grants unknown roles "
                    f"{', '.join(sorted(unknown))} (roles: {', '.join(ROLES)})"
                )
            if perm.name in seen:
                raise ConfigError(f"plugin {name!r}: permission {perm.name!r} declared twice")
            seen.add(perm.name)
        return declared

    def _error_codes(self, name: str) -> dict[str, str]:
        """Plugin ``name``'s declared error codes (namespaced by :class:`ErrorCodes`)."""
        declared = self._own(name, "yutang_error_codes")
        if declared is None:
            return {}
        if not isinstance(declared, ErrorCodes) or declared.plugin != name:
            raise ConfigError(
                f"plugin {name!r}: yutang_error_codes must return ErrorCodes({name!r}, ...)"
            )
        taken = declared.codes.keys() & self.error_codes.keys()
        if taken:
            shared = ", ".join(sorted(taken))
            raise ConfigError(f"plugin {name!r}: error codes declared by another plugin: {shared}")
        return dict(declared.codes)

    def _inputs(self, name: str) -> dict[str, PluginInput]:
        """Plugin ``name``'s input per operation, read as GraphQL input types whose names
        no other installed plugin's input types take."""
        found: dict[str, PluginInput] = {}
        for impl in self.pm.hook.yutang_input_schema.get_hookimpls():
            if impl.plugin_name != name:
                continue
            for operation in OPERATIONS:
                struct = impl.function(*(operation for _ in impl.argnames))
                if struct is not None:
                    found[operation] = plugin_input(name, operation, struct)
        mine = {n for declared in found.values() for n in declared.shape.names()}
        for other in self.plugins.values():
            for declared in other.inputs.values():
                taken = mine.intersection(declared.shape.names())
                if taken:
                    raise ConfigError(
                        f"plugin {name!r}: input type {min(taken)} is plugin "
                        f"{other.name!r}'s already"
                    )
        return found

    def check(self) -> None:
        """Once every plugin is registered: no implementation of an unknown hook (a
        plugin may implement hooks another plugin declares, whatever the load order)."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise ConfigError(str(exc)) from exc

    def _own(self, name: str, hook: str) -> Any:
        """What plugin ``name``'s own implementation of a no-argument hook returns."""
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin_name == name:
                return impl.function()
        return None

    def load_entry_points(self, blocked: Iterable[str] = ()) -> None:
        """Register every ``yutang.plugins`` entry point, sorted by name."""
        blocked = set(blocked)
        eps = sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
        for ep in eps:
            if ep.name in blocked or ep.name in self.plugins:
                continue
            try:
                module = ep.load()
            except Exception as exc:
                raise ConfigError(f"plugin {ep.name!r} failed to import: {exc}") from exc
            dist = ep.dist
            self.register(
                ep.name,
                module,
                version=dist.version if dist else "",
                distribution=dist.name if dist else "",
            )

    def plugin_set(self, names: Iterable[str]) -> PluginSet:
        """The cached :class:`PluginSet` for these plugin names (core always included)."""
        key = frozenset(names) | {CORE_PLUGIN}
        ps = self._sets.get(key)
        if ps is None:
            unknown = key - self.plugins.keys()
            if unknown:
                raise ConfigError(f"unknown plugins: {', '.join(sorted(unknown))}")
            ps = self._sets[key] = PluginSet(self, key)
        return ps

    def owner(self, hook: str, key: str) -> Owned | None:
        """Whoever registered ``key`` through an owned-object hook, in any plugin set (an
        order's activity is released even after the tenant disabled its plugin)."""
        return self.owned[hook].get(key)

    def everything(self) -> PluginSet:
        """Every installed plugin: runs jobs of plugins a tenant has since disabled."""
        return self.plugin_set(self.plugins)


def installed_version() -> str:
    """The installed Yutang's version (``0.0`` in a source tree never installed)."""
    try:
        return importlib.metadata.version(CORE_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "0.0"


def hooks_of(tenant: TenantInfo) -> PluginSet:
    """The plugin set the core built the tenant with (typed; the contract keeps it opaque)."""
    hooks = tenant.hooks
    assert isinstance(hooks, PluginSet)
    return hooks
