"""Calendar days in the project's time zone, as the aware datetimes the ledger is queried with."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo


@dataclass(frozen=True)
class LocalDays:
    """`days` local calendar days from `first_day`: [start, end) as aware datetimes."""

    first_day: date
    days: int
    tz: tzinfo

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.first_day + timedelta(days=self.days), time.min, tzinfo=self.tz)

    @property
    def time_zone(self) -> str:
        return str(self.tz)
