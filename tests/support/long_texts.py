"""Texts exactly at and one over Yandex Market's 4,096-character limit, in the characters a byte
count or a UTF-16 count would get wrong: Cyrillic (2 bytes each), an emoji of one code point
(4 bytes, 2 UTF-16 units) and emoji of several code points (one picture on screen)."""

YANDEX_MOST = 4096

ROCKET = "🚀"  # U+1F680: 1 code point
FAMILY = "👨\u200d👩\u200d👧"  # man, ZWJ, woman, ZWJ, girl: 5 code points, one picture
FLAG = "🇷🇺"  # two regional indicators: 2 code points, one picture


def text_of(length: int, *, filler: str = "я", ending: str = "") -> str:
    """`filler` repeated and then `ending`, `length` code points in all."""
    return filler * (length - len(ending)) + ending


# (what the text is made of, the text at the limit, the text one over it)
AT_AND_OVER = [
    ("cyrillic", text_of(YANDEX_MOST), text_of(YANDEX_MOST + 1)),
    ("rocket", ROCKET * YANDEX_MOST, ROCKET * (YANDEX_MOST + 1)),
    ("family", text_of(YANDEX_MOST, ending=FAMILY), text_of(YANDEX_MOST + 1, ending=FAMILY)),
    ("flag", text_of(YANDEX_MOST, ending=FLAG), text_of(YANDEX_MOST + 1, ending=FLAG)),
]
