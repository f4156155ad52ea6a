import { describe, expect, it } from "vitest";
import { type Finding, findingsOf, selectFindings } from "@/features/agents/findings";

const f = (over: Partial<Finding>): Finding => ({
  id: 0,
  tool: "ruff",
  rule: "E501",
  severity: "low",
  message: "Line too long",
  path: "app/a.py",
  line: 1,
  ...over,
});

describe("findings", () => {
  const all = [
    f({ path: "app/b.py", line: 9 }),
    f({ tool: "bandit", rule: "B602", severity: "high", message: "shell=True", line: 12 }),
    f({ severity: "critical", tool: "secrets", rule: "aws-key", path: "conf.py", line: 3 }),
    f({ path: "app/a.py", line: 2 }),
  ];
  const query = { severity: "", tool: "", text: "", sort: "severity" as const };

  it("sorts by severity, then file and line", () => {
    expect(selectFindings(all, query).map((x) => `${x.severity} ${x.path}:${x.line}`)).toEqual([
      "critical conf.py:3",
      "high app/a.py:12",
      "low app/a.py:2",
      "low app/b.py:9",
    ]);
  });

  it("filters by severity and tool and searches message, path and rule", () => {
    expect(selectFindings(all, { ...query, severity: "low" })).toHaveLength(2);
    expect(selectFindings(all, { ...query, tool: "bandit" })[0]?.rule).toBe("B602");
    expect(selectFindings(all, { ...query, text: "SHELL" })).toHaveLength(1);
    expect(selectFindings(all, { ...query, text: "b.py" })).toHaveLength(1);
    expect(selectFindings(all, { ...query, sort: "file" })[0]?.path).toBe("app/a.py");
  });

  it("reads an analysis' findings and a review's comments", () => {
    expect(findingsOf({ findings: [{ tool: "ruff", line: 4 }] })[0]?.line).toBe(4);
    expect(findingsOf({ comments: [{ rule: "B602", path: "x.py", line: 1 }] })[0]?.rule).toBe(
      "B602",
    );
    expect(findingsOf(undefined)).toEqual([]);
  });

  it("handles thousands of findings quickly", () => {
    const many = Array.from({ length: 5000 }, (_, i) =>
      f({ line: i, severity: ["low", "high", "info"][i % 3] ?? "low" }),
    );
    const started = performance.now();
    const kept = selectFindings(many, { ...query, text: "line" });
    expect(kept).toHaveLength(5000);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
