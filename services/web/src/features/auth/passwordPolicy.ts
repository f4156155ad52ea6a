/**
 * The auth service's password policy (swe_auth/passwords.py, default settings), checked live as
 * the user types. The server has the last word: its answer (e.g. "too common") is shown next to
 * the field when it refuses a password.
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

export interface PolicyRule {
  id: string;
  label: string;
  /** null: only the server can tell (shown as a note, not a tick). */
  met: boolean | null;
}

export function passwordRules(password: string, username = "", email = ""): PolicyRule[] {
  const lowered = password.toLowerCase();
  const local = email.split("@")[0] ?? "";
  const contains = (value: string) => value.length >= 3 && lowered.includes(value.toLowerCase());
  return [
    {
      id: "min",
      label: `At least ${PASSWORD_MIN_LENGTH} characters`,
      met: password.length >= PASSWORD_MIN_LENGTH,
    },
    {
      id: "max",
      label: `At most ${PASSWORD_MAX_LENGTH} characters`,
      met: password.length <= PASSWORD_MAX_LENGTH,
    },
    {
      id: "username",
      label: "Does not contain your username",
      met: password.length > 0 && !contains(username),
    },
    {
      id: "email",
      label: "Does not contain your email name",
      met: password.length > 0 && !contains(local),
    },
    { id: "common", label: "Not a commonly used password (checked when you submit)", met: null },
  ];
}

export function passwordAcceptable(password: string, username = "", email = ""): boolean {
  return passwordRules(password, username, email).every((rule) => rule.met !== false);
}
