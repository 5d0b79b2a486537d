"""Schemathesis hooks for fuzzing Circles' GraphQL API (scripts/fuzz/run).

- Strategies for the custom scalars, so that generated dates and times are also extreme
  (years from -262143 to 262142 as chrono can write them), not only valid ones.
- A check that fails on any INTERNAL_SERVER_ERROR in a response (schemathesis already fails
  on any HTTP 5xx but SERVICE_UNAVAILABLE, which a fuzz run against a healthy database
  should never see either).
"""

import json
import string

import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

# Years chrono accepts at the edges, and ordinary ones.
years = st.one_of(st.integers(min_value=1, max_value=9999), st.sampled_from([-262143, -1, 0, 10000, 262142]))


def iso_date(year, month, day):
    y = f"{year:04d}" if 0 <= year <= 9999 else f"{year:+d}"
    return f"{y}-{month:02d}-{day:02d}"


dates = st.builds(iso_date, years, st.integers(1, 12), st.integers(1, 28))
date_times = st.builds(lambda d, h, m: f"{d}T{h:02d}:{m:02d}:00Z", dates, st.integers(0, 23), st.integers(0, 59))
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)

schemathesis.graphql.scalar("NaiveDate", st.one_of(dates, text).map(nodes.String))
schemathesis.graphql.scalar("DateTime", st.one_of(date_times, text).map(nodes.String))
schemathesis.graphql.scalar("JSON", st.dictionaries(st.text(string.ascii_letters, max_size=8), st.integers()).map(lambda d: nodes.String(json.dumps(d))))


@schemathesis.check
def no_internal_error(ctx, response, case):
    body = response.text or ""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {body[:500]}")
    try:
        errors = json.loads(body).get("errors") or []
    except (ValueError, AttributeError):
        raise AssertionError(f"HTTP {response.status_code}: not a JSON object: {body[:200]}")
    codes = {(e.get("extensions") or {}).get("code") for e in errors if isinstance(e, dict)}
    if codes & {"INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE", None}:
        raise AssertionError(f"HTTP {response.status_code}: an error without a code, or a server error: {body[:500]}")
