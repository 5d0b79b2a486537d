#!/usr/bin/env python3
"""Validate a server's HSDS 3.0 API (`/hsds/...`) against Open Referral's own schemas.

    python hsds_validate.py [--strict] BASE_URL        e.g. http://127.0.0.1:8080

Fetches, with urllib only:

    /hsds/                                   the API meta information
    /hsds/services?per_page=5                a page of services
    /hsds/services?page=2&per_page=3         the second page of three
    /hsds/services/{id}                      the first service of the first page
    /hsds/organizations, /hsds/organizations/{id}
    /hsds/service_at_locations, /hsds/service_at_locations/{id}
    /hsds/{services,organizations,service_at_locations}/{random uuid}   -> 404

and validates each body with `jsonschema` (draft 2020-12, the dialect of HSDS's openapi.json;
`format` asserted: uuid, uri, email, date-time) against the files vendored in
schemas/hsds-3.0/ (see the README there: openreferral/specification, branch 3.0):

    GET /                          openapi.json  paths./.get 200 schema, plus the three keys the
                                   API reference lists (version, profile, openapi_url)
    GET /services etc. (pages)     openapi.json  the endpoint's 200 schema: allOf Page and
                                   contents.items = compiled/<name>_list.json; plus the paging
                                   fields checked by hand (the Page schema requires none of them)
    GET /services/{id}             compiled/service.json
    GET /organizations/{id}        compiled/organization.json
    GET /service_at_locations/{id} compiled/service_at_location.json (upstream's openapi.json
                                   names service.json here, a slip: see the README)

Properties the schemas do not define are reported as notes; --strict makes them failures
(upstream validates its own examples with additionalProperties false everywhere).

Prints one line per check (PASS/FAIL), then `hsds: N passed, N failed`; exits 1 if any check
failed, 2 on a usage or setup error.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

try:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012
except ImportError as exc:  # pragma: no cover - setup error
    sys.exit(f"hsds_validate: {exc}; install scripts/interop/requirements.txt")

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas" / "hsds-3.0"
UPSTREAM = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
OPENAPI_URL = UPSTREAM + "openapi.json"
COMPILED = (
    "service",
    "service_list",
    "organization",
    "organization_list",
    "service_at_location",
    "service_at_location_list",
)
PAGE_FIELDS = {
    "total_items": int,
    "total_pages": int,
    "page_number": int,
    "size": int,
    "first_page": bool,
    "last_page": bool,
    "empty": bool,
    "contents": list,
}
MAX_ERRORS = 15
TIMEOUT = 30


# ---------------------------------------------------------------------------------------------
# schemas


def load_registry() -> tuple[Registry, dict[str, Any]]:
    """Every vendored file as a draft 2020-12 resource under its upstream URL (the URLs
    openapi.json's $refs use), so nothing is fetched."""
    docs: dict[str, Any] = {}
    resources = []
    for name in COMPILED:
        url = f"{UPSTREAM}compiled/{name}.json"
        docs[name] = json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))
        resources.append(
            (url, Resource.from_contents(docs[name], default_specification=DRAFT202012))
        )
    docs["openapi"] = json.loads((SCHEMA_DIR / "openapi.json").read_text(encoding="utf-8"))
    resources.append(
        (OPENAPI_URL, Resource.from_contents(docs["openapi"], default_specification=DRAFT202012))
    )
    return Registry().with_resources(resources), docs


def pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def openapi_response_schema(path: str) -> dict[str, Any]:
    """A schema that is the 200 response schema of `path` in openapi.json, by reference."""
    ptr = pointer("", "paths", path, "get", "responses", "200", "content", "application/json", "schema")
    return {"$ref": f"{OPENAPI_URL}#{ptr}"}


def compiled_schema(name: str) -> dict[str, Any]:
    return {"$ref": f"{UPSTREAM}compiled/{name}.json"}


