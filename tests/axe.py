"""axe-core in a Playwright page: the accessibility rules a reader's page must pass.

axe-core is vendored (tests/vendor/axe-core, MPL-2.0), injected into the page under
test; nothing is fetched. WCAG 2.2's 24 px target size is switched on (axe leaves it
off by default)."""
from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"  # injected: contexts need bypass_csp=True
BLOCKING = ("critical", "serious")

_RUN = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"], rules: {"target-size": {enabled: true}}});
  return results.violations.map(v => ({id: v.id, impact: v.impact,
    nodes: v.nodes.map(n => n.target.join(" ") + ": " + (n.failureSummary || "").split("\\n").slice(1).join(" ").trim())}));
}"""

_H1S = """() => {
  let count = 0;
  const walk = root => root.querySelectorAll("*").forEach(el => {
    if (el.tagName === "H1") count += 1;
    if (el.shadowRoot) walk(el.shadowRoot);
  });
  walk(document);
  return count;
}"""


def violations(page, impacts=BLOCKING) -> list[str]:
    """Each violation of the given impacts as "rule (impact): node: what fails"."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate(_RUN)
    return [f"{v['id']} ({v['impact']}): {node}" for v in found if v["impact"] in impacts for node in v["nodes"]]


def count_by_impact(page) -> dict[str, int]:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    counts: dict[str, int] = {}
    for v in page.evaluate(_RUN):
        counts[v["impact"]] = counts.get(v["impact"], 0) + 1
    return counts


def h1_count(page) -> int:
    """Level-one headings, shadow roots included (the widget draws in one)."""
    return page.evaluate(_H1S)
