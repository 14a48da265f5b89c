"""Messages as Bitrix24 push calls (`pull.application.push.add`): recipients whose text and
avatar are the same share one call; calls with different texts go out together as one
`batch.json` request, each a command string (CONTRACTS.md, "Bitrix24").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..values import OutboundMessage

PUSH_METHOD = "pull.application.push.add"
MAX_BATCH_COMMANDS = 50


@dataclass(frozen=True)
class Push:
    """One `pull.application.push.add` call: one text and avatar for several users."""

    key: str
    text: str
    avatar: str
    messages: tuple[OutboundMessage, ...]

    @property
    def user_ids(self) -> list[int]:
        return [int(message.address) for message in self.messages]

    def params(self, access_token: str) -> dict[str, Any]:
        params: dict[str, Any] = {"USER_ID": self.user_ids, "TEXT": self.text}
        if self.avatar:
            params["AVATAR"] = self.avatar
        return {**params, "auth": access_token}

    def command(self) -> str:
        """The call as a `batch.json` command string (its values URL-encoded once)."""
        query = [f"USER_ID[]={user_id}" for user_id in self.user_ids]
        query.append(f"TEXT={quote(self.text, safe='')}")
        if self.avatar:
            query.append(f"AVATAR={quote(self.avatar, safe='')}")
        return f"{PUSH_METHOD}?{'&'.join(query)}"


def same_pushes(
    messages: Sequence[OutboundMessage],
) -> dict[tuple[str, str], list[OutboundMessage]]:
    """`messages` by the push they make (text and avatar), in the order each first appears."""
    by_push: dict[tuple[str, str], list[OutboundMessage]] = {}
    for message in messages:
        by_push.setdefault((message.content.body, message.content.avatar_url), []).append(message)
    return by_push


def pushes_of(messages: Sequence[OutboundMessage]) -> list[Push]:
    """The calls that send `messages`, one per distinct push, keyed for a batch's answer."""
    return [
        Push(key=f"push_{number}", text=text, avatar=avatar, messages=tuple(same))
        for number, ((text, avatar), same) in enumerate(same_pushes(messages).items())
    ]


def push_request(pushes: Sequence[Push], access_token: str) -> tuple[str, dict[str, Any]]:
    """The request that makes `pushes`: the REST method it posts to (the push method itself for
    one call, else `batch`) and its JSON body, the access token in it, never in the URL."""
    if len(pushes) == 1:
        return PUSH_METHOD, pushes[0].params(access_token)
    return "batch", {
        "halt": 0,
        "cmd": {push.key: push.command() for push in pushes},
        "auth": access_token,
    }
