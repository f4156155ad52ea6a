import { type CSSVariablesResolver, createTheme, Modal } from "@mantine/core";

/**
 * Mantine's defaults, with the shades moved where text on white meets WCAG AA (4.5:1): the
 * primary blue and the "dimmed" and error texts are one or two shades darker.
 */
export const theme = createTheme({
  primaryColor: "blue",
  primaryShade: 8,
  defaultRadius: "sm",
  cursorType: "pointer",
  components: {
    // The close "×" has no text: screen readers need its name.
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { "aria-label": "Close dialog" } } }),
  },
});

export const cssVariablesResolver: CSSVariablesResolver = () => ({
  variables: {},
  light: {
    "--mantine-color-dimmed": "var(--mantine-color-gray-7)",
    "--mantine-color-error": "var(--mantine-color-red-9)",
    "--mantine-color-placeholder": "var(--mantine-color-gray-6)",
    // Text on the "light" variants (alerts, badges, the active nav link) on their tinted
    // backgrounds: Mantine's shade 6 is below 4.5:1 there.
    "--mantine-color-blue-light-color": "#1864ab",
    "--mantine-color-red-light-color": "#a51d1d",
    "--mantine-color-yellow-light-color": "#6b4500",
    "--mantine-color-orange-light-color": "#8a3c00",
    "--mantine-color-green-light-color": "#1e6a2e",
    "--mantine-color-gray-light-color": "var(--mantine-color-gray-8)",
  },
  dark: {},
});
