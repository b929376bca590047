"""Account mutations: members sign up, log in and out, change or reset their password
(storefront); staff and operators log in and out and change theirs (admin)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from yutang.core import auth, members, profiles, verification
from yutang.core import cart as carts
from yutang.core.accounts import change_password, log_in
from yutang.core.auth import IssuedToken
from yutang.core.contract import TenantInfo
from yutang.core.errors import DomainError
from yutang.core.inputs import convert
from yutang.core.models import Member
from yutang.graphql.context import Context
from yutang.graphql.ids import pk_of
from yutang.graphql.orders import member_nodes
from yutang.graphql.payloads import AuthPayload, attempt
from yutang.graphql.permissions import ANYONE, admin_mutation
from yutang.graphql.types import Gender, UserError
from yutang.graphql.types import Member as MemberNode

Info = strawberry.Info[Context, None]


@strawberry.enum(description="What a verification code is for.")
class VerificationPurpose(Enum):
    REGISTER = "register"
    RESET_PASSWORD = "reset_password"


async def signed_in(tenant: TenantInfo, member: Member, issued: IssuedToken) -> AuthPayload:
    """The payload of a session just opened for ``member`` (sign-up, login, password
    reset): every one answers the member, so a client needs no ``me`` after it."""
    return AuthPayload(
        token=issued.token,
        expires_at=issued.expires_at,
        member=(await member_nodes(tenant, [member]))[0],
    )


@strawberry.input(
    description="What changes of the member's profile: a field left out stays as it is, "
    "null clears it (gender back to UNKNOWN); a nickname can be replaced, not cleared."
)
class ProfileInput:
    nickname: str | None = strawberry.UNSET
    avatar_url: str | None = strawberry.field(
        default=strawberry.UNSET, description="An http(s) address of the avatar image."
    )
    birthday: date | None = strawberry.UNSET
    gender: Gender | None = strawberry.UNSET
    region: str | None = strawberry.field(
        default=strawberry.UNSET, description="A 6-digit region code, like 330106."
    )


@strawberry.type
class ProfilePayload:
    member: MemberNode | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


def profile_data(inp: ProfileInput) -> profiles.ProfileInput:
    """The core's input: only the fields the caller gave (null included)."""
    given = {k: v for k, v in vars(inp).items() if v is not strawberry.UNSET}
    if given.get("nickname", "") is None:
        raise DomainError("INVALID", "a nickname cannot be blank", "input.nickname")
    gender = given.get("gender")
    if isinstance(gender, Gender):
        given["gender"] = gender.value
    return profiles.ProfileInput(**given)


@strawberry.type
class TokenPayload:
    token: str | None = None
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the token stops working."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogoutPayload:
    logged_out: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PasswordPayload:
    changed: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class VerificationPayload:
    sent: bool = False
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the code sent stops working."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


async def _signed_in(ctx: Context, *kinds: str) -> tuple[auth.Principal, str]:
    """The caller and their token, if one of ``kinds``; UNAUTHENTICATED otherwise."""
    principal = await ctx.principal()
    if principal is None or ctx.token is None or principal.kind not in kinds:
        raise DomainError("UNAUTHENTICATED", "log in first")
    return principal, ctx.token


async def _logout(ctx: Context, *kinds: str) -> LogoutPayload:
    async def run() -> bool:
        _, token = await _signed_in(ctx, *kinds)
        return await auth.revoke_token(token)

    done, errors = await attempt(run)
    return LogoutPayload(logged_out=bool(done), errors=errors)


async def _change_password(ctx: Context, current: str, new: str, *kinds: str) -> PasswordPayload:
    async def run() -> bool:
        principal, token = await _signed_in(ctx, *kinds)
        await change_password(ctx.gate, principal, token, current, new)
        return True

    done, errors = await attempt(run)
    return PasswordPayload(changed=bool(done), errors=errors)


