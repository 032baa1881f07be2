import assert from "node:assert/strict";
import { test } from "node:test";
import { AriClient, applyChunk, skipBytes, utf8Length, type StreamState, type WebSocketConstructor } from "../src/index.js";

test("chunks apply by byte offset: duplicates dropped, overlaps cut at the byte, gaps reported", () => {
  const s: StreamState = { messageId: "r", conversationId: "c", content: "", bytes: 0, status: "streaming" };
  assert.equal(applyChunk(s, 0, "In Tōkyō ist es "), "applied");
  assert.equal(s.bytes, 18);
  assert.equal(applyChunk(s, 0, "In Tōkyō ist es "), "duplicate");
  assert.equal(applyChunk(s, 4, "ōkyō ist es 17"), "applied"); // overlaps 14 bytes held
  assert.equal(s.content, "In Tōkyō ist es 17");
  assert.equal(applyChunk(s, 40, "x"), "gap");
  assert.equal(applyChunk(s, 20, ":30. 🙂"), "applied");
  assert.equal(s.content, "In Tōkyō ist es 17:30. 🙂");
  assert.equal(s.bytes, utf8Length(s.content));
  s.status = "complete";
  assert.equal(applyChunk(s, s.bytes, "late"), "ended");
  assert.equal(skipBytes("é🙂x", 6), 3);
});

/** A scripted WebSocket: the test opens it, delivers frames and closes it. */
class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
    readonly options?: { headers?: Record<string, string> },
  ) {
    FakeSocket.all.push(this);
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(f: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" });
  }
  types(): string[] {
    return this.sent.map((f) => String(f.type));
  }
}

