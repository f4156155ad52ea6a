import { Group, Pagination } from "@mantine/core";

/** Page links under a list, each named for screen readers; nothing when one page holds all. */
export function Pager({
  total,
  pageSize,
  page,
  onChange,
}: {
  /** How many items the list has in all. */
  total: number;
  pageSize: number;
  page: number;
  onChange: (page: number) => void;
}) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  if (pages <= 1) return null;
  return (
    <Group>
      <Pagination
        total={pages}
        value={page}
        onChange={onChange}
        getControlProps={(control) => ({ "aria-label": `${control} page` })}
        getItemProps={(n) => ({ "aria-label": `Page ${n}` })}
      />
    </Group>
  );
}
