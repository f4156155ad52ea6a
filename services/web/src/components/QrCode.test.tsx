import { describe, expect, it } from "vitest";
import { QrCode, QUIET_ZONE, qrMatrix, qrPath } from "@/components/QrCode";
import { renderWithTheme } from "@/test/render";

const URI =
  "otpauth://totp/SWE%20platform:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=SWE%20platform";

describe("QR code", () => {
  it("test_the_matrix_has_the_three_finder_patterns", () => {
    const m = qrMatrix(URI);
    expect((m.size - 17) % 4).toBe(0); // 21, 25, 29 ... modules: a real QR version
    // Each corner's 7×7 finder: a dark ring, a light ring, a dark 3×3 centre.
    for (const [top, left] of [
      [0, 0],
      [0, m.size - 7],
      [m.size - 7, 0],
    ] as const) {
      const ring = (r: number, c: number) => Math.max(Math.abs(r - 3), Math.abs(c - 3));
      for (let r = 0; r < 7; r++) {
        for (let c = 0; c < 7; c++) {
          expect(m.dark(top + r, left + c)).toBe(ring(r, c) !== 2);
        }
      }
    }
  });

  it("test_the_path_draws_exactly_the_dark_modules_inside_the_quiet_zone", () => {
    const m = qrMatrix(URI);
    const squares = [...qrPath(m).matchAll(/M(\d+) (\d+)h1v1h-1z/g)].map(([, x, y]) => [
      Number(x),
      Number(y),
    ]);
    let dark = 0;
    for (let r = 0; r < m.size; r++) for (let c = 0; c < m.size; c++) if (m.dark(r, c)) dark++;
    expect(squares).toHaveLength(dark);
    for (const [x, y] of squares) {
      expect(m.dark((y ?? 0) - QUIET_ZONE, (x ?? 0) - QUIET_ZONE)).toBe(true);
    }
  });

  it("test_the_svg_is_an_image_with_a_name_and_no_script_or_foreign_content", () => {
    const { getByRole, container } = renderWithTheme(<QrCode value={URI} label="QR code" />);
    const svg = getByRole("img", { name: "QR code" });
    expect(svg.tagName.toLowerCase()).toBe("svg");
    expect(container.querySelector("script, foreignObject, image")).toBeNull();
  });
});
