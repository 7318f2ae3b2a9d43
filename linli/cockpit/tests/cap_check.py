"""Structure checks of a CAP 1.2 document, transcribed from the OASIS CAP 1.2 schema.

The OASIS XSD (CAP-v1.2.xsd) is not available offline and lxml is not installed, so these
checks encode the schema's element sequences, cardinalities and enumerations by hand, plus
the spec's text rules for dateTime and polygon (§3.3.2, §3.2.4). Only elements linli can
emit beyond the required ones are listed in full; unknown elements are errors.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

NS = "urn:oasis:names:tc:emergency:cap:1.2"
UNBOUNDED = 10**9
ALERT = [("identifier", 1, 1), ("sender", 1, 1), ("sent", 1, 1), ("status", 1, 1), ("msgType", 1, 1),
         ("source", 0, 1), ("scope", 1, 1), ("restriction", 0, 1), ("addresses", 0, 1),
         ("code", 0, UNBOUNDED), ("note", 0, 1), ("references", 0, 1), ("incidents", 0, 1),
         ("info", 0, UNBOUNDED)]
INFO = [("language", 0, 1), ("category", 1, UNBOUNDED), ("event", 1, 1), ("responseType", 0, UNBOUNDED),
        ("urgency", 1, 1), ("severity", 1, 1), ("certainty", 1, 1), ("audience", 0, 1),
        ("eventCode", 0, UNBOUNDED), ("effective", 0, 1), ("onset", 0, 1), ("expires", 0, 1),
        ("senderName", 0, 1), ("headline", 0, 1), ("description", 0, 1), ("instruction", 0, 1),
        ("web", 0, 1), ("contact", 0, 1), ("parameter", 0, UNBOUNDED), ("resource", 0, UNBOUNDED),
        ("area", 0, UNBOUNDED)]
AREA = [("areaDesc", 1, 1), ("polygon", 0, UNBOUNDED), ("circle", 0, UNBOUNDED), ("geocode", 0, UNBOUNDED),
        ("altitude", 0, 1), ("ceiling", 0, 1)]
ENUMS = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {"Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
                 "CBRNE", "Other"},
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[-+]\d{2}:\d{2}")
PAIR = re.compile(r"(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)")


def _sequence(parent: ET.Element, spec: list[tuple[str, int, int]], where: str) -> list[str]:
    errors: list[str] = []
    children = list(parent)
    i = 0
    for name, low, high in spec:
        n = 0
        while i < len(children) and children[i].tag == f"{{{NS}}}{name}":
            n += 1
            i += 1
        if not low <= n <= high:
            errors.append(f"{where}/{name}: {n} occurrences, expected {low}..{high}")
    errors += [f"{where}: unexpected or out-of-order element {c.tag}" for c in children[i:]]
    return errors


def cap_errors(document: bytes) -> list[str]:
    """Every way the document breaks CAP 1.2's structure; empty when it conforms."""
    root = ET.fromstring(document)  # noqa: S314 -- our own output, in a test
    if root.tag != f"{{{NS}}}alert":
        return [f"root is {root.tag}, expected {{{NS}}}alert"]
    errors = _sequence(root, ALERT, "alert")
    for element in root.iter():
        name = element.tag.split("}")[-1]
        text = (element.text or "").strip()
        if name in ENUMS and text not in ENUMS[name]:
            errors.append(f"{name}: {text!r} not in the enumeration")
        if name in {"sent", "effective", "onset", "expires"} and not DATETIME.fullmatch(text):
            errors.append(f"{name}: {text!r} is not a CAP dateTime")
        if name in {"identifier", "sender"} and (not text or re.search(r"[\s,<&]", text)):
            errors.append(f"{name}: empty or holds a space, comma, < or &")
        if name == "polygon":
            pairs = text.split(" ")
            parsed = [PAIR.fullmatch(p) for p in pairs]
            if not all(parsed):
                errors.append("polygon: not space-separated lat,lon pairs")
                continue
            coords = [(float(m.group(1)), float(m.group(2))) for m in parsed if m]
            if len(coords) < 4 or coords[0] != coords[-1]:
                errors.append("polygon: needs four or more pairs, the first equal to the last")
            if any(not (-90 <= lat <= 90 and -180 <= lon <= 180) for lat, lon in coords):
                errors.append("polygon: a pair is out of range (lat first)")
    for info in root.findall(f"{{{NS}}}info"):
        errors += _sequence(info, INFO, "info")
        for area in info.findall(f"{{{NS}}}area"):
            errors += _sequence(area, AREA, "area")
    return errors
