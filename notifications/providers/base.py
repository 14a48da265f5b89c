"""What every provider shares: the message and result values, limits, and HTTP."""

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Content:
    """A message rendered for one recipient: the fields a provider sends."""

    title: str = ""
    body: str = ""
    deeplink: str = ""
    file_uuid: str = ""
    avatar_url: str = ""

    def as_dict(self) -> dict[str, str]:
        """The non-empty fields, as stored on a delivery."""
        return {key: value for key, value in asdict(self).items() if value}
