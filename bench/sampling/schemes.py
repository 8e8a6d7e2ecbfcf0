"""Country scheme presets: when a lot is due, how lots are formed, how a lot is decided.

Every number names its source in the preset's ``source`` (where no regulatory source exists, it
says so) unless marked as a user choice.
Where a scheme leaves a number open (Denmark's interval "set from the result", the plan standard of
VEJ 9464, the AQL of any ISO 2859-1 plan), the preset leaves it ``None`` and the user must give it:
the bench does not invent regulatory numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date

from meterbench.core.errors import UserError
from meterbench.sampling.lots import Lot, year_window


@dataclass(frozen=True)
class Scheme:
    name: str
    title: str
    #: years from installation (or verification, see ``first_basis``) to the first sampling;
    #: MID and non-MID meters may differ (VEJ 9464), electromechanical too (MessEV).
    first_years_mid: int | None
    first_years_non_mid: int | None
    first_basis: str                     # installation | verification | production
    #: years from a pass to the next sampling; ``second_after_pass`` overrides the first interval
    after_pass_years_mid: int | None
    after_pass_years_non_mid: int | None
    second_after_pass: int | None
    decision: str                        # iso2859 | fr-annex7 | de-95 | nl-13
    limit: str                           # 2xMPE | fr-in-service
    on_failure: str
    lot_rule: str
    max_year_span: int
    year_basis: str
    source: str
    first_years_electromechanical: int | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


_NOT_STATED = "year window not stated in the scheme"

SCHEMES: dict[str, Scheme] = {s.name: s for s in (
    Scheme("dk-7y", "Denmark, mission and pilot report: about 7 years after installation",
           7, 7, "installation", None, None, None, "iso2859", "2xMPE",
           "replace the lot", f"uniform meters ({_NOT_STATED})", 0, "production",
           "Danish pilot report's 7 years (no regulatory source; VEJ 9464 suggests 6 for MID "
           "meters); limit BEK 582/2018 §11"),
    Scheme("dk-vej9464", "Denmark, Sikkerhedsstyrelsen guidance VEJ 9464 (2018)",
           6, 10, "installation", None, 4, None, "iso2859", "2xMPE",
           "replace the lot (or replace at 6/10 years instead of sampling)",
           f"parti af ensartede elmålere ({_NOT_STATED})", 0, "production",
           "Sikkerhedsstyrelsen vejledning nr. 9464 of 20 June 2018, electricity meters (MID 6 years, "
           "non-MID 10, non-MID then about every 4); limit BEK 582/2018 §11"),
    Scheme("de", "Germany, MessEV §35/§22: validity 8 years (electronic), 16 (electromechanical)",
           8, 8, "verification", 5, 5, None, "de-95", "2xMPE",
           "exchange the whole lot", f"lot of one type ({_NOT_STATED})", 0, "production",
           "MessEV §35 (lot sampling); validity 8/16 years and 5-year extensions per MessEV's "
           "calibration-validity annex; limit MessEV §22",
           first_years_electromechanical=16),
    Scheme("se", "Sweden: 3 years after commissioning, then every 6 years",
           3, 3, "installation", 6, 6, None, "iso2859", "2xMPE", "not stated (user decides)",
           "same make and type, manufactured within 3 years", 2, "production",
           "Swedac STAFS 2009:9 as run by Energiföretagen Sverige's national sample (intervals and lot rule "
           "as published there); the in-service limit 2 x MPE is the DK/DE rule"),
    Scheme("no", "Norway: within 3 years of the production year, second after 8, then every 10",
           3, 3, "production", 10, 10, 8, "iso2859", "2xMPE", "replace the lot",
           f"accredited labs ({_NOT_STATED})", 0, "production",
           "Forskrift om krav til elektrisitetsmålere (FOR-2007-12-28-1753), intervals as published "
           "by Justervesenet; the in-service limit 2 x MPE is the DK/DE rule"),
    Scheme("at", "Austria: +5 years per pass", None, None, "verification", 5, 5, None,
           "iso2859", "2xMPE", "not stated (user decides)",
           "one type, same Un, In, Imax, last verification years at most 2 apart", 2,
           "verification", "Austrian ordinance on extending the Nacheichfrist of electricity meters, "
           "§ 1 (1) (+5 years); lot rule per its annex (not re-checked here)"),
    Scheme("fr", "France, decree of 1 August 2013, Annex 7: periodic every 10 years",
           10, 10, "installation", 10, 10, None, "fr-annex7", "fr-in-service", "withdraw the lot",
           f"lot of uniform meters ({_NOT_STATED})", 0, "production",
           "arrêté of 1 August 2013 on active-energy meters, Annex 7; in-service MPE A 8.0 %, "
           "B 4.5 %, C 2.5 % (Art. 18)"),
    Scheme("nl", "Netherlands: populations by kind, type and build year; > 13 % faulty rejects",
           None, None, "installation", None, None, None, "nl-13", "2xMPE",
           "replace within 1.5 years", "kind, type and build year", 0, "production",
           "Dutch meter pool (Meetcode elektriciteit 1.2.1.1); 13 % and 1.5 years as published by "
           "the Dutch metering companies, scheme document not confirmed"),
    Scheme("custom", "Custom: every number given by the user", None, None, "installation", None,
           None, None, "iso2859", "2xMPE", "as agreed with the authority", "user-defined", 0,
           "production", "user-defined"),
)}
DEFAULT_SCHEME = "dk-7y"


def get_scheme(name: str, *, first_years: int | None = None, interval_years: int | None = None,
               max_year_span: int | None = None) -> Scheme:
    """A preset, with the user's overrides for the numbers a scheme leaves open."""
    if name not in SCHEMES:
        raise UserError(f"scheme {name!r} unknown", field="scheme",
                        expected="one of " + ", ".join(SCHEMES))
    s = SCHEMES[name]
    if first_years is not None:
        if first_years < 1:
            raise UserError(f"{first_years} years", field="first-years", expected=">= 1")
        s = replace(s, first_years_mid=first_years, first_years_non_mid=first_years,
                    first_years_electromechanical=None)
    if interval_years is not None:
        if interval_years < 1:
            raise UserError(f"{interval_years} years", field="interval-years", expected=">= 1")
        s = replace(s, after_pass_years_mid=interval_years,
                    after_pass_years_non_mid=interval_years, second_after_pass=None)
    if max_year_span is not None:
        s = replace(s, max_year_span=max_year_span)
    return s


