"""How a moment reads in Russian: '6 декабря, 18:30' this year, '6 декабря 2027, 18:30'
another (the month in the genitive, as Russian dates are written)."""

DATETIME_FORMAT = "j E Y, H:i"
SHORT_DATETIME_FORMAT = "j E, H:i"
DATE_FORMAT = "j E Y"
SHORT_DATE_FORMAT = "j E"
TIME_FORMAT = "H:i"
