import { zodResolver } from "@hookform/resolvers/zod";
import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  Group,
  NativeSelect,
  Skeleton,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useNavigate, useParams } from "@tanstack/react-router";
import { useForm } from "react-hook-form";
import { z } from "zod";
import type { MemberRead } from "@/client/types.gen";

type MemberRole = MemberRead["role"];

import { useMe } from "@/api/auth";
import { useAddMember, useChangeMemberRole, useMembers, useRemoveMember } from "@/api/members";
import { useProject } from "@/api/projects";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorView } from "@/components/ErrorView";
import { FormError } from "@/components/FormError";
import { applyServerErrors } from "@/lib/forms";
import { projectPermissions } from "@/lib/permissions";

const ROLES: { value: MemberRole; label: string }[] = [
  { value: "viewer", label: "Viewer (reads)" },
  { value: "maintainer", label: "Maintainer (changes issues, settings)" },
];

const addSchema = z.object({
  user_id: z
    .string()
    .trim()
    .uuid("A user id looks like 3f2b…-…; the person finds it in their account menu"),
  role: z.enum(["viewer", "maintainer"]),
});
type AddValues = z.infer<typeof addSchema>;

function AddMemberForm({ projectId }: { projectId: string }) {
  const add = useAddMember(projectId);
  const form = useForm<AddValues>({
    resolver: zodResolver(addSchema),
    defaultValues: { user_id: "", role: "viewer" },
  });
  const onSubmit = form.handleSubmit(async (values) => {
    try {
      await add.mutateAsync(values);
      form.reset();
    } catch (caught) {
      applyServerErrors(caught, form.setError, ["user_id", "role"]);
    }
  });
  return (
    <Card withBorder component="section" aria-labelledby="add-member">
      <Title order={2} size="h5" id="add-member" mb="xs">
        Add a member
      </Title>
      <form onSubmit={onSubmit} noValidate>
        <Stack gap="sm">
          <Group align="flex-start" wrap="wrap">
            <TextInput
              label="User id"
              description="They find it under their name, top right: “Copy my user id”."
              w={360}
              {...form.register("user_id")}
              error={form.formState.errors.user_id?.message}
            />
            <NativeSelect label="Role" data={ROLES} w={280} {...form.register("role")} />
          </Group>
          <FormError error={add.error} fields={["user_id", "role"]} />
          <Group>
            <Button type="submit" loading={add.isPending}>
              Add member
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

export function MembersTab() {
  const { projectId } = useParams({ from: "/app/projects/$projectId/members" });
  const project = useProject(projectId);
  const members = useMembers(projectId);
  const me = useMe();
  const changeRole = useChangeMemberRole(projectId);
  const remove = useRemoveMember(projectId);
  const navigate = useNavigate();

  if (!project.data || members.isPending) return <Skeleton h={120} />;
  if (members.isError) return <ErrorView error={members.error} onRetry={() => members.refetch()} />;
  const { canManage } = projectPermissions(project.data, me.data);
  const label = (userId: string) => (userId === me.data?.id ? " (you)" : "");

  return (
    <Stack gap="md">
      {!canManage && (
        <Alert color="gray" variant="light">
          Only the project's owner can add, change or remove members.
        </Alert>
      )}
      <Table verticalSpacing="xs" striped captionSide="top">
        <Table.Caption>Who can see this project</Table.Caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th scope="col">User id</Table.Th>
            <Table.Th scope="col">Role</Table.Th>
            <Table.Th scope="col">Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          <Table.Tr>
            <Table.Td>
              <Code>{project.data.owner_id}</Code>
              {label(project.data.owner_id)}
            </Table.Td>
            <Table.Td>
              <Badge variant="outline" color="dark">
                owner
              </Badge>
            </Table.Td>
            <Table.Td />
          </Table.Tr>
          {members.data.map((member) => {
            const isMe = member.user_id === me.data?.id;
            return (
              <Table.Tr key={member.user_id} data-testid="member-row">
                <Table.Td>
                  <Code>{member.user_id}</Code>
                  {label(member.user_id)}
                </Table.Td>
                <Table.Td>
                  {canManage ? (
                    <NativeSelect
                      aria-label={`Role of ${member.user_id}`}
                      data={ROLES}
                      value={member.role}
                      disabled={changeRole.isPending}
                      onChange={(e) =>
                        changeRole.mutate({
                          userId: member.user_id,
                          role: e.currentTarget.value as MemberRole,
                        })
                      }
                      w={280}
                    />
                  ) : (
                    <Badge variant="outline" color="dark">
                      {member.role}
                    </Badge>
                  )}
                </Table.Td>
                <Table.Td>
                  {(canManage || isMe) && (
                    <ConfirmButton
                      size="xs"
                      label={isMe ? "Leave" : "Remove"}
                      title={isMe ? "Leave the project?" : "Remove the member?"}
                      message={
                        isMe
                          ? "You will lose access to this project."
                          : `User ${member.user_id} will lose access to this project.`
                      }
                      confirmLabel={isMe ? "Leave" : "Remove"}
                      pending={remove.isPending}
                      error={remove.error}
                      onConfirm={async () => {
                        await remove.mutateAsync(member.user_id);
                        if (isMe && !canManage) await navigate({ to: "/projects" });
                      }}
                    />
                  )}
                </Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      {members.data.length === 0 && (
        <Text size="sm">No members yet: only the owner can see this project.</Text>
      )}
      {changeRole.error ? <ErrorView error={changeRole.error} /> : null}
      {canManage && <AddMemberForm projectId={projectId} />}
    </Stack>
  );
}
