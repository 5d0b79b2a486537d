#!/usr/bin/env python3
"""Check a server's Meeting Guide feed (`/meeting-guide.json`) against the Meeting Guide API
specification, field by field.

    python meeting_guide_check.py [options] BASE_URL     e.g. http://127.0.0.1:8080
    python meeting_guide_check.py [options] --file feed.json

The rules come from the specification's README (repository code4recovery/spec, commit
404117ad6059f9b1cf85e57124367c3223afc255, 2026-03-06, MIT licence). The meeting type codes
are read from schemas/meeting-guide-types.json, a verbatim copy of that commit's
data/types.json (the file the README's "Meeting Types" table is generated from; 87 codes).
The README's "Proposed New Types" (data/proposed-new.json: BV-I, D-HOH, LO-I, QSL, RSL) are
not in use in the app and are refused here.

What the specification requires of every entry: `name` and a `slug` unique to the feed. By
default this also checks what the Meeting Guide app needs to import a meeting (README,
"Meeting Guide requirements"): `day`, `time` and geographic information (`formatted_address`
or `address`/`city`/`state`/`postal_code`/`country`). --spec-only relaxes that to the
specification alone (meetings "by appointment" without day and time).

Every optional field, when present, is checked for its type and format (see FIELD_RULES
below). Unknown fields are reported as notes; --strict makes them failures. --allow-custom-types
accepts type codes outside the official list (the README allows custom types, which the
importer ignores); they are refused by default.

Prints one line per meeting (a failing one with every problem), one line per feed-level check,
then `meeting-guide: N passed, N failed`; exits 1 on any failure, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

try:
    import zoneinfo
except ImportError:  # pragma: no cover - Python < 3.9
    sys.exit("meeting_guide_check: Python 3.9 or newer needed (zoneinfo)")

TYPES_FILE = Path(__file__).resolve().parent / "schemas" / "meeting-guide-types.json"
PROPOSED_TYPES = {"BV-I", "D-HOH", "LO-I", "QSL", "RSL"}  # data/proposed-new.json
TIMEOUT = 30

HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
UPDATED = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
CONFERENCE_PHONE = re.compile(r"\+?[0-9,*#]+")
ENTITY_PHONE = re.compile(r"\+[0-9][0-9-]*[0-9]")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
HTML_TAG = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")
SLUG = re.compile(r"[A-Za-z0-9._~-]+")  # URL-safe: RFC 3986 unreserved characters


# ---------------------------------------------------------------------------------------------
# field rules: each returns a problem string or None


def is_str(v: Any) -> bool:
    return isinstance(v, str)


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def string(v: Any) -> str | None:
    if not is_str(v):
        return f"must be a string, got {type(v).__name__}"
    if not v.strip():
        return "is an empty string (omit a field that does not apply)"
    return None


def plain_text(v: Any) -> str | None:
    return string(v) or ("contains HTML; the spec wants plain text" if HTML_TAG.search(v) else None)


def name(v: Any) -> str | None:
    p = string(v)
    if p:
        return p
    if len(v) > 255:
        return f"is {len(v)} characters; 255 max"
    return None


def slug(v: Any) -> str | None:
    if is_int(v):
        return None
    p = string(v)
    if p:
        return "must be a string (or an integer id): " + p
    if len(v) > 64:
        return f"is {len(v)} characters; 64 max"
    if not SLUG.fullmatch(v):
        return f"{v!r} is not URL-safe (no spaces or special characters)"
    return None


def day(v: Any) -> str | None:
    days = v if isinstance(v, list) else [v]
    if isinstance(v, list) and not v:
        return "is an empty array"
    for d in days:
        if not is_int(d) or not 0 <= d <= 6:
            return f"{v!r}: must be an integer 0-6 (Sunday=0) or an array of them"
    if len(set(days)) != len(days):
        return f"{v!r} repeats a day"
    return None


def hhmm(v: Any) -> str | None:
    if not is_str(v) or not HHMM.fullmatch(v):
        return f"{v!r} is not a five-character HH:MM 24-hour time"
    return None


def timezone(v: Any) -> str | None:
    p = string(v)
    if p:
        return p
    if v not in zoneinfo.available_timezones():
        return f"{v!r} is not a tz database name (e.g. America/New_York)"
    return None


def types_rule(official: dict[str, Any], allow_custom: bool) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if not isinstance(v, list):
            return f"must be an array of type codes, got {type(v).__name__}"
        bad = [t for t in v if not is_str(t)]
        if bad:
            return f"has non-string codes {bad!r}"
        if len(set(v)) != len(v):
            return f"repeats a code: {v!r}"
        problems = []
        proposed = [t for t in v if t in PROPOSED_TYPES]
        if proposed:
            problems.append(f"proposed (not yet official) codes {proposed}")
        unknown = [t for t in v if t not in official and t not in PROPOSED_TYPES]
        if unknown and not allow_custom:
            lower = {k.lower(): k for k in official}
            hints = [f"{t} (did you mean {lower[t.lower()]}?)" if t.lower() in lower else t for t in unknown]
            problems.append(f"codes not in the official list: {', '.join(hints)}")
        return "; ".join(problems) or None

    return check


def url(v: Any, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    p = string(v)
    if p:
        return p
    u = urlparse(v)
    if u.scheme not in schemes or (u.scheme != "mailto" and not u.netloc):
        return f"{v!r} is not an absolute {'/'.join(schemes)} URL"
    if any(c.isspace() for c in v):
        return f"{v!r} contains whitespace"
    return None


def https_url(v: Any) -> str | None:
    return url(v, ("https",))


def feedback_url(v: Any) -> str | None:
    return url(v, ("http", "https", "mailto"))


def email(v: Any) -> str | None:
    p = string(v)
    if p:
        return p
    return None if EMAIL.fullmatch(v) else f"{v!r} is not an email address"


def email_list(v: Any) -> str | None:
    if not isinstance(v, list) or not v:
        return "must be a non-empty array of email addresses"
    for e in v:
        p = email(e)
        if p:
            return p
    return None


def conference_phone(v: Any) -> str | None:
    if not is_str(v):
        return f"must be a string, got {type(v).__name__}"
    if not CONFERENCE_PHONE.fullmatch(v) or not any(c.isdigit() for c in v):
        return f"{v!r}: digits only, with an optional leading + and , * # for one-tap links"
    return None


def entity_phone(v: Any) -> str | None:
    p = string(v)
    if p:
        return p
    return None if ENTITY_PHONE.fullmatch(v) else f"{v!r} is not like +1-123-456-7890 (country code first)"


def latitude(v: Any) -> str | None:
    if not is_number(v):
        return f"must be a number, got {type(v).__name__} {v!r}"
    return None if -90 <= v <= 90 else f"{v} is out of range -90..90"


def longitude(v: Any) -> str | None:
    if not is_number(v):
        return f"must be a number, got {type(v).__name__} {v!r}"
    return None if -180 <= v <= 180 else f"{v} is out of range -180..180"


def approximate(v: Any) -> str | None:
    return None if v in ("yes", "no") else f"{v!r}: must be the string \"yes\" or \"no\""


def updated(v: Any) -> str | None:
    if not is_str(v) or not UPDATED.fullmatch(v):
        return f"{v!r} is not YYYY-MM-DD HH:MM:SS"
    try:
        dt.datetime.strptime(v, "%Y-%m-%d %H:%M:%S")
    except ValueError as e:
        return f"{v!r}: {e}"
    return None


def regions(v: Any) -> str | None:
    if not isinstance(v, list) or not v:
        return "must be a non-empty array of strings (most general first)"
    for r in v:
        p = string(r)
        if p:
            return "item " + p
    return None


def prefixed(prefix: str, example: str) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        p = string(v)
        if p:
            return p
        return None if v.startswith(prefix) and len(v) > 1 else f"{v!r} should look like {example}"

    return check


def field_rules(official_types: dict[str, Any], allow_custom: bool) -> dict[str, Callable[[Any], str | None]]:
    rules: dict[str, Callable[[Any], str | None]] = {
        # required
        "name": name,
        "slug": slug,
        # time
        "day": day,
        "time": hhmm,
        "end_time": hhmm,
        "timezone": timezone,
        # geography
        "formatted_address": string,
        "address": string,
        "city": string,
        "state": string,
        "postal_code": string,
        "country": string,
        "region": string,
        "sub_region": string,
        "regions": regions,
        # online
        "conference_url": url,
        "conference_url_notes": string,
        "conference_phone": conference_phone,
        "conference_phone_notes": string,
        # recommended
        "types": types_rule(official_types, allow_custom),
        "notes": plain_text,
        "location": plain_text,
        "location_notes": string,
        # optional
        "latitude": latitude,
        "longitude": longitude,
        "approximate": approximate,
        "updated": updated,
        "group": string,
        "group_notes": plain_text,
        "venmo": prefixed("@", "@AAGroupName"),
        "square": prefixed("$", "$AAGroupName"),
        "paypal": string,
        "homegroup_online": string,
        "url": url,
        "edit_url": url,
        "feedback_emails": email_list,
        "feedback_url": feedback_url,
        # service entity
        "entity": string,
        "entity_email": email,
        "entity_location": string,
        "entity_logo": https_url,
        "entity_phone": entity_phone,
        "entity_website_url": https_url,
        # the README's JSON example says entity_url; its field list says entity_website_url
        "entity_url": https_url,
    }
    for i in (1, 2, 3):
        rules[f"contact_{i}_name"] = string
        rules[f"contact_{i}_email"] = email
        rules[f"contact_{i}_phone"] = string
    return rules


ENTITY_FIELDS = ("entity_email", "entity_location", "entity_logo", "entity_phone", "entity_website_url", "entity_url")
ADDRESS_FIELDS = ("address", "city", "state", "postal_code", "country")


def check_meeting(m: Any, rules: dict[str, Callable[[Any], str | None]], importer: bool) -> tuple[list[str], list[str]]:
    """(problems, notes) of one entry."""
    if not isinstance(m, dict):
        return [f"entry is a {type(m).__name__}, not an object"], []
    problems: list[str] = []
    notes: list[str] = []
    for required in ("name", "slug"):
        if required not in m:
            problems.append(f"{required}: missing (required)")
    for key, value in m.items():
        rule = rules.get(key)
        if rule is None:
            notes.append(f"{key}: not a field of the specification")
            continue
        if value is None:
            problems.append(f"{key}: null (omit a field that does not apply)")
            continue
        p = rule(value)
        if p:
            problems.append(f"{key}: {p}")

    has_day, has_time = "day" in m, "time" in m
    if has_day != has_time:
        problems.append("day and time: a weekly meeting needs both (one is missing)")
    if importer and not (has_day and has_time):
        problems.append("day/time: missing; the Meeting Guide app imports only meetings with day and time")
    if "end_time" in m and not has_time:
        problems.append("end_time: present without time")
    if "latitude" in m and "longitude" not in m or "longitude" in m and "latitude" not in m:
        problems.append("latitude/longitude: give both or neither")
    if "sub_region" in m and "region" not in m:
        problems.append("sub_region: used without region")
    if "regions" in m and ("region" in m or "sub_region" in m):
        notes.append("regions given together with region/sub_region (regions is meant instead of them)")
    if any(k in m for k in ENTITY_FIELDS) and "entity" not in m:
        problems.append("entity: required when any other entity_* field is present")
    if importer and "formatted_address" not in m and not any(k in m for k in ADDRESS_FIELDS):
        problems.append("geography: no formatted_address nor address/city/state/postal_code/country "
                        "(the Meeting Guide app needs one to list a meeting)")
    if "conference_url_notes" in m and "conference_url" not in m:
        notes.append("conference_url_notes without conference_url")
    if "conference_phone_notes" in m and "conference_phone" not in m:
        notes.append("conference_phone_notes without conference_phone")
    if is_str(m.get("name")) and len(m["name"]) > 64:
        notes.append(f"name is {len(m['name'])} characters; the app truncates names of 64 or more")
    return problems, notes


def fetch(base: str) -> tuple[int, str, bytes]:
    target = base.rstrip("/") + "/meeting-guide.json"
    req = urllib.request.Request(target, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, (e.headers.get("Content-Type", "") if e.headers else ""), e.read()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("base_url", nargs="?", help="server root; fetches BASE_URL/meeting-guide.json")
    src.add_argument("--file", help="check a feed saved in a file instead")
    ap.add_argument("--spec-only", action="store_true",
                    help="only what the specification requires (no day/time/geography needed)")
    ap.add_argument("--allow-custom-types", action="store_true", help="accept type codes outside the official list")
    ap.add_argument("--strict", action="store_true", help="fail on fields the specification does not define")
    ap.add_argument("--allow-empty", action="store_true", help="accept a feed with no meetings")
    args = ap.parse_args(argv)

    official = json.loads(TYPES_FILE.read_text(encoding="utf-8"))
    rules = field_rules(official, args.allow_custom_types)
    passed = failed = 0

    def result(ok: bool, line: str, details: list[str] = ()) -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
        print(("PASS  " if ok else "FAIL  ") + line)
        for d in details:
            print(f"        {d}")

    if args.file:
        body = Path(args.file).read_bytes()
        where = args.file
    else:
        where = args.base_url.rstrip("/") + "/meeting-guide.json"
        try:
            status, ctype, body = fetch(args.base_url)
        except (urllib.error.URLError, OSError) as e:
            result(False, f"GET {where}: request failed: {e}")
            print(f"meeting-guide: {passed} passed, {failed} failed")
            return 1
        ok = status == 200 and "json" in ctype.lower()
        result(ok, f"GET {where}: {status} {ctype}")
        if status != 200:
            print(f"meeting-guide: {passed} passed, {failed} failed")
            return 1
    try:
        feed = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        result(False, f"{where}: not JSON: {e}")
        print(f"meeting-guide: {passed} passed, {failed} failed")
        return 1
    if not isinstance(feed, list):
        result(False, f"{where}: the feed must be a JSON array of meetings, got {type(feed).__name__}")
        print(f"meeting-guide: {passed} passed, {failed} failed")
        return 1
    result(bool(feed) or args.allow_empty, f"feed is an array of {len(feed)} meetings")

    seen: dict[str, int] = {}
    dupes: list[str] = []
    all_notes: dict[str, int] = {}
    for i, m in enumerate(feed):
        problems, notes = check_meeting(m, rules, importer=not args.spec_only)
        if isinstance(m, dict) and "slug" in m:
            key = str(m["slug"])
            if key in seen:
                dupes.append(f"{key!r} at entries {seen[key]} and {i}")
            else:
                seen[key] = i
        label = f"meeting[{i}] slug={m.get('slug')!r}" if isinstance(m, dict) else f"meeting[{i}]"
        if args.strict:
            problems += [n for n in notes if n.endswith("not a field of the specification")]
        for n in notes:
            all_notes[n] = all_notes.get(n, 0) + 1
        result(not problems, label, problems)
    result(not dupes, "slugs are unique", dupes[:20])
    for n, count in sorted(all_notes.items()):
        print(f"        note: {n}" + (f" ({count} entries)" if count > 1 else ""))
    print(f"meeting-guide: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