class Checker:
    def __init__(self, registry: Registry, docs: dict[str, Any], strict: bool) -> None:
        self.registry = registry
        self.docs = docs
        self.strict = strict
        self.format_checker = Draft202012Validator.FORMAT_CHECKER
        missing = {"uuid", "uri", "email", "date-time"} - set(self.format_checker.checkers)
        if missing:
            sys.exit(
                "hsds_validate: jsonschema cannot assert formats "
                f"{sorted(missing)}; install rfc3339-validator and rfc3986-validator "
                "(scripts/interop/requirements.txt)"
            )

    def errors(self, schema: dict[str, Any], instance: Any) -> list[str]:
        validator = Draft202012Validator(
            schema, registry=self.registry, format_checker=self.format_checker
        )
        found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        out = []
        for err in found[:MAX_ERRORS]:
            msg = err.message
            if len(msg) > 300:
                msg = msg[:300] + "…"
            hint = ""
            if err.instance is None and err.validator == "type":
                hint = " (HSDS 3.0 allows no nulls: omit the property instead)"
            out.append(f"{err.json_path}: {msg}{hint}  [schema: {'/'.join(map(str, err.absolute_schema_path))}]")
        if len(found) > MAX_ERRORS:
            out.append(f"… and {len(found) - MAX_ERRORS} more schema errors")
        return out

    def unknown_properties(self, schema_name: str, instance: Any) -> list[str]:
        """JSON paths of properties that the compiled schema does not define."""
        out: list[str] = []

        def walk(schema: dict[str, Any], value: Any, path: str) -> None:
            if isinstance(value, dict) and "properties" in schema:
                props = schema["properties"]
                for key, sub in value.items():
                    if key not in props:
                        out.append(f"{path}.{key}")
                    else:
                        walk(props[key], sub, f"{path}.{key}")
            elif isinstance(value, list) and isinstance(schema.get("items"), dict):
                for i, item in enumerate(value):
                    walk(schema["items"], item, f"{path}[{i}]")

        walk(self.docs[schema_name], instance, "$")
        return out


# ---------------------------------------------------------------------------------------------
# HTTP


class Response:
    def __init__(self, url: str, status: int, content_type: str, body: bytes) -> None:
        self.url = url
        self.status = status
        self.content_type = content_type
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


def get(url: str) -> Response:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return Response(url, r.status, r.headers.get("Content-Type", ""), r.read())
    except urllib.error.HTTPError as e:
        return Response(url, e.code, e.headers.get("Content-Type", "") if e.headers else "", e.read())


# ---------------------------------------------------------------------------------------------
# checks


