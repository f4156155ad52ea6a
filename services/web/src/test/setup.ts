import "@testing-library/jest-dom/vitest";
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

afterEach(() => cleanup());
// findBy*/waitFor wait up to 10 s (1 s by default): whole-app renders take seconds on a busy
// shared machine; a passing test still returns as soon as the element is there.
configure({ asyncUtilTimeout: 10_000 });

// jsdom lacks what Mantine reads at render time.
Object.defineProperty(window, "matchMedia", {
  writable: true,
  value: (query: string) => ({
    matches: false,
    media: query,
    onchange: null,
    addListener: () => undefined,
    removeListener: () => undefined,
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
    dispatchEvent: () => false,
  }),
});
class ResizeObserverStub {
  observe() {}
  unobserve() {}
  disconnect() {}
}
window.ResizeObserver = ResizeObserverStub as unknown as typeof ResizeObserver;
// The router restores the scroll position on navigation; jsdom has no layout to scroll.
window.scrollTo = (() => undefined) as typeof window.scrollTo;
