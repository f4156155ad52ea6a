import { type CSSVariablesResolver, createTheme } from "@mantine/core";

/**
 * Mantine's defaults, with the shades moved where text on white meets WCAG AA (4.5:1): the
 * primary blue and the "dimmed" and error texts are one or two shades darker.
 */
export const theme = createTheme({
  primaryColor: "blue",
  primaryShade: 8,
  defaultRadius: "sm",
  cursorType: "pointer",
});

export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    "--mantine-color-dimmed": "var(--mantine-color-gray-7)",
    "--mantine-color-error": "var(--mantine-color-red-9)",
    "--mantine-color-placeholder": "var(--mantine-color-gray-6)",
  },
  dark: {},
});
