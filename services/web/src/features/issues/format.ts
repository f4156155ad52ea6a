/** A duration in words for people: "45 s", "12 min", "3 h 20 min", "2 d 5 h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const rest = minutes % 60;
    return rest ? `${hours} h ${rest} min` : `${hours} h`;
  }
  const days = Math.floor(hours / 24);
  const restHours = hours % 24;
  return restHours ? `${days} d ${restHours} h` : `${days} d`;
}

/** "bug, ui , bug" → ["bug", "ui"]: the create and edit forms take labels comma-separated. */
export function parseLabels(text: string): string[] {
  const labels = text
    .split(",")
    .map((label) => label.trim())
    .filter(Boolean);
  return [...new Set(labels)];
}
