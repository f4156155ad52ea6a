import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useForm } from "react-hook-form";
import { describe, expect, it } from "vitest";
import { PasswordField } from "@/features/auth/PasswordField";
import { renderWithTheme } from "@/test/render";

function NewPassword({ error }: { error?: string }) {
  const form = useForm<{ password: string }>({ defaultValues: { password: "" } });
  return (
    <PasswordField
      label="Password"
      autoComplete="new-password"
      field={form.register("password")}
      error={error}
      policy={{ id: "password-policy", password: form.watch("password"), username: "ada" }}
    />
  );
}

function CurrentPassword() {
  const form = useForm<{ password: string }>();
  return (
    <PasswordField
      label="Current password"
      autoComplete="current-password"
      field={form.register("password")}
      description="Changing the email address needs your current password."
    />
  );
}

describe("PasswordField", () => {
  it("test_a_screen_reader_reads_the_password_rules_with_the_new_password_field", async () => {
    renderWithTheme(<NewPassword />);
    const field = screen.getByLabelText("Password");

    expect(field).toHaveAccessibleDescription(/Password rules/);
    expect(field).toHaveAccessibleDescription(/At least 12 characters/);

    await userEvent.setup().type(field, "ada-short");
    expect(field).toHaveAccessibleDescription(/At least 12 characters \(not met\)/);
    expect(field).toHaveAccessibleDescription(/Does not contain your username \(not met\)/);
  });

  it("test_no_rule_is_marked_before_anything_is_typed", async () => {
    renderWithTheme(<NewPassword />);
    const field = screen.getByLabelText("Password");

    expect(field).toHaveAccessibleDescription(/Does not contain your username/);
    expect(field).not.toHaveAccessibleDescription(/\(not met\)|\(met\)/);
    expect(screen.queryByText(/✗/)).toBeNull();

    await userEvent.setup().type(field, "x");
    expect(field).toHaveAccessibleDescription(/At least 12 characters \(not met\)/);
    expect(field).toHaveAccessibleDescription(/Does not contain your username \(met\)/);
  });

  it("test_the_server_s_refusal_and_the_rules_are_both_described", () => {
    renderWithTheme(<NewPassword error="This password is too common" />);
    const field = screen.getByLabelText("Password");

    expect(field).toHaveAccessibleDescription(/This password is too common.*Password rules/);
    expect(field).toBeInvalid();
  });

  it("test_the_checklist_stands_under_the_field", () => {
    renderWithTheme(<NewPassword />);
    const field = screen.getByLabelText("Password");
    const checklist = document.getElementById("password-policy");

    expect(checklist).not.toBeNull();
    expect(
      field.compareDocumentPosition(checklist as Node) & Node.DOCUMENT_POSITION_FOLLOWING,
    ).toBeTruthy();
    // A heading and a list may not sit in a paragraph.
    expect(checklist?.closest("p")).toBeNull();
  });

  it("test_a_current_password_field_keeps_its_plain_description", () => {
    renderWithTheme(<CurrentPassword />);

    expect(screen.getByLabelText("Current password")).toHaveAccessibleDescription(
      "Changing the email address needs your current password.",
    );
    expect(document.querySelector("[aria-live]")).toBeNull();
  });
});