class Failed(Exception):
    def __init__(self, reason: str, details: list[str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details or []


class Run:
    def __init__(self, base: str, checker: Checker) -> None:
        self.base = base.rstrip("/")
        self.checker = checker
        self.passed = 0
        self.failed = 0

    def url(self, path: str) -> str:
        return self.base + path

    def check(self, name: str, fn, *args) -> Any:
        notes: list[str] = []
        try:
            result = fn(notes, *args)
        except Failed as f:
            self.failed += 1
            print(f"FAIL  {name}: {f.reason}")
            for d in f.details:
                print(f"        {d}")
            return None
        except (urllib.error.URLError, OSError) as e:
            self.failed += 1
            print(f"FAIL  {name}: request failed: {e}")
            return None
        self.passed += 1
        print(f"PASS  {name}")
        for n in notes:
            print(f"        note: {n}")
        return result

    # -- helpers -----------------------------------------------------------------------------

    def fetch_json(self, path: str, expect_status: int = 200) -> Any:
        r = get(self.url(path))
        if r.status != expect_status:
            raise Failed(f"GET {path} answered {r.status}, expected {expect_status}", [r.body[:300].decode("utf-8", "replace")])
        if "json" not in r.content_type.lower():
            raise Failed(f"GET {path}: Content-Type {r.content_type!r} is not JSON")
        try:
            return r.json()
        except (ValueError, UnicodeDecodeError) as e:
            raise Failed(f"GET {path}: body is not JSON: {e}")

    def schema_or_fail(self, what: str, schema: dict[str, Any], instance: Any) -> None:
        errs = self.checker.errors(schema, instance)
        if errs:
            raise Failed(f"{what} does not validate", errs)

    def unknown(self, notes: list[str], schema_name: str, instance: Any, prefix: str = "$") -> None:
        extra = self.checker.unknown_properties(schema_name, instance)
        extra = [prefix + p[1:] for p in extra]
        if not extra:
            return
        shown = ", ".join(extra[:10]) + (f" (+{len(extra) - 10} more)" if len(extra) > 10 else "")
        if self.checker.strict:
            raise Failed(f"properties not in {schema_name}.json (--strict)", [shown])
        notes.append(f"properties not defined by {schema_name}.json: {shown}")

    # -- the checks ----------------------------------------------------------------------------

    def root(self, notes: list[str]) -> Any:
        body = self.fetch_json("/hsds/")
        self.schema_or_fail("GET /hsds/", openapi_response_schema("/"), body)
        if not isinstance(body, dict):
            raise Failed("GET /hsds/ is not a JSON object")
        missing = [k for k in ("version", "profile", "openapi_url") if k not in body]
        if missing:
            raise Failed(f"GET /hsds/ lacks {missing} (the API reference lists version, profile, openapi_url)")
        if not re.fullmatch(r"3\.0(\.\d+)?", str(body["version"])):
            raise Failed(f"version is {body['version']!r}, expected \"3.0\"")
        return body

    def page(self, notes: list[str], endpoint: str, query: dict[str, int], list_schema: str) -> Any:
        path = f"/hsds{endpoint}" + ("?" + urllib.parse.urlencode(query) if query else "")
        body = self.fetch_json(path)
        self.schema_or_fail(f"GET {path}", openapi_response_schema(endpoint), body)
        if not isinstance(body, dict):
            raise Failed(f"GET {path} is not a JSON object")
        problems = []
        for field, typ in PAGE_FIELDS.items():
            if field not in body:
                problems.append(f"missing {field}")
            elif not isinstance(body[field], typ) or (typ is int and isinstance(body[field], bool)):
                problems.append(f"{field} is {type(body[field]).__name__}, expected {typ.__name__}")
        if problems:
            raise Failed("paging fields", problems)
        contents = body["contents"]
        per_page = query.get("per_page")
        page_no = query.get("page", 1)
        if per_page is not None and len(contents) > per_page:
            problems.append(f"{len(contents)} items in contents, per_page={per_page}")
        if body["size"] != len(contents):
            problems.append(f"size={body['size']} but contents has {len(contents)} items "
                            "(Page.size: 'The number of entities in the current page')")
        if body["page_number"] != page_no:
            problems.append(f"page_number={body['page_number']}, requested page {page_no}")
        if body["first_page"] != (page_no == 1):
            problems.append(f"first_page={body['first_page']} on page {page_no}")
        if per_page is not None:
            expected_pages = math.ceil(body["total_items"] / per_page)
            if body["total_pages"] != expected_pages and not (body["total_items"] == 0 and body["total_pages"] in (0, 1)):
                problems.append(f"total_pages={body['total_pages']}, expected ceil({body['total_items']}/{per_page})={expected_pages}")
        if body["last_page"] != (body["page_number"] >= body["total_pages"]):
            problems.append(f"last_page={body['last_page']} with page_number={body['page_number']}, total_pages={body['total_pages']}")
        if body["empty"] != (len(contents) == 0):
            problems.append(f"empty={body['empty']} with {len(contents)} items in contents")
        if body["total_items"] < len(contents):
            problems.append(f"total_items={body['total_items']} < {len(contents)} items in contents")
        ids = [c.get("id") for c in contents if isinstance(c, dict)]
        if len(set(ids)) != len(ids):
            problems.append("duplicate ids in contents")
        if problems:
            raise Failed(f"GET {path}: paging is inconsistent", problems)
        for i, item in enumerate(contents):
            self.unknown(notes, list_schema, item, prefix=f"$.contents[{i}]")
        top_extra = sorted(set(body) - set(PAGE_FIELDS))
        if top_extra:
            notes.append(f"envelope properties beyond Page and contents: {top_extra}")
        return body

    def detail(self, notes: list[str], endpoint: str, ident: str, schema_name: str) -> Any:
        path = f"/hsds{endpoint}/{urllib.parse.quote(str(ident), safe='')}"
        body = self.fetch_json(path)
        self.schema_or_fail(f"GET {path}", compiled_schema(schema_name), body)
        if body.get("id") != ident:
            raise Failed(f"GET {path} returned id {body.get('id')!r}")
        self.unknown(notes, schema_name, body)
        return body

    def not_found(self, notes: list[str], endpoint: str) -> None:
        ident = str(uuid.uuid4())
        path = f"/hsds{endpoint}/{ident}"
        r = get(self.url(path))
        if r.status != 404:
            raise Failed(f"GET {path} answered {r.status}, expected 404")

    def same_order(self, notes: list[str], first: dict[str, Any], second: dict[str, Any]) -> None:
        """page=2&per_page=3 holds items 4-6 of the listing; per_page=5 held items 1-5."""
        a = [c.get("id") for c in first["contents"]]
        b = [c.get("id") for c in second["contents"]]
        if first["total_items"] != second["total_items"]:
            raise Failed(f"total_items differs between pages: {first['total_items']} vs {second['total_items']}")
        overlap = a[3:5]  # items 4 and 5 of the listing, when there are that many
        if not overlap:
            notes.append("fewer than 4 services: order across pages not compared")
            return
        if b[: len(overlap)] != overlap:
            raise Failed("page 2 of per_page=3 does not continue the order of per_page=5",
                         [f"per_page=5, items 4-5: {overlap}", f"page=2&per_page=3, first items: {b[:len(overlap)]}"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("base_url", help="server root, e.g. http://127.0.0.1:8080")
    ap.add_argument("--strict", action="store_true", help="fail on properties the schemas do not define")
    args = ap.parse_args(argv)

    registry, docs = load_registry()
    run = Run(args.base_url, Checker(registry, docs, args.strict))

    run.check("GET /hsds/ (API meta information)", run.root)
    first = run.check("GET /hsds/services?per_page=5 (Page + service_list items)",
                      run.page, "/services", {"per_page": 5}, "service_list")
    second = run.check("GET /hsds/services?page=2&per_page=3 (Page + service_list items)",
                       run.page, "/services", {"page": 2, "per_page": 3}, "service_list")
    if first and second:
        run.check("services pages keep one order", run.same_order, first, second)

    service_id = first["contents"][0].get("id") if first and first["contents"] else None
    if service_id:
        run.check(f"GET /hsds/services/{service_id} (compiled service.json)",
                  run.detail, "/services", service_id, "service")
    elif first:
        run.failed += 1
        print("FAIL  GET /hsds/services/{id}: the first page has no service to fetch")

    orgs = run.check("GET /hsds/organizations (Page + organization_list items)",
                     run.page, "/organizations", {}, "organization_list")
    org_id = orgs["contents"][0].get("id") if orgs and orgs["contents"] else None
    if org_id:
        run.check(f"GET /hsds/organizations/{org_id} (compiled organization.json)",
                  run.detail, "/organizations", org_id, "organization")
    elif orgs:
        run.failed += 1
        print("FAIL  GET /hsds/organizations/{id}: the first page has no organization to fetch")

    sals = run.check("GET /hsds/service_at_locations (Page + service_at_location_list items)",
                     run.page, "/service_at_locations", {}, "service_at_location_list")
    sal_id = sals["contents"][0].get("id") if sals and sals["contents"] else None
    if sal_id:
        run.check(f"GET /hsds/service_at_locations/{sal_id} (compiled service_at_location.json)",
                  run.detail, "/service_at_locations", sal_id, "service_at_location")
    elif sals:
        run.failed += 1
        print("FAIL  GET /hsds/service_at_locations/{id}: the first page has no service_at_location to fetch")

    for endpoint in ("/services", "/organizations", "/service_at_locations"):
        run.check(f"GET /hsds{endpoint}/<unknown uuid> is 404", run.not_found, endpoint)

    print(f"hsds: {run.passed} passed, {run.failed} failed")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
