/** Where to go after signing in: only a path inside this app (never another origin). */
export function safeRedirect(target: unknown, fallback = "/"): string {
  if (typeof target !== "string") return fallback;
  if (!target.startsWith("/") || target.startsWith("//") || target.startsWith("/\\"))
    return fallback;
  if (target.startsWith("/sign-in")) return fallback;
  return target;
}
