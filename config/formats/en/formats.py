"""How a moment reads in English, on every page and in every list: '6 Dec, 18:30' this year,
'6 Dec 2027, 18:30' another (`admin.base.moment_text` picks between them); 24-hour times."""

DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M, H:i"
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M"
TIME_FORMAT = "H:i"
