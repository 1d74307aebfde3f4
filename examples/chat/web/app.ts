// The chat page: its UI over the generated, typed chat client
// (chat_api.ts, written by `wirecall codegen typescript`), which reconnects
// and resumes the room's events by itself.

import { Client, RpcError, type Subscription } from "@wirecall/client";
import { ChatClient, CHAT_IDEMPOTENT, isChatJoinError, type RoomEvent } from "./chat_api.js";

const $ = (id: string): HTMLElement => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`the page has no #${id}`);
  return element;
};
const field = (id: string): HTMLInputElement => $(id) as HTMLInputElement;

const scheme = location.protocol === "https:" ? "wss" : "ws";
// Waits between attempts stay short (at most 5 s), so a page is back soon
// after its server.
const chat = new ChatClient(
  new Client(`${scheme}://${location.host}/rpc`, {
    idempotent: CHAT_IDEMPOTENT,
    reconnect: { maxDelay: 5_000 },
  }),
);
// This page's own secret: with it the page takes its name again after a
// reconnect, on whichever node, even before the old connection is gone.
const key = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
let me: string | null = null;
let room: string | null = null;
let wasOpen = false;
const users = new Set<string>();

chat.rpc.on("state", (state, detail) => {
  const open = state === "open";
  $("dot").classList.toggle("on", open);
  $("conn").textContent = open
    ? "connected"
    : state === "closed"
      ? "disconnected"
      : `reconnecting… (attempt ${detail?.attempt ?? 1})`;
  (field("joinbtn") as unknown as HTMLButtonElement).disabled = !open || room !== null;
  if (open && wasOpen) void rejoin();
  if (open) wasOpen = true;
});

// Back after a drop: be in the room again under the same name (the key
// says it is this page's). A taken name is still retried for a little
// while, in case the server is an older one that counts names per
// connection.
async function rejoin(): Promise<void> {
  if (room === null || me === null) return;
  for (let tries = 0; tries < 20; tries += 1) {
    try {
      showUsers(await chat.chatJoin(room, me, key));
      return;
    } catch (err) {
      if (!(isChatJoinError(err) && err.code === 1002)) {
        note(`could not rejoin: ${describe(err)}`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  note("could not rejoin: the name stayed taken");
}

function showUsers(present: string[]): void {
  users.clear();
  for (const name of present) users.add(name);
  renderUsers();
}

function renderUsers(): void {
  $("users").replaceChildren(
    ...[...users].sort().map((name) => {
      const li = document.createElement("li");
      li.textContent = name === me ? `${name} (you)` : name;
      return li;
    }),
  );
}

function addLine(node: HTMLElement): void {
  $("log").append(node);
  $("log").scrollTop = $("log").scrollHeight;
}

function note(text: string): void {
  const div = document.createElement("div");
  div.className = "note";
  div.textContent = text;
  addLine(div);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function show(event: RoomEvent, id: string | undefined): void {
  switch (event.kind) {
    case "message": {
      const div = document.createElement("div");
      div.className = "msg" + (event.from === me ? " mine" : "");
      // The message id is its position in the room.
      if (id !== undefined) div.dataset.id = id;
      const from = document.createElement("div");
      from.className = "from";
      from.textContent = event.from;
      const text = document.createElement("div");
      text.className = "text";
      text.textContent = event.text;
      div.append(from, text);
      addLine(div);
      break;
    }
    case "joined":
      users.add(event.name);
      renderUsers();
      note(`${event.name} joined`);
      break;
    case "left":
      users.delete(event.name);
      renderUsers();
      note(`${event.name} left`);
      break;
  }
}

// Every event of the room, and what the connection did to the stream.
async function follow(events: Subscription<RoomEvent>): Promise<void> {
  for await (const event of events) {
    switch (event.type) {
      case "item":
        show(event.item, event.position === undefined ? undefined : String(event.position.offset));
        break;
      case "lagged":
        note(`missed ${event.missed} events`);
        break;
      case "resumed":
        note("reconnected: nothing missed");
        break;
      case "gap":
        note(`missed ${event.missed} events while away`);
        break;
      case "restarted":
        // The server lost the room's history (it restarted): start over
        // rather than show a gap as if nothing happened.
        $("log").replaceChildren();
        users.clear();
        renderUsers();
        note("the server restarted: the room was reloaded, earlier messages are gone");
        break;
      case "resubscribed":
        note("reconnected; events while away may be missing");
        break;
      case "ended":
        note("the room closed");
        break;
      case "closed":
        note(`room closed: ${event.error.message}`);
        break;
    }
  }
}

$("join").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("joinerror").textContent = "";
  const name = field("name").value.trim();
  const wanted = field("roomname").value.trim();
  // Subscribed before joining, so no event between the two is missed; a
  // refused join ends the subscription, so a retry does not listen twice.
  let events: Subscription<RoomEvent> | null = null;
  try {
    events = await chat.chatSubscribe(wanted);
    const present = await chat.chatJoin(wanted, name, key);
    me = name;
    room = wanted;
    showUsers(present);
    void follow(events);
    $("join").style.display = "none";
    $("room").classList.add("open");
    $("where").textContent = `#${room} as ${me}`;
    field("text").focus();
  } catch (err) {
    if (events !== null) events.unsubscribe().catch(() => {});
    // An invalid name or room says which in its data.
    const what = err instanceof RpcError ? (err.data as { what?: string } | undefined)?.what : undefined;
    $("joinerror").textContent = what ?? describe(err);
  }
});

$("sendform").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = field("text").value;
  if (!text.trim() || room === null) return;
  field("text").value = "";
  try {
    await chat.chatSend(room, text);
  } catch (err) {
    note(`not sent: ${describe(err)}`);
  }
});