const WS = FakeSocket as unknown as WebSocketConstructor;
const tick = () => new Promise((r) => setTimeout(r, 0));
async function next(): Promise<FakeSocket> {
  for (let i = 0; i < 200; i++) {
    const s = FakeSocket.all.at(-1);
    if (s && s.readyState === 0) return s;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error("no new socket");
}
const msg = (id: string, seq: number, cmid?: string) => ({
  id, conversationId: "c_01", seq, role: "user", senderUserId: "u", senderAgentId: null, content: "hi", status: "complete",
  createdAt: "2026-03-01T08:30:00.120Z", updatedAt: "2026-03-01T08:30:00.120Z", deleted: false, ...(cmid ? { clientMessageId: cmid } : {}),
});
const syncResult = (over: Record<string, unknown> = {}) => ({ type: "sync_result", conversations: [], activeStreams: [], agents: [], events: [], dropped: false, ...over });

test("resume: chunks before sync_result wait for it, events apply once, sends are retried under the same id", async () => {
  FakeSocket.all = [];
  const c = new AriClient({ url: ["ws://a/ws", "ws://b/ws"], token: "tok", WebSocket: WS, backoff: { initialMs: 1, maxMs: 2 } });
  const events: string[] = [];
  c.on("event", (e) => events.push(e.id));
  c.connect();
  const a = await next();
  assert.equal(a.options?.headers?.Authorization, "Bearer tok");
  assert.equal(a.protocols, "ari.v1");
  const acked = c.send("c_01", "hi", { clientMessageId: "m-1" }); // before the socket opens: waits for it
  a.open();
  assert.deepEqual(a.types(), ["sync", "focus", "send_message"]);
  assert.equal(a.sent[2]!.clientMessageId, "m-1");
  a.deliver({ type: "message_ack", clientMessageId: "m-1", queued: false, message: msg("msg_1", 1, "m-1"), replies: [{ messageId: "r_1", agentId: "ag" }] });
  assert.equal((await acked).message.id, "msg_1");
  a.deliver(syncResult());
  a.deliver({ type: "stream_start", conversationId: "c_01", messageId: "r_1", agentId: "ag", seq: 2, replyToId: "msg_1" });
  a.deliver({ type: "stream_chunk", conversationId: "c_01", messageId: "r_1", delta: "Ich ", offset: 0 });
  const ev = { type: "reaction_added", id: "ev-1", conversationId: "c_01", at: "2026-03-01T08:29:41.007Z", data: { messageId: "msg_1", userId: "u_bob", emoji: "👍" } };
  a.deliver(ev);

  // The socket drops; a send made meanwhile waits; the next socket is the other url.
  a.drop();
  const second = c.send("c_01", "noch eins", { clientMessageId: "m-2" });
  const b = await next();
  assert.equal(b.url, "ws://b/ws");
  b.open();
  assert.deepEqual(b.sent[0], { type: "sync", cursors: { c_01: 2 } });
  assert.ok(b.types().includes("send_message") && b.sent.find((f) => f.type === "send_message")!.clientMessageId === "m-2");
  // Live chunks before sync_result (one already in the resume text, one past it) wait.
  b.deliver({ type: "stream_chunk", conversationId: "c_01", messageId: "r_1", delta: "sehe ", offset: 4 });
  b.deliver({ type: "stream_chunk", conversationId: "c_01", messageId: "r_1", delta: "nach.", offset: 9 });
  assert.equal(c.streams.get("r_1")!.content, "Ich ");
  b.deliver(syncResult({ activeStreams: [{ messageId: "r_1", conversationId: "c_01", agentId: "ag", content: "Ich sehe ", offset: 9, status: { state: "tool" } }], events: [ev] }));
  const r = c.streams.get("r_1")!;
  assert.equal(r.content, "Ich sehe nach.");
  assert.deepEqual(r.agentStatus, { state: "tool" });
  assert.deepEqual(events, ["ev-1"]); // live once, again in sync_result: applied once
  // rate_limited: sent again after retryAfterMs with the same id.
  b.deliver({ type: "error", code: "rate_limited", message: "slow down", ref: "m-2", retryAfterMs: 5 });
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(b.sent.filter((f) => f.type === "send_message" && f.clientMessageId === "m-2").length, 2);
  b.deliver({ type: "message_ack", clientMessageId: "m-2", queued: true, position: 1, message: msg("msg_3", 3, "m-2") });
  assert.equal((await second).message.seq, 3);
  // A gap asks for sync again; stream_end's content is authoritative.
  b.deliver({ type: "stream_chunk", conversationId: "c_01", messageId: "r_1", delta: "!", offset: 99 });
  assert.equal(b.sent.at(-1)!.type, "sync");
  b.deliver(syncResult({ activeStreams: [{ messageId: "r_1", conversationId: "c_01", agentId: "ag", content: "Ich sehe nach. Gleich", offset: 21 }] }));
  assert.equal(r.content, "Ich sehe nach. Gleich");
  b.deliver({ type: "stream_end", conversationId: "c_01", messageId: "r_1", status: "complete", content: "Ich sehe nach. Gleich!" });
  b.deliver({ type: "stream_chunk", conversationId: "c_01", messageId: "r_1", delta: "late", offset: 22 });
  assert.equal(r.status, "complete");
  assert.equal(r.content, "Ich sehe nach. Gleich!");
  // Refusals reject; cancel and mark_read wait for a socket.
  const refused = c.send("c_x", "hi", { clientMessageId: "m-3" });
  b.deliver({ type: "error", code: "not_found", message: "conversation not found", ref: "m-3" });
  await assert.rejects(refused, { name: "RelayError", code: "not_found" });
  b.drop(1001);
  c.cancel("r_9");
  c.markRead("c_01", 3);
  const d = await next();
  d.open();
  assert.deepEqual(d.types(), ["sync", "focus", "cancel_stream", "mark_read"]);
  // A reply that was streaming and is no longer listed ended while away.
  d.deliver({ type: "stream_start", conversationId: "c_01", messageId: "r_4", agentId: "ag", seq: 4 });
  d.drop();
  const e = await next();
  e.open();
  e.deliver(syncResult());
  assert.equal(c.streams.get("r_4")!.endedWhileAway, true);
  // 4001: the session ended, no reconnect.
  const states: string[] = [];
  c.on("state", (s) => states.push(s.state));
  e.drop(4001);
  await tick();
  assert.deepEqual(states, ["closed"]);
  assert.equal(c.state, "closed");
  c.close();
});

test("focus follows setVisible", async () => {
  FakeSocket.all = [];
  const c = new AriClient({ url: "ws://a/ws", WebSocket: WS });
  c.connect();
  const a = await next();
  a.open();
  c.focus("c_01");
  c.setVisible(false);
  c.setVisible(false);
  assert.deepEqual(a.sent.filter((f) => f.type === "focus").slice(1), [
    { type: "focus", conversationId: "c_01", visible: true },
    { type: "focus", conversationId: "c_01", visible: false },
  ]);
  c.close();
});

test("focus.visible follows document.visibilityState", async () => {
  FakeSocket.all = [];
  const doc = new EventTarget() as EventTarget & { visibilityState: string };
  doc.visibilityState = "hidden";
  (globalThis as { document?: unknown }).document = doc;
  try {
    const c = new AriClient({ url: "ws://a/ws", WebSocket: WS });
    c.connect();
    const a = await next();
    a.open();
    assert.deepEqual(a.sent.find((f) => f.type === "focus"), { type: "focus", conversationId: null, visible: false });
    c.focus("c_01");
    doc.visibilityState = "visible";
    doc.dispatchEvent(new Event("visibilitychange"));
    assert.deepEqual(a.sent.filter((f) => f.type === "focus").slice(1), [
      { type: "focus", conversationId: "c_01", visible: false },
      { type: "focus", conversationId: "c_01", visible: true },
    ]);
    c.close();
  } finally {
    delete (globalThis as { document?: unknown }).document;
  }
});

test("input requests: tracked from sync and live frames, closed by input_resolved and stream_end, listed again after a reconnect", async () => {
  FakeSocket.all = [];
  const c = new AriClient({ url: ["ws://a/ws", "ws://b/ws"], WebSocket: WS, backoff: { initialMs: 1, maxMs: 2 } });
  const opened: string[] = [];
  const closed: string[] = [];
  c.on("input", (r) => opened.push(r.requestId));
  c.on("inputClosed", (x) => closed.push(`${x.request.requestId}:${x.state}`));
  c.connect();
  const a = await next();
  a.open();
  const req = (requestId: string, messageId: string) => ({ requestId, messageId, conversationId: "c_01", kind: "approval", prompt: "Ok?", expiresAt: "2026-03-02T08:30:00.120Z" });
  a.deliver(syncResult({ inputRequests: [req("q-1", "r_1")] }));
  a.deliver({ type: "input_request", ...req("q-2", "r_2") });
  a.deliver({ type: "input_request", ...req("q-2", "r_2") }); // again: once
  assert.deepEqual(opened, ["q-1", "q-2"]);
  assert.deepEqual(c.inputs.get("q-2"), req("q-2", "r_2"));
  assert.equal(c.answerInput("q-1", { approved: true, answer: "gern" }), true);
  assert.deepEqual(a.sent.at(-1), { type: "input_response", requestId: "q-1", answer: "gern", approved: true });
  const data = { requestId: "q-1", messageId: "r_1", state: "answered", approved: true, answer: "gern", answeredBy: "u_ada", answeredAt: "2026-03-01T08:35:12.250Z" };
  let resolved: unknown;
  c.on("inputClosed", (x) => x.request.requestId === "q-1" && (resolved = x.resolved));
  a.deliver({ type: "input_resolved", id: "ev-q1", conversationId: "c_01", at: "2026-03-01T08:35:12.250Z", data });
  assert.deepEqual(resolved, data);
  a.deliver({ type: "stream_end", conversationId: "c_01", messageId: "r_2", status: "cancelled", content: "" }); // its reply ended
  assert.deepEqual(closed, ["q-1:answered", "q-2:closed"]);
  assert.deepEqual([...c.inputs.keys()], []);

  // q-3 opens; the socket drops; meanwhile q-3 closes and q-4 opens. The
  // next sync lists q-4 (and, taken before q-1's close reached it, q-1).
  a.deliver({ type: "input_request", ...req("q-3", "r_3") });
  a.drop();
  const b = await next();
  assert.equal(c.answerInput("q-3", { approved: false }), false); // not queued
  b.open();
  b.deliver(syncResult({ inputRequests: [req("q-1", "r_1"), req("q-4", "r_4")] }));
  assert.deepEqual([...c.inputs.keys()], ["q-4"]);
  assert.deepEqual(closed, ["q-1:answered", "q-2:closed", "q-3:closed"]);
  assert.deepEqual(opened, ["q-1", "q-2", "q-3", "q-4"]);
  // An expiry, as a pending event in sync_result.
  b.drop();
  const d = await next();
  d.open();
  d.deliver(syncResult({ inputRequests: [req("q-4", "r_4")], events: [{ type: "input_resolved", id: "ev-q4", conversationId: "c_01", at: "2026-03-02T08:30:00.200Z", data: { requestId: "q-4", messageId: "r_4", state: "expired" } }] }));
  assert.deepEqual(closed.at(-1), "q-4:expired");
  assert.equal(c.inputs.size, 0);
  c.close();
});

test("app actions: handed to the app once per call, answered once, an answer given while away given again when the call comes again; app sessions from sync and events", async () => {
  FakeSocket.all = [];
  const c = new AriClient({ url: ["ws://a/ws", "ws://b/ws"], WebSocket: WS, backoff: { initialMs: 1, maxMs: 2 } });
  const actions: string[] = [];
  const sessions: string[] = [];
  const errors: string[] = [];
  c.on("appAction", (a) => actions.push(`${a.sessionId}/${a.callId}:${a.action}`));
  c.on("appSession", ({ session, ended }) => sessions.push(`${session.id}@${session.version}${ended ? ":ended" : ""}`));
  c.on("error", (e) => errors.push(e.code));
  c.connect();
  const a = await next();
  a.open();
  const session = (id: string, version: number, over: Record<string, unknown> = {}) => ({
    id, conversationId: "c_01", appId: "app_1", appVersionId: "av_1", openedBy: "u_ada", agentId: "ag_1", mode: "shared",
    state: { notes: version }, version, createdAt: "2026-03-01T08:30:00.120Z", updatedAt: "2026-03-01T08:30:00.120Z",
    endedAt: null, endedBy: null, appSlug: "notes", appName: "Notes", appVersion: "1.0.0", entryUrl: "http://127.0.0.1:3501/apps/notes/", ...over,
  });
  a.deliver(syncResult({ appSessions: [session("s_1", 2)] }));
  const act = (callId: string, sessionId = "s_1") => ({ type: "app_action", sessionId, callId, action: "add_note", arguments: { text: "Milch" } });
  a.deliver(act("call_1"));
  a.deliver(act("call_1")); // the agent sent it again: once
  a.deliver(act("call_2"));
  assert.deepEqual(actions, ["s_1/call_1:add_note", "s_1/call_2:add_note"]);
  assert.deepEqual(c.pendingAppActions("s_1").map((x) => x.callId), ["call_1", "call_2"]);
  assert.equal(c.answerAppAction({ sessionId: "s_1", callId: "call_1" }, { result: { count: 1 } }), true);
  assert.deepEqual(a.sent.at(-1), { type: "app_action_result", sessionId: "s_1", callId: "call_1", result: { count: 1 } });
  assert.equal(c.answerAppAction({ sessionId: "s_1", callId: "call_1" }, { result: { count: 9 } }), false); // answered already: nothing sent
  assert.equal(a.sent.filter((f) => f.type === "app_action_result").length, 1);
  a.deliver(act("call_1")); // came again while the answer was on its way: the same answer again, not the app
  assert.deepEqual(a.sent.at(-1), { type: "app_action_result", sessionId: "s_1", callId: "call_1", result: { count: 1 } });
  a.deliver({ type: "error", code: "already_answered", message: "answered", ref: "call_1" }); // the relay counted the first
  assert.deepEqual(errors, []);

  // The socket drops; the app answers call_2 meanwhile (kept). The next
  // sync sends call_2 again: the kept answer goes out; call_3 is new.
  a.drop();
  assert.equal(c.answerAppAction({ sessionId: "s_1", callId: "call_2" }, { error: { code: "board_full", message: "no room" } }), false);
  const b = await next();
  b.open();
  b.deliver(syncResult({ appSessions: [session("s_1", 3), session("s_2", 1)] }));
  b.deliver(act("call_2"));
  b.deliver(act("call_3"));
  assert.deepEqual(b.sent.filter((f) => f.type === "app_action_result"), [{ type: "app_action_result", sessionId: "s_1", callId: "call_2", error: { code: "board_full", message: "no room" } }]);
  assert.deepEqual(actions, ["s_1/call_1:add_note", "s_1/call_2:add_note", "s_1/call_3:add_note"]);
  assert.deepEqual(c.pendingAppActions().map((x) => x.callId), ["call_3"]);

  // Versions only move forward; an ended session leaves, with its open calls.
  b.deliver({ type: "app_session_updated", id: "ev-u1", conversationId: "c_01", at: "2026-03-01T08:31:00.000Z", data: { session: session("s_1", 2) } });
  assert.equal(c.appSessions.get("s_1")?.version, 3);
  b.deliver({ type: "app_session_updated", id: "ev-u2", conversationId: "c_01", at: "2026-03-01T08:31:01.000Z", data: { session: session("s_1", 4) } });
  b.deliver({ type: "app_session_ended", id: "ev-e1", conversationId: "c_01", at: "2026-03-01T08:31:02.000Z", data: { session: session("s_1", 4, { endedAt: "2026-03-01T08:31:02.000Z", endedBy: "u_ada" }) } });
  assert.deepEqual([...c.appSessions.keys()], ["s_2"]);
  assert.deepEqual(c.pendingAppActions(), []);
  // A reconnect whose sync no longer lists s_2: it ended while away.
  b.drop();
  const d = await next();
  d.open();
  d.deliver(syncResult({ appSessions: [] }));
  assert.deepEqual(sessions, ["s_1@2", "s_1@3", "s_2@1", "s_1@4", "s_1@4:ended", "s_2@1:ended"]);
  assert.equal(c.appSessions.size, 0);
  c.close();
});

test("app reports: a person's action and an app event resolve with their ack, are sent again under their id after a reconnect, refusals reject with the code", async () => {
  FakeSocket.all = [];
  const c = new AriClient({ url: ["ws://a/ws", "ws://b/ws"], WebSocket: WS, backoff: { initialMs: 1, maxMs: 2 } });
  c.connect();
  const a = await next();
  a.open();
  a.deliver(syncResult());
  const act = c.reportAppAction("s_1", "add_note", { text: "Milch" }, { id: "ua-1" });
  const ev = c.reportAppEvent("s_1", "notes_changed", { count: 1 }, { id: "se-1" });
  assert.deepEqual(a.sent.slice(-2), [
    { type: "app_user_action", sessionId: "s_1", id: "ua-1", action: "add_note", arguments: { text: "Milch" } },
    { type: "app_state_event", sessionId: "s_1", id: "se-1", event: "notes_changed", data: { count: 1 } },
  ]);
  await assert.rejects(c.reportAppEvent("s_1", "notes_changed", null, { id: "se-1" })); // that id waits already
  a.deliver({ type: "app_event_ack", sessionId: "s_1", id: "ua-1", at: "2026-03-01T08:30:00.120Z" });
  assert.deepEqual(await act, { type: "app_event_ack", sessionId: "s_1", id: "ua-1", at: "2026-03-01T08:30:00.120Z" });
  a.drop(); // se-1 unanswered: sent again on the next socket
  const b = await next();
  b.open();
  assert.deepEqual(b.sent.find((f) => f.type === "app_state_event"), { type: "app_state_event", sessionId: "s_1", id: "se-1", event: "notes_changed", data: { count: 1 } });
  b.deliver({ type: "app_event_ack", sessionId: "s_1", id: "se-1", at: "2026-03-01T08:30:01.000Z" });
  assert.equal((await ev).at, "2026-03-01T08:30:01.000Z");
  const refused = c.reportAppAction("s_1", "clear", undefined, { id: "ua-2" });
  assert.deepEqual(b.sent.at(-1), { type: "app_user_action", sessionId: "s_1", id: "ua-2", action: "clear" });
  b.deliver({ type: "error", code: "forbidden_by_mode", message: "the user may not act in agent_only mode", ref: "ua-2" });
  await assert.rejects(refused, { name: "RelayError", code: "forbidden_by_mode" });
  c.close();
});

test("channels: sendChannel resolves with its ack and is re-sent under its id; agent replies assembled by offset, chunks before channel_subscribed kept, resumed after a reconnect, a reply gone meanwhile marked endedWhileAway", async () => {
  FakeSocket.all = [];
  const c = new AriClient({ url: ["ws://a/ws", "ws://b/ws"], token: "tok", WebSocket: WS, backoff: { initialMs: 1, maxMs: 2 } });
  const news: string[] = [];
  c.on("channelStream", (s) => news.push(`${s.messageId}:${s.status}:${s.content}${s.endedWhileAway ? ":away" : ""}`));
  c.connect();
  const a = await next();
  a.open();
  c.subscribeChannel("ch_1");
  const sent = c.sendChannel("ch_1", "@echo hallo", { clientMessageId: "cm-1" });
  await tick();
  assert.deepEqual(a.types().filter((t) => t.startsWith("channel_")), ["channel_subscribe", "channel_send"]);
  // A chunk that comes just before channel_subscribed waits for it and is applied after its stream.
  a.deliver({ type: "channel_stream_chunk", channelId: "ch_1", messageId: "r_1", delta: " Tōkyō ", offset: 5 });
  a.deliver({ type: "channel_subscribed", channelId: "ch_1", communityId: "com", lastSeq: 3, lastReadSeq: 3, stream: { messageId: "r_1", agentId: "ag", content: "Hallo", offset: 5 } });
  assert.equal(c.channelStreams.get("r_1")?.content, "Hallo Tōkyō ");
  a.deliver({ type: "channel_message_ack", clientMessageId: "cm-1", message: { id: "m_4", channelId: "ch_1", seq: 4, senderUserId: "u", senderAgentId: null, content: "@echo hallo", createdAt: "2026-03-01T08:30:00.120Z", updatedAt: "2026-03-01T08:30:00.120Z", deleted: false } });
  const ack = await sent;
  assert.equal(ack.message.seq, 4);
  a.deliver({ type: "channel_stream_chunk", channelId: "ch_1", messageId: "r_1", delta: " Tōkyō 17", offset: 5 }); // overlaps what is held
  assert.equal(c.channelStreams.get("r_1")?.content, "Hallo Tōkyō 17");
  // A second message is sent while the socket is away, and the reply r_1 ends meanwhile.
  a.drop();
  const again = c.sendChannel("ch_1", "noch eins", { clientMessageId: "cm-2" });
  const b = await next();
  b.open();
  await tick();
  assert.ok(b.types().includes("channel_subscribe"));
  assert.equal(b.sent.filter((f) => f.type === "channel_send" && f.clientMessageId === "cm-2").length, 1);
  b.deliver({ type: "channel_stream_start", channelId: "ch_1", messageId: "r_2", agentId: "ag", replyToId: "m_5" });
  b.deliver({ type: "channel_stream_chunk", channelId: "ch_1", messageId: "r_2", delta: "Ja", offset: 0 }); // before channel_subscribed
  b.deliver({ type: "channel_subscribed", channelId: "ch_1", communityId: "com", lastSeq: 6, lastReadSeq: 4, stream: { messageId: "r_2", agentId: "ag", content: "", offset: 0 } });
  assert.equal(c.channelStreams.get("r_1")?.endedWhileAway, true);
  b.deliver({ type: "channel_message_ack", clientMessageId: "cm-2", message: { id: "m_5", channelId: "ch_1", seq: 5, senderUserId: "u", senderAgentId: null, content: "noch eins", createdAt: "2026-03-01T08:30:00.120Z", updatedAt: "2026-03-01T08:30:00.120Z", deleted: false } });
  assert.equal((await again).message.id, "m_5");
  b.deliver({ type: "channel_stream_chunk", channelId: "ch_1", messageId: "r_2", delta: "Ja, gern.", offset: 0 });
  b.deliver({ type: "channel_stream_end", channelId: "ch_1", messageId: "r_2", status: "complete", content: "Ja, gern.", seq: 7 });
  b.deliver({ type: "channel_stream_chunk", channelId: "ch_1", messageId: "r_2", delta: "spät", offset: 10 }); // after its end: ignored
  const r2 = c.channelStreams.get("r_2");
  assert.equal(r2?.status, "complete");
  assert.equal(r2?.content, "Ja, gern.");
  assert.equal(r2?.seq, 7);
  // A gap asks for the channel again; the chunk waits for the new channel_subscribed.
  b.deliver({ type: "channel_stream_start", channelId: "ch_1", messageId: "r_3", agentId: "ag", replyToId: "m_5" });
  b.deliver({ type: "channel_stream_chunk", channelId: "ch_1", messageId: "r_3", delta: "z", offset: 9 });
  assert.equal(b.sent.filter((f) => f.type === "channel_subscribe").length, 2);
  b.deliver({ type: "channel_subscribed", channelId: "ch_1", communityId: "com", lastSeq: 7, lastReadSeq: 4, stream: { messageId: "r_3", agentId: "ag", content: "abcdefghi", offset: 9 } });
  assert.equal(c.channelStreams.get("r_3")?.content, "abcdefghiz");
  assert.deepEqual(news, [
    "r_1:streaming:Hallo",
    "r_1:streaming:Hallo Tōkyō ",
    "r_1:streaming:Hallo Tōkyō 17",
    "r_2:streaming:",
    "r_2:streaming:",
    "r_1:streaming:Hallo Tōkyō 17:away",
    "r_2:streaming:Ja",
    "r_2:streaming:Ja, gern.",
    "r_2:complete:Ja, gern.",
    "r_3:streaming:",
    "r_3:streaming:abcdefghi",
    "r_3:streaming:abcdefghiz",
  ]);
  c.close();
});

test("channel questions: channelInputs from channel_input_request and channel_subscribed.stream, each opened once, closed by channel_input_resolved, by its reply's end, or when gone at the next subscribe; answerInput names them", async () => {
  FakeSocket.all = [];
  const c = new AriClient({ url: ["ws://a/ws", "ws://b/ws"], token: "tok", WebSocket: WS, backoff: { initialMs: 1, maxMs: 2 } });
  const news: string[] = [];
  c.on("channelInput", (r) => news.push(`open ${r.requestId}`));
  c.on("channelInputClosed", (x) => news.push(`${x.state} ${x.request.requestId}${x.resolved ? " by " + x.resolved.answeredBy : ""}`));
  c.connect();
  const a = await next();
  a.open();
  c.subscribeChannel("ch_1");
  await tick();
  const q = { channelId: "ch_1", requestId: "q-1", messageId: "r_1", agentId: "ag", kind: "question" as const, prompt: "Wann?", options: ["heute", "morgen"], expiresAt: "2026-03-02T08:30:00.000Z" };
  a.deliver({ type: "channel_subscribed", channelId: "ch_1", communityId: "com", lastSeq: 3, lastReadSeq: 3, stream: { messageId: "r_1", agentId: "ag", content: "", offset: 0, inputRequest: q } });
  a.deliver({ type: "channel_input_request", ...q }); // the same request again: opened once
  assert.deepEqual(c.channelInputs.get("q-1"), q);
  assert.equal(c.answerInput("q-1", { answer: "morgen" }), true);
  assert.deepEqual(a.sent.at(-1), { type: "input_response", requestId: "q-1", answer: "morgen" });
  a.deliver({ type: "channel_input_resolved", id: "ev-1", channelId: "ch_1", at: "2026-03-01T08:32:00.000Z", data: { requestId: "q-1", messageId: "r_1", state: "answered", answer: "morgen", answeredBy: "u_bob" } });
  assert.equal(c.channelInputs.size, 0);
  a.deliver({ type: "channel_input_request", ...q }); // closed ids never reopen
  assert.equal(c.channelInputs.size, 0);
  // An approval whose reply ends unanswered.
  a.deliver({ type: "channel_input_request", ...q, requestId: "q-2", kind: "approval", options: undefined });
  a.deliver({ type: "channel_stream_end", channelId: "ch_1", messageId: "r_1", status: "error", content: "", seq: 0 });
  // One open while the socket is away, gone when the channel is subscribed again.
  a.deliver({ type: "channel_input_request", ...q, requestId: "q-3", messageId: "r_2" });
  a.drop();
  const b = await next();
  b.open();
  await tick();
  b.deliver({ type: "channel_subscribed", channelId: "ch_1", communityId: "com", lastSeq: 5, lastReadSeq: 3 });
  assert.equal(c.channelInputs.size, 0);
  assert.deepEqual(news, ["open q-1", "answered q-1 by u_bob", "open q-2", "closed q-2", "open q-3", "closed q-3"]);
  c.close();
});
