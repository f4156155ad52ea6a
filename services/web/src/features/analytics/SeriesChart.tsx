/**
 * A chart with its text alternative: an aria summary (totals over the range) and, on demand,
 * the same numbers as a table. Animation is off, lines get dots only when they have few values
 * (DOTTED_VALUES), and stacked bars over more than DENSE_BUCKETS buckets are drawn as stacked
 * areas, so a year of daily points (365+) draws in one pass and stays smooth to hover.
 */
import "@mantine/charts/styles.css";
import { AreaChart, BarChart, LineChart } from "@mantine/charts";
import { Box, Button, Group, ScrollArea, Table, Text } from "@mantine/core";
import { useId, useMemo, useState } from "react";
import { bucketLabel, type Row, total } from "@/features/analytics/buckets";
import type { Bucket } from "@/features/analytics/search";

/**
 * Above this many buckets a bar is under 3 px wide, and stacked bars cost a rectangle per
 * bucket and series (1,830 for a year of five severities), drawn again on every hover of the
 * synchronised charts: measured in bench/charts_bench.py, that kept the page busy for seconds.
 * Stacked areas show the same stacked values with one path per series.
 */
export const DENSE_BUCKETS = 120;

/** A line with at most this many values shows them as dots too: a lone value between empty
 * buckets (a mean over the one day an agent ran) is no line at all. */
export const DOTTED_VALUES = 90;

export interface SeriesDef {
  name: string;
  label: string;
  color: string;
}

export function SeriesChart({
  kind,
  rows,
  series,
  bucket,
  title,
  unit,
}: {
  kind: "line" | "bar";
  rows: Row[];
  series: SeriesDef[];
  bucket: Bucket;
  title: string;
  /** For rates and means (nothing to add up): the values' unit, and no totals. */
  unit?: string;
}) {
  const [showTable, setShowTable] = useState(false);
  const tableId = useId();
  // Memoised: hovering re-renders the chart, and a year of daily rows need not be summed again.
  const totals = useMemo(
    () => (unit ? [] : series.map((s) => ({ ...s, total: total(rows, s.name) }))),
    [rows, series, unit],
  );
  const dotted = useMemo(
    () =>
      kind === "line" &&
      series.every((s) => rows.filter((r) => r[s.name] != null).length <= DOTTED_VALUES),
    [kind, rows, series],
  );
  const first = rows[0] ? bucketLabel(rows[0].t, bucket) : "";
  const last = rows.at(-1) ? bucketLabel(rows.at(-1)?.t ?? "", bucket) : "";
  const summary =
    rows.length === 0
      ? `${title}: no data in this range.`
      : `${title}, ${rows.length} ${bucket}s from ${first} to ${last}` +
        (unit ? ` (${unit}).` : `: ${totals.map((s) => `${s.label} ${s.total}`).join(", ")}.`);
  const common = useMemo(
    () => ({
      h: 240,
      data: rows,
      dataKey: "t",
      series: series.map((s) => ({ name: s.name, label: s.label, color: s.color })),
      withLegend: true,
      xAxisProps: { tickFormatter: (t: string) => bucketLabel(t, bucket), minTickGap: 24 },
      valueFormatter: (v: number) => String(v),
    }),
    [rows, series, bucket],
  );
  return (
    <Box>
      <Group gap="md" mb="xs" data-testid="chart-totals">
        {totals.map((s) => (
          <Text size="sm" key={s.name}>
            {s.label}: <strong data-series={s.name}>{s.total}</strong>
          </Text>
        ))}
      </Group>
      <div role="img" aria-label={summary}>
        {kind === "line" ? (
          <LineChart
            {...common}
            withDots={dotted}
            curveType="linear"
            lineChartProps={{ syncId: "analytics" }}
          />
        ) : rows.length > DENSE_BUCKETS ? (
          <AreaChart
            {...common}
            type="stacked"
            withDots={false}
            withGradient={false}
            fillOpacity={0.7}
            curveType="linear"
            areaChartProps={{ syncId: "analytics" }}
          />
        ) : (
          <BarChart {...common} type="stacked" barChartProps={{ syncId: "analytics" }} />
        )}
      </div>
      <Button
        variant="subtle"
        size="compact-sm"
        mt="xs"
        aria-expanded={showTable}
        aria-controls={tableId}
        onClick={() => setShowTable((v) => !v)}
      >
        {showTable ? "Hide the data table" : "Show the data as a table"}
      </Button>
      {/* Rendered only when asked for: 365 rows are cheap once, not on every hover. */}
      {showTable && (
        <ScrollArea.Autosize
          mah={320}
          id={tableId}
          // Focusable so the keyboard can scroll a long table.
          viewportProps={{ tabIndex: 0, role: "region", "aria-label": `${title}: data` }}
        >
          <Table striped withTableBorder>
            <Table.Caption>{title}</Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th scope="col">{bucket === "month" ? "Month" : "Starting"}</Table.Th>
                {series.map((s) => (
                  <Table.Th scope="col" key={s.name}>
                    {s.label}
                  </Table.Th>
                ))}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.map((row) => (
                <Table.Tr key={row.t}>
                  <Table.Th scope="row" fw={400}>
                    {bucketLabel(row.t, bucket)}
                  </Table.Th>
                  {series.map((s) => (
                    <Table.Td key={s.name}>{row[s.name]}</Table.Td>
                  ))}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea.Autosize>
      )}
    </Box>
  );
}
