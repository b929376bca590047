"""Failed logins and verification codes sent, counted per account, phone and client
address in moving windows (the ``limits`` library).

The counts live in this process's memory, or in Redis when ``YUTANG_REDIS_URL`` is set so
every server process shares them. A key that used up its limit is refused with
TOO_MANY_ATTEMPTS until its oldest counted attempt leaves the window; a refused login is
not checked at all, so a guessing storm costs no password hashing. If Redis fails, the
request goes on uncounted (logged): an outage of the counter must not lock everyone out.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import ConfigurationError, StorageError

from yutang.core.errors import ConfigError, TooManyAttempts
from yutang.core.settings import AppSettings

log = logging.getLogger("yutang.throttle")


@dataclass(frozen=True)
class Counter:
    """One kind of key (``login-account``, ...) and the rates it is held to."""

    scope: str
    items: tuple[RateLimitItem, ...]


def _rates(value: str, setting: str) -> tuple[RateLimitItem, ...]:
    try:
        return tuple(parse_many(value))
    except ValueError as exc:
        raise ConfigError(f"{setting}: {value!r} is not a rate such as '5/15minutes'") from exc


def _storage(settings: AppSettings) -> Storage:
    if settings.redis_url is None:
        return MemoryStorage()
    try:
        return RedisStorage(
            "async+" + settings.redis_url,
            wrap_exceptions=True,
            implementation="redispy",
            key_prefix=settings.cache_prefix + "limits",
        )
    except ConfigurationError as exc:
        raise ConfigError(f"YUTANG_REDIS_URL: {exc} (install yutang[redis])") from exc


class Throttle:
    """The counters of one app: failed logins, verification codes sent, sign-ups."""

    def __init__(self, settings: AppSettings, storage: Storage) -> None:
        self.limiter = MovingWindowRateLimiter(storage)
        self.login_account = Counter(
            "login-account", _rates(settings.login_limit_account, "YUTANG_LOGIN_LIMIT_ACCOUNT")
        )
        self.login_address = Counter(
            "login-address", _rates(settings.login_limit_address, "YUTANG_LOGIN_LIMIT_ADDRESS")
        )
        self.code_phone = Counter(
            "code-phone", _rates(settings.code_limit_phone, "YUTANG_CODE_LIMIT_PHONE")
        )
        self.code_address = Counter(
            "code-address", _rates(settings.code_limit_address, "YUTANG_CODE_LIMIT_ADDRESS")
        )
        self.register_address = Counter(
            "register-address",
            _rates(settings.register_limit_address, "YUTANG_REGISTER_LIMIT_ADDRESS"),
        )

    @classmethod
    def for_settings(cls, settings: AppSettings) -> Throttle:
        """Counters in memory, or in Redis when one is configured."""
        return cls(settings, _storage(settings))

    async def before_login(self, account: str, address: str) -> None:
        """Refuse a login while the account or the client address is out of attempts."""
        await self._refuse_if_spent((self.login_account, account), (self.login_address, address))

    async def login_failed(self, account: str, address: str) -> None:
        """Count a wrong password against the account and the address."""
        await self._count((self.login_account, account), (self.login_address, address))

    async def login_passed(self, account: str) -> None:
        """The right password: the account's failures are forgotten (the address's are
        not, so one known account cannot launder guesses at others)."""
        try:
            for item in self.login_account.items:
                await self.limiter.clear(item, self.login_account.scope, account)
        except StorageError:
            log.warning("login counters unavailable", exc_info=True)

    async def spend_code(self, phone: str, address: str) -> None:
        """Count a verification code sent to ``phone``, or refuse it if that phone or the
        address has had its share."""
        counters = ((self.code_phone, phone), (self.code_address, address))
        await self._refuse_if_spent(*counters)
        await self._count(*counters)

    async def spend_registration(self, tenant_id: int, address: str) -> None:
        """Count a sign-up from ``address``, or refuse it if the address has had its
        share: accounts cannot be farmed from one address even where the tenant asks for
        no verification code."""
        counter = (self.register_address, f"{tenant_id}:{address}")
        await self._refuse_if_spent(counter)
        await self._count(counter)

    async def _refuse_if_spent(self, *counters: tuple[Counter, str]) -> None:
        waits: list[float] = []
        try:
            for counter, key in counters:
                for item in counter.items:
                    if not await self.limiter.test(item, counter.scope, key):
                        stats = await self.limiter.get_window_stats(item, counter.scope, key)
                        waits.append(stats.reset_time - time.time())
        except StorageError:
            log.warning("attempt counters unavailable; not counted", exc_info=True)
            return
        if waits:
            raise TooManyAttempts(max(1, math.ceil(max(waits))))

    async def _count(self, *counters: tuple[Counter, str]) -> None:
        try:
            for counter, key in counters:
                for item in counter.items:
                    await self.limiter.hit(item, counter.scope, key)
        except StorageError:
            log.warning("attempt counters unavailable; not counted", exc_info=True)