def lot_rule_text(scheme: Scheme) -> str:
    """The scheme's lot rule and the year window actually used to form lots: the preset's
    (the bench uses one year where the scheme states none) or the one ``--max-year-span`` set.
    Computed from ``max_year_span``, so the text cannot contradict the lots it describes."""
    preset = SCHEMES.get(scheme.name)
    window = year_window(scheme.max_year_span, scheme.year_basis)
    if preset is not None and scheme.max_year_span != preset.max_year_span:
        used = f"{window} (--max-year-span {scheme.max_year_span}; the preset's: " \
               f"{year_window(preset.max_year_span, preset.year_basis)})"
    elif scheme.lot_rule.endswith(f"({_NOT_STATED})"):
        used = f"{window} (the bench's default)"
    else:
        used = window
    return f"{scheme.lot_rule}; lots formed here: {used}"


def add_years(d: date, years: int) -> date:
    """Same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def _first_years(scheme: Scheme, lot: Lot) -> int | None:
    m = lot.meters[0]
    if m.technology == "electromechanical" and scheme.first_years_electromechanical:
        return scheme.first_years_electromechanical
    return scheme.first_years_mid if m.mid else scheme.first_years_non_mid


def after_pass_years(scheme: Scheme, lot: Lot, passes_so_far: int) -> int | None:
    """Years from a passed sampling to the next one (``passes_so_far`` includes that pass)."""
    return interval_after_pass(scheme, mid=lot.meters[0].mid, passes_so_far=passes_so_far)


def interval_after_pass(scheme: Scheme, *, mid: bool, passes_so_far: int = 1) -> int | None:
    if scheme.second_after_pass is not None and passes_so_far <= 1:
        return scheme.second_after_pass
    return scheme.after_pass_years_mid if mid else scheme.after_pass_years_non_mid


@dataclass(frozen=True)
class DueStatus:
    lot: Lot
    due_date: date | None
    due: bool
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {**self.lot.summary(), "due_date": self.due_date.isoformat() if self.due_date
                else None, "due": self.due, "reason": self.reason}


def due_status(scheme: Scheme, lot: Lot, on: date) -> DueStatus:
    """When the lot must be sampled under the scheme, and whether that is on or before ``on``."""
    verified = lot.verified_on
    if verified is not None and verified > lot.earliest_installation and scheme.first_basis != \
            "verification":
        years = after_pass_years(scheme, lot, 1)
        if years is None:
            return DueStatus(lot, None, False,
                             f"last passed sampling/verification {verified}; {scheme.name} sets "
                             "the next interval from the result: give --interval-years")
        due = add_years(verified, years)
        why = f"{years} years after the last passed sampling/verification on {verified}"
    else:
        years = _first_years(scheme, lot)
        if years is None:
            return DueStatus(lot, None, False,
                             f"{scheme.name} states no first sampling age: give --first-years")
        if scheme.first_basis == "production":
            y0, _ = lot.production_years
            due = date(y0 + years, 1, 1)
            why = f"within {years} years of production year {y0}"
        elif scheme.first_basis == "verification":
            base = verified or lot.earliest_installation
            due = add_years(base, years)
            label = "verification" if verified else "installation (no verification recorded)"
            why = f"validity of {years} years from {label} on {base}"
        else:
            due = add_years(lot.earliest_installation, years)
            why = f"{years} years after the earliest installation on {lot.earliest_installation}"
    is_due = due <= on
    return DueStatus(lot, due, is_due, ("due: " if is_due else "not yet: ") + why)


def next_due_after_pass(scheme: Scheme, tested_on: date, *, mid: bool = True,
                        passes_so_far: int = 1) -> date | None:
    years = interval_after_pass(scheme, mid=mid, passes_so_far=passes_so_far)
    return None if years is None else add_years(tested_on, years)
