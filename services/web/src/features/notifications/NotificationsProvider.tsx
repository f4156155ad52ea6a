/**
 * One run notification feed per signed-in tab (`/ws/notifications`): it keeps the run pages
 * and lists current (`applyRunChange`; after a reconnection every run on screen is read
 * again), fills the notifications list behind the header's bell, and toasts a run that
 * completed or failed and a draft pull request opened or refused (a notice of its own).
 */
import { Anchor } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from "react";
import { applyRunChange, refreshRuns } from "@/api/agents";
import {
  addChanges,
  describeChange,
  deservesToast,
  isBadNews,
  loadReadMark,
  saveReadMark,
  unreadCount,
} from "@/features/notifications/inbox";
import { getAccessToken, renewSession } from "@/lib/auth";
import type { LiveState } from "@/lib/resumableSocket";
import { type RunChange, RunFeed } from "@/lib/runFeed";

export interface NotificationsState {
  items: RunChange[];
  unread: number;
  /** The id of the newest change the user marked read. */
  readUpTo: number;
  /** The feed's connection: "open" while changes arrive as they happen. */
  state: LiveState;
  markAllRead: () => void;
}

const Context = createContext<NotificationsState>({
  items: [],
  unread: 0,
  readUpTo: 0,
  state: "connecting",
  markAllRead: () => {},
});

export function useNotifications(): NotificationsState {
  return useContext(Context);
}

export function NotificationsProvider({
  userId,
  children,
}: {
  /** Null until the signed-in user is known: no feed yet. */
  userId: string | null;
  children: ReactNode;
}) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [items, setItems] = useState<RunChange[]>([]);
  const [readUpTo, setReadUpTo] = useState(() => (userId ? loadReadMark(userId) : 0));
  const [state, setState] = useState<LiveState>("connecting");

  useEffect(() => {
    setItems([]);
    if (!userId) return;
    setReadUpTo(loadReadMark(userId));
    const feed = new RunFeed({
      token: getAccessToken,
      renewToken: renewSession,
      onState: (next) => setState(next),
      onChanges: (changes, news) => {
        setItems((inbox) => addChanges(inbox, changes));
        if (!news) return;
        for (const change of changes) {
          applyRunChange(queryClient, change);
          if (deservesToast(change)) {
            // The toast lives outside the router: its link navigates through this closure.
            const open = () => {
              notifications.hide(`run-change-${change.id}`);
              void navigate({ to: "/runs/$runId", params: { runId: change.run_id } });
            };
            notifications.show({
              id: `run-change-${change.id}`,
              title: describeChange(change),
              message: (
                <Anchor component="button" type="button" size="sm" onClick={open}>
                  Open the run
                </Anchor>
              ),
              color: isBadNews(change) ? "red.9" : "green.9",
              autoClose: 10_000,
              closeButtonProps: { "aria-label": "Close this notification" },
            });
          }
        }
      },
      onReady: (reconnected) => {
        if (reconnected) refreshRuns(queryClient);
      },
    });
    feed.start();
    return () => feed.stop();
  }, [userId, queryClient, navigate]);

  const markAllRead = useCallback(() => {
    const newest = items[0]?.id ?? 0;
    if (userId && newest > readUpTo) {
      setReadUpTo(newest);
      saveReadMark(userId, newest);
    }
  }, [items, readUpTo, userId]);

  return (
    <Context.Provider
      value={{ items, unread: unreadCount(items, readUpTo), readUpTo, state, markAllRead }}
    >
      {children}
    </Context.Provider>
  );
}