@strawberry.type
class MemberAccountMutation:
    @strawberry.mutation(
        description="Sign up. A tenant that asks for a verification code (see "
        "`requestVerificationCode`) takes it as `code`; a phone in use is PHONE_TAKEN; "
        "sign-ups are limited per client address (TOO_MANY_ATTEMPTS with `retryAfter`)."
    )
    async def register(
        self,
        info: Info,
        phone: str,
        password: str,
        nickname: str = "",
        referrer_id: strawberry.ID | None = None,
        extensions: strawberry.scalars.JSON | None = None,  # typed per schema
        cart_token: str | None = None,
        code: str | None = None,
    ) -> AuthPayload:
        ctx = info.context

        async def run() -> AuthPayload:
            data: dict[str, object] = {
                "phone": phone,
                "password": password,
                "nickname": nickname,
                "code": code,
                "extensions": extensions or {},
            }
            if referrer_id is not None:
                data["referrer_id"] = pk_of(referrer_id, "Member", "referrerId")
            checked = convert(data, members.RegisterInput)
            await ctx.throttle.spend_registration(ctx.tenant.id, ctx.client)
            member, issued = await members.register(
                ctx.tenant, checked, ctx.runtime.settings.token_days
            )
            if cart_token:
                await carts.merge_guest_cart(ctx.tenant, member.id, cart_token)
            return await signed_in(ctx.tenant, member, issued)

        result, errors = await attempt(run)
        return result or AuthPayload(errors=errors)

    @strawberry.mutation(
        description="Log in; a visitor's `cartToken` merges their cart into the member's. "
        "Failed attempts are limited per phone and per client address (TOO_MANY_ATTEMPTS "
        "with `retryAfter`)."
    )
    async def login(
        self, info: Info, phone: str, password: str, cart_token: str | None = None
    ) -> AuthPayload:
        ctx = info.context

        async def run() -> AuthPayload:
            member_id, issued = await members.login(ctx.tenant, phone, password, ctx.gate)
            if cart_token:
                await carts.merge_guest_cart(ctx.tenant, member_id, cart_token)
            member = await Member.get(tenant_id=ctx.tenant.id, id=member_id)
            return await signed_in(ctx.tenant, member, issued)

        result, errors = await attempt(run)
        return result or AuthPayload(errors=errors)

    @strawberry.mutation(description="End the session of the token this request carries.")
    async def logout(self, info: Info) -> LogoutPayload:
        return await _logout(info.context, "member")

    @strawberry.mutation(
        description="Change the logged-in member's profile: nickname, avatar, birthday, "
        "gender, region. A refused field (INVALID naming it) changes nothing."
    )
    async def update_profile(self, info: Info, input: ProfileInput) -> ProfilePayload:
        ctx = info.context

        async def run() -> MemberNode:
            member_id = await ctx.member_id()
            row = await profiles.update_profile(ctx.tenant, member_id, profile_data(input))
            return (await member_nodes(ctx.tenant, [row]))[0]

        member, errors = await attempt(run)
        return ProfilePayload(member=member, errors=errors)

    @strawberry.mutation(
        description="Change the member's password; their other sessions end at once."
    )
    async def change_password(
        self, info: Info, current_password: str, new_password: str
    ) -> PasswordPayload:
        return await _change_password(info.context, current_password, new_password, "member")

    @strawberry.mutation(
        description="Send a one-time code to a phone, to `register` with or to "
        "`resetPassword`. Limited per phone and per client address (TOO_MANY_ATTEMPTS)."
    )
    async def request_verification_code(
        self, info: Info, phone: str, purpose: VerificationPurpose
    ) -> VerificationPayload:
        ctx = info.context

        async def run() -> datetime:
            return await verification.request_code(
                ctx.tenant,
                phone,
                purpose.value,
                ctx.gate,
                production=ctx.runtime.settings.production,
            )

        expires_at, errors = await attempt(run)
        sent = expires_at is not None
        return VerificationPayload(sent=sent, expires_at=expires_at, errors=errors)

    @strawberry.mutation(
        description="Set a new password with a code sent to the phone "
        "(`requestVerificationCode(purpose: RESET_PASSWORD)`); every other session ends."
    )
    async def reset_password(
        self, info: Info, phone: str, code: str, new_password: str
    ) -> AuthPayload:
        ctx = info.context

        async def run() -> AuthPayload:
            member, issued = await members.reset_password(
                ctx.tenant, phone, code, new_password, ctx.runtime.settings.token_days
            )
            return await signed_in(ctx.tenant, member, issued)

        result, errors = await attempt(run)
        return result or AuthPayload(errors=errors)


@strawberry.type
class StaffAccountMutation:
    @admin_mutation(
        ANYONE,
        description="Log in as staff of this tenant; failed attempts are limited per "
        "username and per client address.",
    )
    async def staff_login(self, info: Info, username: str, password: str) -> TokenPayload:
        ctx = info.context

        async def run() -> TokenPayload:
            _, issued = await log_in(
                ctx.gate, "staff", ctx.tenant.id, username, password, "wrong username or password"
            )
            return TokenPayload(token=issued.token, expires_at=issued.expires_at)

        result, errors = await attempt(run)
        return result or TokenPayload(errors=errors)

    @admin_mutation(ANYONE, description="Log in as a platform operator.")
    async def operator_login(self, info: Info, username: str, password: str) -> TokenPayload:
        ctx = info.context

        async def run() -> TokenPayload:
            _, issued = await log_in(
                ctx.gate, "operator", None, username, password, "wrong username or password"
            )
            return TokenPayload(token=issued.token, expires_at=issued.expires_at)

        result, errors = await attempt(run)
        return result or TokenPayload(errors=errors)

    @admin_mutation(ANYONE, description="End the session of the token this request carries.")
    async def logout(self, info: Info) -> LogoutPayload:
        return await _logout(info.context, "staff", "operator")

    @admin_mutation(
        ANYONE,
        description="Change the caller's password (staff or operator); their other "
        "sessions end at once.",
    )
    async def change_password(
        self, info: Info, current_password: str, new_password: str
    ) -> PasswordPayload:
        ctx = info.context
        return await _change_password(ctx, current_password, new_password, "staff", "operator")
