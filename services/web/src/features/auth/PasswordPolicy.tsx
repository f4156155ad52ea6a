import { List, Text } from "@mantine/core";
import { passwordRules } from "@/features/auth/passwordPolicy";

/** The policy as a live checklist under the password field. */
export function PasswordPolicy({
  id,
  password,
  username,
  email,
}: {
  id: string;
  password: string;
  username?: string;
  email?: string;
}) {
  // Nothing typed yet: the rules are listed, not judged (a column of red crosses before the
  // first key is a telling-off for nothing). The form still refuses an empty password.
  const rules = passwordRules(password, username, email).map((rule) =>
    password === "" ? { ...rule, met: null } : rule,
  );
  return (
    <div id={id} aria-live="polite">
      <Text size="xs" fw={600} mb={2}>
        Password rules
      </Text>
      <List size="xs" spacing={0} listStyleType="none">
        {rules.map((rule) => (
          <List.Item
            key={rule.id}
            c={rule.met === false ? "#a51d1d" : rule.met ? "#1e6a2e" : "dark"}
          >
            {rule.met === null ? "•" : rule.met ? "✓" : "✗"} {rule.label}
            <span className="sr-only">
              {rule.met === null ? "" : rule.met ? " (met)" : " (not met)"}
            </span>
          </List.Item>
        ))}
      </List>
    </div>
  );
}
