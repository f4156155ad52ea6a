/**
 * A QR code drawn as one SVG path, in React: no canvas, no data URL, no markup injected, so
 * nothing here needs more than the console's CSP allows. The `qrcode` package only encodes
 * (text → module matrix); it runs offline in the page.
 */
import { create } from "qrcode";

/** Modules of light margin on every side (the QR standard's quiet zone). */
export const QUIET_ZONE = 4;

export interface QrMatrix {
  size: number;
  dark: (row: number, col: number) => boolean;
}

export function qrMatrix(value: string): QrMatrix {
  // Level M survives a smudged or partly covered phone screen; an otpauth URI still fits
  // a small version.
  const { modules } = create(value, { errorCorrectionLevel: "M" });
  return { size: modules.size, dark: (row, col) => modules.get(row, col) === 1 };
}

/** One path of unit squares, offset by the quiet zone. */
export function qrPath(matrix: QrMatrix): string {
  const parts: string[] = [];
  for (let row = 0; row < matrix.size; row++) {
    for (let col = 0; col < matrix.size; col++) {
      if (matrix.dark(row, col)) parts.push(`M${col + QUIET_ZONE} ${row + QUIET_ZONE}h1v1h-1z`);
    }
  }
  return parts.join("");
}

export function QrCode({
  value,
  label,
  size = 208,
}: {
  value: string;
  label: string;
  size?: number;
}) {
  const matrix = qrMatrix(value);
  const extent = matrix.size + 2 * QUIET_ZONE;
  return (
    <svg
      role="img"
      aria-label={label}
      width={size}
      height={size}
      viewBox={`0 0 ${extent} ${extent}`}
      shapeRendering="crispEdges"
      data-testid="qr-code"
    >
      <rect width={extent} height={extent} fill="#ffffff" />
      <path d={qrPath(matrix)} fill="#000000" />
    </svg>
  );
}
